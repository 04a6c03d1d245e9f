import Crypto
import Foundation

/// A password hash as passlib's `pbkdf2_sha256` writes it: `$pbkdf2-sha256$ROUNDS$SALT$HASH`, the
/// salt and the 32-byte PBKDF2-HMAC-SHA256 output in passlib's base64 (`.` for `+`, no padding).
/// PenguinDome wrote the same form, so its users' hashes carry over.
public struct PasswordHash: Sendable, Equatable, CustomStringConvertible {
    public let rounds: Int
    public let salt: [UInt8]
    public let digest: [UInt8]

    /// passlib's default; a check takes some tens of milliseconds.
    public static let defaultRounds = 29_000
    /// Settings are the admin's, but a typo of a few zeros should not stall every request
    /// (two million rounds is about two seconds here).
    static let maxRounds = 2_000_000
    /// The longest password checked or hashed, in UTF-8 bytes. Longer ones are refused before any
    /// hashing, like a wrong password: no legitimate password needs more, and a guess should not
    /// get to choose its own cost.
    public static let maxPasswordBytes = 1024

    /// Parses the stored form; nil for anything else (including other passlib schemes).
    public init?(_ text: String) {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "pbkdf2-sha256",
            let rounds = Int(parts[2]), (1...Self.maxRounds).contains(rounds),
            let salt = Self.decode(parts[3]), !salt.isEmpty,
            let digest = Self.decode(parts[4]), digest.count == 32
        else { return nil }
        self.rounds = rounds
        self.salt = salt
        self.digest = digest
    }

    /// A new hash of `password` with a random 16-byte salt.
    public init(hashing password: String, rounds: Int = PasswordHash.defaultRounds) {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var hmac = KeyedHMAC(password: Array(password.utf8))
        self.init(rounds: rounds, salt: salt, digest: hmac.pbkdf2(salt: salt, rounds: rounds))
    }

    private init(rounds: Int, salt: [UInt8], digest: [UInt8]) {
        self.rounds = rounds
        self.salt = salt
        self.digest = digest
    }

    /// Whether `password` is the one hashed; the comparison takes the same time wherever the
    /// bytes differ.
    public func matches(_ password: String) -> Bool {
        var hmac = KeyedHMAC(password: Array(password.utf8))
        return matches(keyedWith: &hmac)
    }

    /// The same, with an HMAC already keyed by the password (one attempt may check several hashes).
    func matches(keyedWith hmac: inout KeyedHMAC) -> Bool {
        let candidate = hmac.pbkdf2(salt: salt, rounds: rounds)
        return zip(candidate, digest).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0 && candidate.count == digest.count
    }

    public var description: String {
        "$pbkdf2-sha256$\(rounds)$\(Self.encode(salt))$\(Self.encode(digest))"
    }

    private static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: ".").replacingOccurrences(of: "=", with: "")
    }

    private static func decode(_ text: Substring) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "/") }) else { return nil }
        var standard = text.replacingOccurrences(of: ".", with: "+")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard).map(Array.init)
    }
}
