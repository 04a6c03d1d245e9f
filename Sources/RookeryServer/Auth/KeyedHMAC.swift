import Crypto

/// HMAC-SHA256 keyed with one password, run as often as a password check needs: the key is set up
/// once and the keyed state copied for every run (swift-crypto's `HMAC` is a value type), so a run
/// costs two SHA-256 blocks and never the key's set-up again, however long the password. One
/// Basic attempt keys it once and uses it for every hash it checks and for its decoy rounds.
struct KeyedHMAC {
    private let keyed: HMAC<SHA256>
    /// HMAC runs done so far, counted where they are done: what an attempt cost.
    private(set) var runs = 0

    init(password: [UInt8]) {
        keyed = HMAC<SHA256>(key: SymmetricKey(data: password))
    }

    /// PBKDF2 (RFC 8018) with HMAC-SHA256, one 32-byte block (all passlib's scheme uses):
    /// U1 = HMAC(salt || 00000001), Ui = HMAC(Ui-1), output = U1 xor ... xor Urounds.
    mutating func pbkdf2(salt: [UInt8], rounds: Int) -> [UInt8] {
        var u = code(for: salt + [0, 0, 0, 1])
        var output = u
        for _ in 1..<max(rounds, 1) {
            u = code(for: u)
            for index in output.indices { output[index] ^= u[index] }
        }
        return output
    }

    /// `count` runs whose result is thrown away: the same work as `count` PBKDF2 rounds, to make
    /// a cheaper check (or none) cost as much as the dearest.
    mutating func decoyRounds(_ count: Int) {
        var u = [UInt8](repeating: 0, count: SHA256.byteCount)
        var output = u
        for _ in 0..<max(count, 0) {
            u = code(for: u)
            for index in output.indices { output[index] ^= u[index] }
        }
    }

    private mutating func code(for message: [UInt8]) -> [UInt8] {
        var hmac = keyed
        hmac.update(data: message)
        runs += 1
        return Array(hmac.finalize())
    }
}
