import Crypto
import FoundationEssentials
import RookeryCore
import RookeryPlugins

/// Writes the authorized_keys files the server rendered for this device's accounts, and empties
/// the file of an account the server stops listing: a person removed from a group loses access
/// everywhere at the next update.
///
/// Accounts are looked up in the passwd file under `systemRoot` ("/" on a device, a sandbox in
/// tests). An account Rookery never wrote for is never touched. Each file is checked whole before
/// anything is written (`AuthorizedKeysContent`), written atomically with no symlink followed
/// (`AuthorizedKeysFile`), and starts with a line saying Rookery manages it.
public struct AuthorizedKeysWriter: Sendable {
    public let systemRoot: SystemRoot
    /// Where the list of managed accounts is kept (`managed-accounts.json`), such as
    /// var/client/authorized-keys.
    public let stateDirectory: String

    public init(systemRoot: SystemRoot, stateDirectory: String) {
        self.systemRoot = systemRoot
        self.stateDirectory = stateDirectory
    }

    /// Makes each account's authorized_keys hold the content in `files` (account name to the
    /// complete file the server rendered), and empties and forgets every account managed before
    /// that `files` no longer lists. The answer has one outcome per account it concerned.
    public func apply(_ files: [String: String]) -> [String: AuthorizedKeysOutcome] {
        let store = ManagedAccounts(stateDirectory: stateDirectory)
        // A damaged list reads as empty: the accounts listed now are still written (a key taken
        // out of a listed account is the common removal) and the list starts over from them.
        let remembered = (try? store.load()) ?? []
        let passwd = PasswdFile.read(systemRoot)
        var outcomes: [String: AuthorizedKeysOutcome] = [:]
        var managed = remembered

        for (name, content) in files.sorted(by: { $0.key < $1.key }) {
            let outcome = write(content, for: name, passwd: passwd)
            outcomes[name] = outcome
            switch outcome {
            case .written, .unchanged: managed.insert(name)
            default: break
            }
        }

        for name in remembered.subtracting(files.keys).sorted() {
            switch write("", for: name, passwd: passwd) {
            case .written(let sha256), .unchanged(let sha256):
                outcomes[name] = .emptied(sha256: sha256)
                managed.remove(name)
            case .refused(let reason) where Self.isGone(name, passwd: passwd):
                // No such account any more (or a name that never was one): nothing can log in
                // with it, and nothing is left to empty.
                outcomes[name] = .refused(reason + "; Rookery no longer manages it")
                managed.remove(name)
            case let other:
                // Kept: the next update tries to empty it again.
                outcomes[name] = other
            }
        }

        guard managed != remembered else { return outcomes }
        do {
            try store.save(managed)
        } catch {
            // An account written but not remembered would keep its keys when the server drops it.
            for name in managed.subtracting(remembered) {
                outcomes[name] = .failed("the file is written, but \(store.path) cannot be saved: \(error)")
            }
        }
        return outcomes
    }

    /// Checks and writes one account's file (empty `content`: only the managed-by line).
    private func write(_ content: String, for name: String, passwd: [PasswdEntry]?) -> AuthorizedKeysOutcome {
        if let problem = Self.nameProblem(name) { return .refused(problem) }
        if let problem = AuthorizedKeysContent.problem(content) { return .refused(problem) }
        guard let passwd else { return .failed("\(systemRoot.resolve("/etc/passwd")) cannot be read") }
        guard let entry = passwd.first(where: { $0.name == name }) else { return .refused("no account \(name) in /etc/passwd") }
        guard let uid = UInt32(exactly: entry.uid), let gid = entry.gid.flatMap({ UInt32(exactly: $0) }) else {
            return .refused("the uid or gid of \(name) is not a valid number")
        }
        guard entry.home.hasPrefix("/"), !entry.home.split(separator: "/").contains("..") else {
            return .refused("the home directory of \(name), \(entry.home), is not an absolute path without ..")
        }
        let rendered = Data(AuthorizedKeysContent.rendered(content).utf8)
        let sha256 = Hex.string(SHA256.hash(data: rendered))
        let file = AuthorizedKeysFile(home: systemRoot.resolve(entry.home), uid: uid, gid: gid)
        do {
            switch try file.write(rendered) {
            case .written: return .written(sha256: sha256)
            case .unchanged: return .unchanged(sha256: sha256)
            }
        } catch {
            switch error {
            case .refused(let reason): return .refused(reason)
            case .failed(let reason): return .failed(reason)
            }
        }
    }

    /// Whether `name` cannot be an account of this device: not a valid name, or not in a passwd
    /// file that could be read.
    private static func isGone(_ name: String, passwd: [PasswdEntry]?) -> Bool {
        guard nameProblem(name) == nil else { return true }
        guard let passwd else { return false }
        return !passwd.contains { $0.name == name }
    }

    /// Why `name` is not an account name Rookery manages (`ManagedAccountName`); nil when it is.
    static func nameProblem(_ name: String) -> String? {
        ManagedAccountName.isValid(name) ? nil : "\(String(name.prefix(40)).debugDescription) is not a valid account name"
    }
}
