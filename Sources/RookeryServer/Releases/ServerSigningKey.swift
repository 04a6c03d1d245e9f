import Foundation
import RookeryCore

/// The server's own OpenPGP key. It signs release manifests and every update answer, and clients
/// pin its public half from their release. `server-setup.sh` makes it at install; a server root
/// without one gets one on first use. Its public half is kept in `server/server-key.asc`.
public struct ServerSigningKey: Sendable {
    public let fingerprint: String
    private let openPGP: OpenPGP
    private let pool: BlockingPool

    /// Finds (or makes) the key in the server's GnuPG home, and checks it is the one
    /// `server/server-key.asc` names. A lock file keeps the server and an admin command starting
    /// at the same moment from making two.
    public static func loadOrCreate(root: InstallRoot, openPGP: OpenPGP, pool: BlockingPool) throws -> ServerSigningKey {
        let lock = try FileLock(path: root.serverState + "/signing-key.lock")
        defer { lock.release() }
        let key = ServerSigningKey(fingerprint: try findOrMake(root: root, openPGP: openPGP), openPGP: openPGP, pool: pool)
        try key.publish(to: root.serverPublicKey, scratch: root.serverState + "/scratch")
        return key
    }

    /// The one secret key in the home; a new one only where no key was ever published, because
    /// devices pin the published one and a new key would silently cut off the whole fleet.
    private static func findOrMake(root: InstallRoot, openPGP: OpenPGP) throws -> String {
        let secretKeys = try openPGP.secretKeyFingerprints()
        if secretKeys.count > 1 {
            throw SettingsError(
                "\(root.serverGnuPGHome) holds \(secretKeys.count) secret keys (\(secretKeys.joined(separator: ", "))); keep only the one \(root.serverPublicKey) names"
            )
        }
        if let existing = secretKeys.first { return existing }
        guard !FileManager.default.fileExists(atPath: root.serverPublicKey) else {
            throw SettingsError(
                """
                the server's signing key is missing from \(root.serverGnuPGHome), but \(root.serverPublicKey) \
                shows there was one, which devices pin. Restore \(root.serverGnuPGHome) from a backup; only if \
                it is lost for good, remove \(root.serverPublicKey) to make a new key (then every device must \
                be set up again from a new release).
                """)
        }
        return try openPGP.generateSigningKey(userID: "rookery server")
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

    /// Writes the public half where admins and `server-setup.sh` expect it. A file there that names
    /// another key is what devices pin: that is refused, not overwritten.
    private func publish(to path: String, scratch: String) throws {
        let armored = try publicKey()
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            if existing == armored { return }
            let named = try Self.fingerprints(in: existing, scratch: scratch)
            guard named == [fingerprint] else {
                throw SettingsError(
                    "\(path) names \(named.isEmpty ? "no key" : named.joined(separator: ", ")), but the server's secret key is \(fingerprint); devices pin the former. Restore the matching \((scratch as NSString).deletingLastPathComponent)/gnupg, or replace \(path) only to re-pin every device"
                )
            }
        }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try armored.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The keys an armored file holds, read in a throw-away keyring.
    private static func fingerprints(in armored: String, scratch: String) throws -> [String] {
        let keyring = OpenPGP(homeDirectory: scratch + "/pin-" + UUID().uuidString.prefix(8))
        try keyring.prepareHome(publicKeysOnly: true)
        defer { try? FileManager.default.removeItem(atPath: keyring.homeDirectory) }
        return (try? keyring.importKeys(Data(armored.utf8))) ?? []
    }
}
