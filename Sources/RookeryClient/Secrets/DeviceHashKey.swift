import Crypto
import FoundationEssentials
import RookeryCore

/// The device's own random key for the HMACs of secret values (`var/client/secret-hash.key`,
/// mode 0600). Because it never leaves the device, equal values keep equal hashes here (history
/// sees that a secret changed) while nobody else can test a guess against a hash. It is made on
/// first need and kept, so hashes stay equal across collections and restarts.
enum DeviceHashKey {
    static let byteCount = 32

    static func loadOrCreate(at path: String) throws -> SymmetricKey {
        if FileManager.default.fileExists(atPath: path) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            guard bytes.count == byteCount else {
                throw DamagedFile(
                    path, "\(bytes.count) bytes, not \(byteCount)",
                    hint: "remove it and a new key is made (the hashes of secret values then change once)")
            }
            return SymmetricKey(data: bytes)
        }
        // Collections run under the run lock, so no other run makes one at the same time.
        let key = SymmetricKey(size: .bits256)
        try AtomicFile.write(key.withUnsafeBytes { Data($0) }, to: path, mode: 0o600)
        return key
    }
}
