import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// A file of lines that only grows: past `maxBytes` it moves to PATH.1 (replacing the previous
/// one) before the next line, so a device never fills its disk with it. Opened with O_APPEND for
/// each line, so lines written at the same moment (plugin threads, other runs, sessions ending
/// together) land whole, one after another.
struct LogFile: Sendable {
    let path: String
    let maxBytes: Int
    /// Refuse a symbolic link at `path` (O_NOFOLLOW) instead of writing where it leads.
    var refusesLinks = false

    /// Appends `line`, which ends with its own newline; the errno when it could not.
    func append(_ line: UnsafeRawBufferPointer) -> Int32? {
        var status = stat()
        if stat(path, &status) == 0, Int(status.st_size) > maxBytes { _ = rename(path, path + ".1") }
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (refusesLinks ? O_NOFOLLOW : 0), 0o600)
        guard descriptor >= 0 else { return errno }
        defer { close(descriptor) }
        let written = write(descriptor, line.baseAddress, line.count)
        return written == line.count ? nil : written < 0 ? errno : EIO
    }
}
