import FoundationEssentials

/// Constants and shapes of protocol v1. See docs/protocol.md.
public enum WireProtocol {
    public static let pathPrefix = "/rookery/v1/"
    /// Revisions of v1 (see docs/protocol.md, "Revisions"): 2 binds every body to its endpoint.
    public static let revision = 2
    public static let signatureHeader = "Rookery-Signature"
    public static let defaultMaxBodyBytes = 8 * 1024 * 1024
    /// An enrollment carries a public key (at most `PublicKeyShape.maxArmoredBytes`) and a few
    /// names: anything larger is refused before it is read whole.
    public static let maxEnrollBodyBytes = 64 * 1024

    public enum Endpoint: String, CaseIterable, Sendable {
        case enroll, submit
        /// Asks what the server wants changed on the device; the answer is signed by the server.
        case update
        /// Downloads one release tarball.
        case release
        /// Reports that a patch was applied (or refused).
        case acknowledgePatch = "acknowledge_patch"
        /// The agent's long poll: answered at once when something waits for the device.
        case poll
        /// The device opens a remote shell the server offered (its half of the key exchange).
        case shellAccept = "shell_accept"
        /// The device will not open a remote shell it was offered.
        case shellRefuse = "shell_refuse"
    }

    /// The token a device's shell frame calls carry (from `ShellAcceptAnswer`), 64 hex digits.
    public static let shellTokenHeader = "Rookery-Shell-Token"
    /// On an answer of frames: the sequence number of the last frame in it (or the `after` asked
    /// for when it holds none).
    public static let shellLastSequenceHeader = "Rookery-Shell-Last-Seq"

    /// The fields every request body carries.
    public enum Field {
        public static let host = "host"
        public static let key = "key"
        public static let sentAt = "sent_at"
        public static let nonce = "nonce"
        /// The endpoint the body is meant for: checked against the route, so a signed body is
        /// accepted by that endpoint only (see docs/protocol.md for bodies without it).
        public static let endpoint = "endpoint"
    }

    /// 32 lowercase hex characters from the system's secure generator.
    public static func makeNonce() -> String {
        var rng = SystemRandomNumberGenerator()
        return Hex.string((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }
}
