import Foundation
import RookeryCore

/// The server's own OpenPGP key. It signs release manifests and every update answer, and clients
/// pin its public half from their release. `server-setup.sh` makes it at install; a server root
/// without one gets one on first use. Its public half is kept in `server/server-key.asc`.
public struct ServerSigningKey: Sendable {
    public let fingerprint: String
    private let openPGP: OpenPGP
    private let pool: BlockingPool

    /// Finds (or makes) the key in the server's GnuPG home. A lock file keeps the server and an
    /// admin command starting at the same moment from making two.
    public static func loadOrCreate(root: InstallRoot, openPGP: OpenPGP, pool: BlockingPool) throws -> ServerSigningKey {
        let lock = try FileLock(path: root.serverState + "/signing-key.lock")
        defer { lock.release() }
        let fingerprint: String
        let secretKeys = try openPGP.secretKeyFingerprints()
        if secretKeys.count > 1 {
            // Which one devices pin cannot be guessed; signing with the wrong one cuts them off.
            throw SettingsError("\(root.serverGnuPGHome) holds \(secretKeys.count) secret keys (\(secretKeys.joined(separator: ", "))); keep only the one \(root.serverPublicKey) names")
        } else if let existing = secretKeys.first {
            fingerprint = existing
        } else if FileManager.default.fileExists(atPath: root.serverPublicKey) {
            // Devices pin the key named there: a new one would silently cut off the whole fleet.
            throw SettingsError("""
                the server's signing key is missing from \(root.serverGnuPGHome), but \(root.serverPublicKey) \
                shows there was one, which devices pin. Restore \(root.serverGnuPGHome) from a backup; only if \
                it is lost for good, remove \(root.serverPublicKey) to make a new key (then every device must \
                be set up again from a new release).
                """)
        } else {
            fingerprint = try openPGP.generateSigningKey(userID: "rookery server")
        }
        let key = ServerSigningKey(fingerprint: fingerprint, openPGP: openPGP, pool: pool)
        try key.exportPublicKey(to: root.serverPublicKey)
        return key
    }

    /// A detached binary signature, made off the event loop.
    public func sign(_ data: Data) async throws -> Data {
        let (openPGP, fingerprint) = (self.openPGP, self.fingerprint)
        return try await pool.run { try openPGP.sign(data, fingerprint: fingerprint) }
    }

    /// The public half, ASCII-armored (what releases carry as client/server-key.asc).
    public func publicKey() throws -> String {
        try openPGP.exportPublicKey(fingerprint: fingerprint)
    }

    /// Writes the public half where admins and `server-setup.sh` expect it, if it is not there yet.
    private func exportPublicKey(to path: String) throws {
        let armored = try publicKey()
        if (try? String(contentsOfFile: path, encoding: .utf8)) == armored { return }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try armored.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// An exclusive `flock` on a file, held until `release()` or the process ends.
struct FileLock {
    private let fd: Int32

    init(path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        // Read-only and world-readable: flock needs no write access, and the server's user must be
        // able to take a lock file that an admin command run as root created.
        fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SettingsError("cannot open lock file \(path): \(String(cString: strerror(errno)))") }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(fd)
                throw SettingsError("cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
