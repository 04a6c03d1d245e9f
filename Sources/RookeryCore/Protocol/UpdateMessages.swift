import FoundationEssentials

/// A newer release the server offers. `sha256` and `size` are those of the tarball, so a device
/// checks what it downloaded before it parses a byte of it.
public struct ReleaseOffer: Codable, Sendable, Equatable {
    public let number: Int
    public let size: Int
    public let sha256: String

    public init(number: Int, size: Int, sha256: String) {
        self.number = number
        self.size = size
        self.sha256 = sha256
    }
}

/// What a patch does to its target.
public enum PatchAction: String, Codable, Sendable, CaseIterable {
    case write, remove
}

/// One file change for the device, relative to its install root (always under `client/`).
public struct PatchInstruction: Codable, Sendable, Equatable {
    public let id: Int64
    public let target: String
    public let action: PatchAction
    /// Permission bits for a written file.
    public let mode: Int
    /// The new contents (base64 on the wire); empty for a removal.
    public let content: Data

    public init(id: Int64, target: String, action: PatchAction, mode: Int, content: Data) {
        self.id = id
        self.target = target
        self.action = action
        self.mode = mode
        self.content = content
    }
}

/// The server's answer to `update`: sent with the server's detached signature over the exact
/// body bytes in the `Rookery-Signature` header, and echoing the request's nonce and key, so a
/// device acts only on a fresh answer meant for it.
public struct UpdateAnswer: Codable, Sendable, Equatable {
    public let nonce: String
    public let key: String
    public let release: ReleaseOffer?
    public let patches: [PatchInstruction]
    /// What to encrypt and to which key; nil when nothing is selected (devices forget any policy).
    public let secretKeeping: SecretKeepingPolicy?
    /// Remote shells the server asks the device to open; nil (left out) when there are none.
    public let shells: [ShellOffer]?
    /// What the server manages on the device, when it differs from what the device last received.
    public let managed: ManagedState?

    public init(
        nonce: String, key: String, release: ReleaseOffer?, patches: [PatchInstruction],
        secretKeeping: SecretKeepingPolicy? = nil, shells: [ShellOffer]? = nil, managed: ManagedState? = nil
    ) {
        self.nonce = nonce
        self.key = key
        self.release = release
        self.patches = patches
        self.secretKeeping = secretKeeping
        self.shells = shells
        self.managed = managed
    }

    enum CodingKeys: String, CodingKey {
        case nonce, key, release, patches, shells, managed
        case secretKeeping = "secret_keeping"
    }

    /// The bytes the server signs and sends.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(self)
    }
}

/// How a device reports a patch back (`acknowledge_patch`).
public enum PatchResult: String, Codable, Sendable, CaseIterable {
    /// Written or removed as asked.
    case applied
    /// Not done on purpose: an unsafe path, or commands turned off by the device owner.
    case refused
    /// Tried and failed (a full disk, a read-only file system).
    case failed
}
