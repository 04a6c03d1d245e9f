#define _GNU_SOURCE
#include "cpseudoterminal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int rookery_pty_open(unsigned short rows, unsigned short columns, char *slave_path, size_t slave_path_size) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    struct winsize size = {.ws_row = rows, .ws_col = columns};
    if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, slave_path, slave_path_size) != 0
        || fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) != 0 || ioctl(master, TIOCSWINSZ, &size) != 0) {
        int saved = errno;
        close(master);
        errno = saved;
        return -1;
    }
    return master;
}

int rookery_pty_resize(int master, unsigned short rows, unsigned short columns) {
    struct winsize size = {.ws_row = rows, .ws_col = columns};
    return ioctl(master, TIOCSWINSZ, &size);
}

int rookery_terminal_size(int fd, unsigned short *rows, unsigned short *columns) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return -1;
    *rows = size.ws_row;
    *columns = size.ws_col;
    return 0;
}

pid_t rookery_pty_foreground_group(int master) {
    pid_t group = -1;
    if (ioctl(master, TIOCGPGRP, &group) != 0) return -1;
    return group;
}

// Closes every descriptor from `first` on except `keep`. close_range when the kernel has it, else
// one by one up to the descriptor limit (bounded, since the limit may be huge).
static void close_from(int first, int keep) {
    if (keep >= first) {
        if (keep > first && syscall(SYS_close_range, first, keep - 1, 0) != 0) {
            for (int fd = first; fd < keep; fd++) close(fd);
        }
        first = keep + 1;
    }
    if (syscall(SYS_close_range, first, ~0U, 0) == 0) return;
    struct rlimit limit;
    long highest = (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536) ? (long)limit.rlim_cur : 65536;
    for (long fd = first; fd < highest; fd++) close((int)fd);
}

// Only async-signal-safe calls from fork to exec: the parent is multithreaded.
static void child(
    int report, const char *slave_path, const char *path, char *const argv[], char *const envp[], const char *directory,
    int switch_ids, uid_t uid, gid_t gid, const gid_t *groups, size_t group_count) {
    int step = ROOKERY_SPAWN_SESSION;
    // The terminal goes on 0, 1 and 2: a report pipe there (the agent started with them closed)
    // moves out of the way first.
    if (report < 3) {
        int moved = fcntl(report, F_DUPFD_CLOEXEC, 3);
        if (moved >= 0) report = moved;
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction standard;
    memset(&standard, 0, sizeof standard);
    standard.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; signal++) sigaction(signal, &standard, NULL);

    if (setsid() < 0) goto failed;
    step = ROOKERY_SPAWN_TERMINAL;
    // A session leader without a controlling terminal acquires the first terminal it opens.
    int terminal = open(slave_path, O_RDWR);
    if (terminal < 0 || ioctl(terminal, TIOCSCTTY, 0) != 0) goto failed;
    if (dup2(terminal, 0) < 0 || dup2(terminal, 1) < 0 || dup2(terminal, 2) < 0) goto failed;
    if (terminal > 2) close(terminal);
    if (switch_ids) {
        step = ROOKERY_SPAWN_GROUPS;
        if (setgroups(group_count, groups) != 0) goto failed;
        step = ROOKERY_SPAWN_GID;
        if (setgid(gid) != 0) goto failed;
        step = ROOKERY_SPAWN_UID;
        if (setuid(uid) != 0) goto failed;
    }
    // As login does: a home that is missing or closed to the account leaves the shell in "/".
    if (chdir(directory) != 0 && chdir("/") != 0) { /* the shell still starts */ }
    close_from(3, report);
    step = ROOKERY_SPAWN_EXEC;
    execve(path, argv, envp);
failed:;
    int failure[2] = {step, errno};
    ssize_t ignored = write(report, failure, sizeof failure);
    (void)ignored;
    _exit(127);
}

pid_t rookery_pty_spawn(
    const char *slave_path, const char *path, char *const argv[], char *const envp[], const char *directory,
    int switch_ids, uid_t uid, gid_t gid, const gid_t *groups, size_t group_count, int *failed_step) {
    // The child reports a failure before exec on this pipe; exec closes it (close-on-exec), so
    // reading end of file means the shell is running.
    int report[2];
    *failed_step = ROOKERY_SPAWN_FORK;
    if (pipe2(report, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(report[0]);
        close(report[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) child(report[1], slave_path, path, argv, envp, directory, switch_ids, uid, gid, groups, group_count);
    close(report[1]);
    int failure[2];
    ssize_t count;
    do {
        count = read(report[0], failure, sizeof failure);
    } while (count < 0 && errno == EINTR);
    close(report[0]);
    if (count != (ssize_t)sizeof failure) return pid;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    *failed_step = failure[0];
    errno = failure[1];
    return -1;
}
