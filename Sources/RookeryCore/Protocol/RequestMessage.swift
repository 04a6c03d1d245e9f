import FoundationEssentials

/// A request body of one endpoint, beyond the envelope every body carries (host, key, sent_at,
/// nonce, endpoint: see `SignedRequest`). The device builds one and signs its `fields`; the
/// server reads one from a verified body with `init(fields:)`, which refuses what the endpoint
/// cannot use with a `malformed` refusal. Members a message does not know are ignored, so a
/// newer client can add some.
public protocol RequestMessage: Sendable {
    static var endpoint: WireProtocol.Endpoint { get }
    init(fields: MessageFields) throws
    /// The members this message contributes to the body.
    var fields: [String: JSONValue] { get }
}

/// `enroll`: the device's public key and machine id, signed by that same key.
public struct EnrollRequest: RequestMessage, Equatable {
    public static let endpoint = WireProtocol.Endpoint.enroll
    /// The armored public key; the server checks it holds the key named by the envelope's `key`.
    public let publicKey: String
    public let machineID: String
    /// Accepts the device at once when it matches one of the server's enrollment tokens.
    public let enrollmentToken: String?

    /// The members an enrollment adds to the envelope; nothing else of an enrollment body is
    /// read before its key is checked.
    public static let memberNames: Set<String> = ["public_key", "machine_id", "enrollment_token"]

    public init(publicKey: String, machineID: String, enrollmentToken: String? = nil) {
        self.publicKey = publicKey
        self.machineID = machineID
        self.enrollmentToken = enrollmentToken
    }

    public init(fields: MessageFields) throws {
        publicKey = try fields.string("public_key")
        machineID = try fields.identifier("machine_id")
        enrollmentToken = try fields.optionalString("enrollment_token")
    }

    public var fields: [String: JSONValue] {
        var fields: [String: JSONValue] = ["public_key": .string(publicKey), "machine_id": .string(machineID)]
        if let enrollmentToken { fields["enrollment_token"] = .string(enrollmentToken) }
        return fields
    }
}

/// `submit`: one collection from the device's queue.
public struct SubmitRequest: RequestMessage, Equatable {
    public static let endpoint = WireProtocol.Endpoint.submit
    /// Unique per collection: the server stores a repeated id once.
    public let submissionID: String
    /// Plugin name -> its output.
    public let plugins: [String: JSONValue]
    /// What the device's one-time commands reported.
    public let commands: [String: JSONValue]?
    /// When the collection was made (RFC 3339); a value that is not a time is dropped.
    public let collectedAt: String?
    /// Why the device runs on its last good settings.
    public let settingsProblem: String?
    /// The release the device ran; a value out of range is dropped.
    public let release: Int?
    /// What the device did with the state the server manages on it, and what it runs now.
    public let managed: [String: JSONValue]?

    public init(
        submissionID: String, plugins: [String: JSONValue], commands: [String: JSONValue]? = nil,
        collectedAt: String? = nil, settingsProblem: String? = nil, release: Int? = nil, managed: [String: JSONValue]? = nil
    ) {
        self.submissionID = submissionID
        self.plugins = plugins
        self.commands = commands
        self.collectedAt = collectedAt
        self.settingsProblem = settingsProblem
        self.release = release
        self.managed = managed
    }

    public init(fields: MessageFields) throws {
        submissionID = try fields.identifier("submission_id")
        managed = try fields.optionalObject("managed")
        plugins = try fields.object("plugins")
        commands = try fields.optionalObject("commands")
        collectedAt = fields.members["collected_at"]?.stringValue.flatMap { RFC3339.date(from: $0) != nil ? $0 : nil }
        settingsProblem = try fields.optionalString("settings_problem")
        release = fields.members["release"]?.integerValue.flatMap { (0...Int64(Int32.max)).contains($0) ? Int($0) : nil }
    }

    public var fields: [String: JSONValue] {
        var fields: [String: JSONValue] = ["submission_id": .string(submissionID), "plugins": .object(plugins)]
        if let commands { fields["commands"] = .object(commands) }
        if let collectedAt { fields["collected_at"] = .string(collectedAt) }
        if let settingsProblem { fields["settings_problem"] = .string(settingsProblem) }
        if let release { fields["release"] = .integer(Int64(release)) }
        if let managed { fields["managed"] = .object(managed) }
        return fields
    }
}

/// `update`: which release the device runs; the answer (`UpdateAnswer`) is signed.
public struct UpdateRequest: RequestMessage, Equatable {
    public static let endpoint = WireProtocol.Endpoint.update
    /// 0 before any release is installed.
    public let release: Int
    /// Whether the device owner allows remote commands (informational for the server).
    public let commandsAllowed: Bool?
    /// The `sha256` of the managed state the device last received, so the server sends it again
    /// only when it changed.
    public let managedSHA256: String?

    public init(release: Int, commandsAllowed: Bool? = nil, managedSHA256: String? = nil) {
        self.release = release
        self.commandsAllowed = commandsAllowed
        self.managedSHA256 = managedSHA256
    }

    public init(fields: MessageFields) throws {
        release = Int(try fields.integer("release", in: 0...Int64(Int32.max)))
        commandsAllowed = try fields.optionalBool("commands_allowed")
        managedSHA256 = try fields.optionalString("managed_sha256")
        if let managedSHA256, !Hex.isLowercaseSHA256(managedSHA256) {
            throw ProtocolError(.malformed, "managed_sha256 must be 64 lower-case hex digits")
        }
    }

    public var fields: [String: JSONValue] {
        var fields: [String: JSONValue] = ["release": .integer(Int64(release))]
        if let commandsAllowed { fields["commands_allowed"] = .bool(commandsAllowed) }
        if let managedSHA256 { fields["managed_sha256"] = .string(managedSHA256) }
        return fields
    }
}

/// `release`: downloads one published release tarball (the answer is the tarball itself).
public struct ReleaseRequest: RequestMessage, Equatable {
    public static let endpoint = WireProtocol.Endpoint.release
    public let release: Int

    public init(release: Int) { self.release = release }

    public init(fields: MessageFields) throws {
        release = Int(try fields.integer("release", in: 1...Int64(Int32.max)))
    }

    public var fields: [String: JSONValue] { ["release": .integer(Int64(release))] }
}

/// `acknowledge_patch`: what became of one patch of an update answer.
public struct AcknowledgePatchRequest: RequestMessage, Equatable {
    public static let endpoint = WireProtocol.Endpoint.acknowledgePatch
    public let patchID: Int64
    /// The patch's target, as the answer named it: only the patch for this target is ended.
    public let target: String
    public let result: PatchResult
    /// Why, for a refusal or failure; shown to admins (the server cuts it short).
    public let message: String

    public init(patchID: Int64, target: String, result: PatchResult, message: String = "") {
        self.patchID = patchID
        self.target = target
        self.result = result
        self.message = message
    }

    public init(fields: MessageFields) throws {
        patchID = try fields.integer("patch_id", in: 1...Int64.max)
        target = try fields.string("target")
        result = try fields.value("result", of: PatchResult.self)
        message = try fields.optionalString("message") ?? ""
    }

    public var fields: [String: JSONValue] {
        [
            "patch_id": .integer(patchID), "target": .string(target), "result": .string(result.rawValue),
            "message": .string(message)
        ]
    }
}
