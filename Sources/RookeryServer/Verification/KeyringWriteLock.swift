import Foundation
import RookeryCore

/// Turns for writing the device keyring, across every process on the install root: server
/// processes sharing it and the admin commands beside them.
///
/// gpg writes a keyring without waiting for other processes: two imports at once can keep only
/// one of the two keys, and a check reading the keyring meanwhile can find no key or no signature.
/// So every write holds this lock, and so does the second try of a check that failed without
/// gpg's verdict: it then reads a keyring nobody is writing. The first try of every check runs
/// without it, so a busy server's checks never queue behind one another.
struct KeyringWriteLock: Sendable {
    let path: String

    init(keyring homeDirectory: String) {
        path = homeDirectory + "/rookery-write.lock"
    }

    func withLock<Result>(_ body: () throws -> Result) throws -> Result {
        let lock = try FileLock(path: path)
        defer { lock.release() }
        return try body()
    }
}
