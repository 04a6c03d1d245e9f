import FoundationEssentials
import RookeryCore

/// What the device did with the last managed state it received (`var/client/managed.json`):
/// the digest it sends back with `update`, and each part's outcome for its document.
public struct ManagedStateRecord: Sendable, Equatable {
    /// The state's digest; nil when the state was not taken at all (the server sends it again).
    public var sha256: String?
    public var receivedAt: Date
    public var settings: JSONValue?
    public var firewall: JSONValue?
    public var authorizedKeys: JSONValue?

    public init(sha256: String?, receivedAt: Date) {
        self.sha256 = sha256
        self.receivedAt = receivedAt
    }

    static func path(_ root: InstallRoot) -> String { root.clientState + "/managed.json" }

    /// Whether a part, or one account's file, failed (rather than being refused or taken).
    var hasFailure: Bool {
        var outcomes = [settings, firewall]
        if case .object(let accounts)? = authorizedKeys { outcomes += accounts.values.map(Optional.some) }
        return outcomes.contains { $0?["status"] == .string("failed") }
    }

    public var json: JSONValue {
        var fields: [String: JSONValue] = ["received_at": .string(RFC3339.string(from: receivedAt))]
        fields["sha256"] = sha256.map(JSONValue.string) ?? .null
        if let settings { fields["settings"] = settings }
        if let firewall { fields["firewall"] = firewall }
        if let authorizedKeys { fields["authorized_keys"] = authorizedKeys }
        return .object(fields)
    }

    func save(_ root: InstallRoot) throws {
        try AtomicFile.write(json.serialized(), to: Self.path(root), mode: 0o600)
    }

    /// The record kept, or nil when there is none or it cannot be read (then the server sends the state again).
    public static func load(_ root: InstallRoot) -> ManagedStateRecord? {
        guard let data = FileManager.default.contents(atPath: path(root)), data.count < 4 << 20,
            let value = try? JSONValue.parse(data), let received = value["received_at"]?.stringValue.flatMap(RFC3339.date(from:))
        else { return nil }
        var record = ManagedStateRecord(sha256: value["sha256"]?.stringValue.flatMap { Hex.isLowercaseSHA256($0) ? $0 : nil }, receivedAt: received)
        record.settings = value["settings"]
        record.firewall = value["firewall"]
        record.authorizedKeys = value["authorized_keys"]
        return record
    }
}
