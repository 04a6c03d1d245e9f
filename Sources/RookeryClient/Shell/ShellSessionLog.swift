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
        let file = LogFile(path: path, maxBytes: Self.maxLogBytes, refusesLinks: true)
        if let failure = line.withUnsafeBytes({ file.append($0) }) { throw .logFailed(path: path, errno: failure) }
    }

    private func makeDirectory() throws(ShellSessionError) {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw .logFailed(path: directory, errno: errno) }
    }
}
