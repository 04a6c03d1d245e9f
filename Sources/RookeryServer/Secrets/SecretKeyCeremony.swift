import Foundation
import RookeryCore

/// Makes a secret-keeping key and splits its private half among the keepers: the key is made in a
/// temporary home, its export is split with Shamir's scheme into share files (gfsplit's layout),
/// and only the public half and the shares' checksums are returned. The caller wipes the home.
struct SecretKeyCeremony {
    let shares: Int
    let threshold: Int
    let outDirectory: String
    static let shareStem = "rookery-secret-share"

    func perform(in home: TemporaryKeyHome, now: Date) throws -> (record: SecretKeepingRecord, files: [String]) {
        try makeOutDirectory()
        do {
            // Dated, so a rotation's new key never shares the old one's user ID in the same home.
            let fingerprint = try home.openPGP.generateEncryptionKey(userID: "Rookery secret keeping \(RFC3339.string(from: now))")
            let publicKey = try home.openPGP.exportPublicKey(fingerprint: fingerprint)
            let split = try ShamirSharing.split(
                try home.openPGP.exportSecretKey(fingerprint: fingerprint),
                threshold: threshold, xCoordinates: (1...shares).map { UInt8($0) })
            var files: [String] = []
            var checksums: [Int: String] = [:]
            for share in split {
                files.append(try ShareFile.write(share, directory: outDirectory, stem: Self.shareStem))
                checksums[Int(share.x)] = share.checksum
            }
            let record = SecretKeepingRecord(
                fingerprint: fingerprint, publicKey: publicKey, shares: shares,
                threshold: threshold, shareChecksums: checksums, enabled: true, createdAt: now)
            return (record, files)
        } catch {
            // Half a set of shares is worse than none: nobody must hand them out.
            try? FileManager.default.removeItem(atPath: outDirectory)
            throw AdminError("no key was made: \(error)")
        }
    }

    /// The share directory must be new, so no old share is mistaken for a new one.
    private func makeOutDirectory() throws {
        guard mkdir(outDirectory, 0o700) == 0 else {
            let reason = errno == EEXIST ? "it exists already; name a new directory" : String(cString: strerror(errno))
            throw AdminError(.io, "cannot make the share directory \(outDirectory): \(reason)")
        }
    }
}
