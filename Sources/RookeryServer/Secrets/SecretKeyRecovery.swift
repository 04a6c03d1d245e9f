import Foundation
import RookeryCore

/// Rebuilds the secret-keeping key from keepers' share files into a temporary home, checking each
/// share first, so that an admin hears which file is damaged or how many more are needed, and
/// nothing is touched until the rebuilt key is the recorded one.
struct SecretKeyRecovery {
    let record: SecretKeepingRecord
    /// Subsets tried when looking for a damaged share among more shares than needed.
    static let maxAttempts = 64

    /// One offered share and the file it came from.
    struct Offered {
        let path: String
        let share: SecretShare
    }

    /// Imports the rebuilt key into `home`; throws an `AdminError` naming what is wrong otherwise.
    func recover(sharePaths: [String], into home: TemporaryKeyHome) throws {
        let offered = try read(sharePaths)
        // A share written by Rookery is checked against the checksum recorded when it was written.
        let damaged = offered.filter { item in
            record.shareChecksums[Int(item.share.x)].map { $0 != item.share.checksum } ?? false
        }
        let usable = offered.filter { item in !damaged.contains { $0.path == item.path } }
        let damageNote = damaged.map { "share \($0.path) (number \($0.share.x)) is damaged: its checksum differs from the one recorded when it was written\n" }.joined()
        guard usable.count >= record.threshold else {
            let missing = record.threshold - usable.count
            throw AdminError(damageNote + "\(missing) more share\(missing == 1 ? " is" : "s are") needed: "
                + "the key needs \(record.threshold) of its \(record.shares) shares, and \(usable.count) usable \(usable.count == 1 ? "was" : "were") given. Nothing was read or changed.")
        }
        if try rebuild(from: usable, into: home) {
            if !damaged.isEmpty { FileHandle.standardError.write(Data(("warning: " + damageNote).utf8)) }
            return
        }
        try findBadShares(in: usable, into: home, damageNote: damageNote)
    }

    private func read(_ paths: [String]) throws -> [Offered] {
        var offered: [Offered] = []
        for path in paths {
            let share: SecretShare
            do { share = try ShareFile.read(path: path) } catch {
                throw AdminError("share \(path): \(error)")
            }
            if let twin = offered.first(where: { $0.share.x == share.x }) {
                throw AdminError("\(twin.path) and \(path) are both share number \(share.x); give each keeper's share once")
            }
            offered.append(Offered(path: path, share: share))
        }
        return offered
    }

    /// Combines the shares and imports the result; true when the recorded key came out.
    private func rebuild(from shares: [Offered], into home: TemporaryKeyHome) throws -> Bool {
        guard let secret = try? ShamirSharing.combine(shares.map(\.share)),
              (try? home.openPGP.importKeys(secret)) != nil else { return false }
        return try home.openPGP.secretKeyFingerprints().contains(record.fingerprint)
    }

    /// More shares than needed rebuilt no key: some are bad. A subset of `threshold` shares that
    /// rebuilds the key names the others that do not fit it.
    private func findBadShares(in usable: [Offered], into home: TemporaryKeyHome, damageNote: String) throws -> Never {
        let unexplained = damageNote + "the shares do not rebuild the secret-keeping key \(record.fingerprint): "
        guard usable.count > record.threshold else {
            throw AdminError(unexplained + "one of them is damaged or belongs to another key. "
                + "Give one more share than the threshold (\(record.threshold)) and the bad one is named. Nothing was read or changed.")
        }
        for (attempt, subset) in Self.subsets(of: usable.count, size: record.threshold).enumerated() {
            guard attempt < Self.maxAttempts else { break }
            let chosen = subset.map { usable[$0] }
            guard try rebuild(from: chosen, into: home) else { continue }
            let bad = usable.indices.filter { !subset.contains($0) }.filter { index in
                // Swap the candidate in for one good share: a good candidate still rebuilds the key.
                let trial = Array(chosen.dropFirst()) + [usable[index]]
                return (try? ShamirSharing.combine(trial.map(\.share))) != (try? ShamirSharing.combine(chosen.map(\.share)))
            }
            throw AdminError(damageNote + bad.map { "share \(usable[$0].path) (number \(usable[$0].share.x)) is damaged or belongs to another key\n" }.joined()
                + "Leave \(bad.count == 1 ? "it" : "them") out and run the command again. Nothing was read or changed.")
        }
        throw AdminError(unexplained + "no \(record.threshold) of them do. Are they this key's shares? Nothing was read or changed.")
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
