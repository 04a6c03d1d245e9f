import FoundationEssentials
import RookeryCore

/// What the client remembers between runs (`var/client/state.json`). Small on purpose: the cron
/// fast path reads only this and the settings.
public struct ClientState: Codable, Sendable, Equatable {
    public enum Enrollment: String, Codable, Sendable {
        case none, pending, accepted, rejected, revoked
    }
    public var fingerprint: String?
    public var enrollment: Enrollment = .none
    /// The hostname the server last said it knows this device by (see `Enroller`); nil before
    /// the first enrollment, and on devices enrolled before renames.
    public var serverHostname: String?
    /// The hostname this device last asked for and the server held, because another device
    /// uses it; the device asks again at each submission until it settles (see `Submitter`).
    public var heldHostname: String?
    public var lastCollect: Date?
    public var lastSubmit: Date?
    public var lastUpdate: Date?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case fingerprint, enrollment
        case lastCollect = "last_collect"
        case lastSubmit = "last_submit"
        case lastUpdate = "last_update"
        case serverHostname = "server_hostname"
        case heldHostname = "held_hostname"
    }

    public static func load(from path: String) -> ClientState {
        guard let data = FileManager.default.contents(atPath: path) else { return ClientState() }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        // A damaged state file costs at most one early collection, never a crash.
        return (try? decoder.decode(ClientState.self, from: data)) ?? ClientState()
    }

    public func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = .sortedKeys
        try AtomicFile.write(try encoder.encode(self), to: path)
    }
}
