import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// The device's local record of remote shells: `sessions.log` in `directory`, one JSON line per
/// session, and, when `keepsTranscripts`, a 0600 file per session with everything its shell printed.
public struct ShellSessionLog: Sendable {
    public let directory: String
    public let keepsTranscripts: Bool
    /// Per session; the rest of a longer session is not kept (and the log line says so).
    public let transcriptLimit: Int

    /// Past this size the log moves to sessions.log.1, replacing the previous one.
    public static let maxLogBytes = 1 << 20
    public static let defaultTranscriptLimit = 64 << 20

    public init(directory: String, keepsTranscripts: Bool = false, transcriptLimit: Int = defaultTranscriptLimit) {
        self.directory = directory
        self.keepsTranscripts = keepsTranscripts
        self.transcriptLimit = max(0, transcriptLimit)
    }

    public var path: String { directory + "/sessions.log" }

    /// Where the transcript of `sessionID` goes (session ids are checked to be plain names).
    public func transcriptPath(for sessionID: String) -> String {
        directory + "/transcript-" + sessionID
    }

    /// A new transcript for the session, or nil when transcripts are off.
    func openTranscript(for sessionID: String) throws(ShellSessionError) -> ShellTranscriptFile? {
        guard keepsTranscripts else { return nil }
        try makeDirectory()
        return try ShellTranscriptFile(path: transcriptPath(for: sessionID), limit: transcriptLimit)
    }

    /// Appends one line for a finished session.
    public func append(_ record: ShellSessionRecord) throws(ShellSessionError) {
        try makeDirectory()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(record) else { throw .logFailed(path: path, errno: EINVAL) }
        line.append(UInt8(ascii: "\n"))
        var status = stat()
        if stat(path, &status) == 0, Int(status.st_size) > Self.maxLogBytes { _ = rename(path, path + ".1") }
        // O_APPEND: lines of sessions ending at the same time land whole, one after another.
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw .logFailed(path: path, errno: errno) }
        defer { close(descriptor) }
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count else { throw .logFailed(path: path, errno: written < 0 ? errno : EIO) }
    }

    private func makeDirectory() throws(ShellSessionError) {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw .logFailed(path: directory, errno: errno) }
    }
}
