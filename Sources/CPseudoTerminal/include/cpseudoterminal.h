#ifndef CPSEUDOTERMINAL_H
#define CPSEUDOTERMINAL_H

#include <stddef.h>
#include <sys/types.h>

// Swift's Glibc module leaves out the X/Open pseudo-terminal calls (posix_openpt, grantpt,
// unlockpt, ptsname_r), and nothing written in Swift may run between fork and exec. So the two
// steps that need them live here, in plain C, and take only plain values.

// Where a failed spawn stopped, so the caller can say what went wrong.
#define ROOKERY_SPAWN_FORK 1
#define ROOKERY_SPAWN_SESSION 2
#define ROOKERY_SPAWN_TERMINAL 3
#define ROOKERY_SPAWN_GROUPS 4
#define ROOKERY_SPAWN_GID 5
#define ROOKERY_SPAWN_UID 6
#define ROOKERY_SPAWN_EXEC 7

/// Opens a pseudo-terminal pair's master side (close-on-exec, non-blocking) with the given window
/// size and writes the slave's path into `slave_path`. Returns the master descriptor, or -1 with
/// errno set.
int rookery_pty_open(unsigned short rows, unsigned short columns, char *slave_path, size_t slave_path_size);

/// Sets the window size the slave side reports (the shell gets SIGWINCH). 0, or -1 with errno set.
int rookery_pty_resize(int master, unsigned short rows, unsigned short columns);

/// The window size of the terminal on `fd` (the admin's own, for `client_shell`). 0, or -1 with
/// errno set (not a terminal).
int rookery_terminal_size(int fd, unsigned short *rows, unsigned short *columns);

/// The terminal's foreground process group, or -1.
pid_t rookery_pty_foreground_group(int master);

/// Starts `path` as the leader of a new session whose controlling terminal is `slave_path`, on
/// stdin/stdout/stderr, with default signals, no other descriptors, in `directory` (or "/" when
/// that fails). With `switch_ids`, it first takes the supplementary `groups`, `gid` and `uid`.
/// Returns the pid, or -1 with errno set and `failed_step` saying which step failed.
pid_t rookery_pty_spawn(
    const char *slave_path, const char *path, char *const argv[], char *const envp[], const char *directory,
    int switch_ids, uid_t uid, gid_t gid, const gid_t *groups, size_t group_count, int *failed_step);

#endif
