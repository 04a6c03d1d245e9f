import Foundation
import RookeryCore

/// Rebuilds the secret-keeping key from keepers' share files into a temporary home, checking each
/// share first, so that an admin hears which file is damaged or how many more are needed, and
/// nothing is touched until the rebuilt key is the recorded one.
struct SecretKeyRecovery {
    let record: SecretKeepingRecord
    /// Where temporary homes go (nil: `TemporaryKeyHome`'s default).
    let temporaryBase: String?
    /// Subsets tried when looking for a damaged share among more shares than needed.
    static let maxAttempts = 64

    /// One offered share and the file it came from.
    struct Offered {
        let path: String
        let share: SecretShare
    }

    /// A temporary home holding the rebuilt key (the caller wipes it); throws an `AdminError`
    /// naming what is wrong otherwise.
    ///
    /// A share whose checksum differs from the one recorded for its number is suspect: damaged, or
    /// a share of another split of the same key (gfsplit's own shares reuse numbers), so it is left
    /// out only when the key does not come out with it.
    func recover(sharePaths: [String]) throws -> TemporaryKeyHome {
        let offered = try read(sharePaths)
        let suspects = offered.filter { item in
            record.shareChecksums[Int(item.share.x)].map { $0 != item.share.checksum } ?? false
        }
        let trusted = offered.filter { item in !suspects.contains { $0.path == item.path } }
        let suspectNote = suspects.map {
            "share \($0.path) (number \($0.share.x)) is damaged: its checksum differs from the one recorded when it was written\n"
        }.joined()
        if offered.count >= record.threshold, let home = try rebuild(from: offered) {
            for suspect in suspects {
                FileHandle.standardError.write(
                    Data(
                        "note: share \(suspect.path) (number \(suspect.share.x)) is not the one recorded under its number, yet the key came out: it is from another split of this key (gfsplit's), or damaged where it does not matter\n"
                            .utf8))
            }
            return home
        }
        if !suspects.isEmpty, trusted.count >= record.threshold, let home = try rebuild(from: trusted) {
            FileHandle.standardError.write(Data(("warning: " + suspectNote).utf8))
            return home
        }
        if trusted.count < record.threshold, offered.count <= record.threshold {
            let missing = record.threshold - trusted.count
            throw AdminError(
                .input,
                suspectNote + "\(missing) more share\(missing == 1 ? " is" : "s are") needed: "
                    + "the key needs \(record.threshold) of its \(record.shares) shares, and \(trusted.count) usable \(trusted.count == 1 ? "was" : "were") given. Nothing was read or changed."
            )
        }
        return try findBadShares(in: offered)
    }

    private func read(_ paths: [String]) throws -> [Offered] {
        var offered: [Offered] = []
        for path in paths {
            let share: SecretShare
            do { share = try ShareFile.read(path: path) } catch {
                throw AdminError(.input, "share \(path): \(error)")
            }
            if let twin = offered.first(where: { $0.share.x == share.x }) {
                throw AdminError(.input, "\(twin.path) and \(path) are both share number \(share.x); give each keeper's share once")
            }
            offered.append(Offered(path: path, share: share))
        }
        return offered
    }

    /// Combines the shares into a fresh home (a failed import must not leave a damaged key behind
    /// for the next try) and proves the result: the recorded fingerprint, and a test message
    /// encrypted to the public key decrypts, since a damaged secret part still imports.
    private func rebuild(from shares: [Offered]) throws -> TemporaryKeyHome? {
        guard let secret = try? ShamirSharing.combine(shares.map(\.share)) else { return nil }
        let home = try TemporaryKeyHome(in: temporaryBase)
        let probe = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        let proven =
            (try? home.openPGP.importKeys(secret)) != nil
            && (try? home.openPGP.secretKeyFingerprints().contains(record.fingerprint)) == true
            && (try? home.openPGP.decrypt(home.openPGP.encrypt(probe, to: record.fingerprint))) == probe
        guard proven else {
            home.wipe()
            return nil
        }
        return home
    }

    /// The shares rebuilt no key: some are bad. Leaving out one share at a time (then two, ...)
    /// finds a set that rebuilds the key; the shares it left out are named, and the key is used,
    /// since its fingerprint proves it is the right one.
    private func findBadShares(in offered: [Offered]) throws -> TemporaryKeyHome {
        let failed = "the shares do not rebuild the secret-keeping key \(record.fingerprint): "
        guard offered.count > record.threshold else {
            throw AdminError(
                .input,
                failed + "one of them is damaged or belongs to another key. "
                    + "Give one more share than the threshold (\(record.threshold)) and the bad one is named. Nothing was read or changed.")
        }
        var attempts = 0
        search: for size in stride(from: offered.count - 1, through: record.threshold, by: -1) {
            for subset in Self.subsets(of: offered.count, size: size) {
                attempts += 1
                guard attempts <= Self.maxAttempts else { break search }
                guard let home = try rebuild(from: subset.map { offered[$0] }) else { continue }
                let bad = offered.indices.filter { !subset.contains($0) }.map { offered[$0] }
                let names = bad.map { "share \($0.path) (number \($0.share.x)) is damaged or belongs to another key\n" }
                FileHandle.standardError.write(Data(names.map { "warning: " + $0 }.joined().utf8))
                return home
            }
        }
        let tried = attempts > Self.maxAttempts ? "none of the first \(Self.maxAttempts) sets of them tried does" : "no \(record.threshold) of them do"
        throw AdminError(.input, failed + tried + ". Are they this key's shares? Nothing was read or changed.")
    }

    /// The index sets of the given size, in lexicographic order.
    static func subsets(of count: Int, size: Int) -> some Sequence<[Int]> {
        var current: [Int]? = size <= count ? Array(0..<size) : nil
        return AnySequence {
            AnyIterator {
                guard let result = current else { return nil }
                var next = result
                var position = size - 1
                while position >= 0 && next[position] == count - size + position { position -= 1 }
                if position < 0 {
                    current = nil
                } else {
                    next[position] += 1
                    for later in (position + 1)..<size { next[later] = next[later - 1] + 1 }
                    current = next
                }
                return result
            }
        }
    }
}
