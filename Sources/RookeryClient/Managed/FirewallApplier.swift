import Crypto
import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// Loads the firewall rule set the server rendered for this device into nftables, as the one
/// table `inet rookery`, and tells whether that table is still as it was loaded.
///
/// Every load is one `nft -f FILE` whose file first makes sure the table exists, deletes it and
/// then declares the new one. nft applies a file as a single transaction, so the kernel switches
/// from the old table to the new one at once, and when anything in the file is wrong it keeps the
/// old table whole. No other table is ever named.
///
/// State (all 0600 in `stateDirectory`, 0700): `last-good.nft`, the text of the last rule set that
/// loaded and listed; `live.nft`, what `nft --stateless list table inet rookery` printed right after
/// (stateless, so packet counters do not count as drift); `load.nft`, the last file given to nft.
public struct FirewallApplier: Sendable {
    /// The nft binary (/usr/sbin/nft on a device).
    public let nft: String
    public let stateDirectory: String
    /// How long one run of nft may take before it is killed.
    public let timeout: TimeInterval

    public init(nft: String, stateDirectory: String, timeout: TimeInterval = 30) {
        self.nft = nft
        self.stateDirectory = stateDirectory
        self.timeout = timeout
    }

    /// The device's own applier: its settings' nft, its state under var/client/firewall.
    init(context: ClientContext) {
        self.init(nft: context.settings.nftPath, stateDirectory: context.root.clientState + "/firewall")
    }

    var lastGoodPath: String { stateDirectory + "/last-good.nft" }
    var livePath: String { stateDirectory + "/live.nft" }
    var loadPath: String { stateDirectory + "/load.nft" }

    /// Error messages from nft can be long (it repeats the offending line); the report keeps this much.
    static let maxReasonLength = 2000

    /// Applies `ruleset` from raw bytes: refused unless they are UTF-8.
    public func apply(_ ruleset: Data) -> FirewallOutcome {
        guard let text = FirewallRuleset.text(of: ruleset) else { return .refused("the rule set is not UTF-8 text") }
        return apply(text)
    }

    /// Makes `ruleset` (the whole text of `table inet rookery { ... }`) the device's table.
    ///
    /// Refused without running nft when the text is not acceptable (see `FirewallRuleset`);
    /// unchanged without running nft when it is the rule set last applied. A rule set that nft
    /// will not load leaves the old table in force. One that loads but is then not listed is
    /// replaced by the last good one again (or removed, when there was none).
    public func apply(_ ruleset: String) -> FirewallOutcome {
        if let problem = FirewallRuleset.problem(ruleset) { return .refused(problem) }
        let lastGood = readText(lastGoodPath)
        if ruleset == lastGood { return .unchanged(sha256: Self.sha256(ruleset)) }
        return load(ruleset, previous: lastGood)
    }

    /// Loads the last good rule set again, for a table that drifted or went away (a reboot
    /// empties nftables). Refused when nothing was applied yet.
    public func restore() -> FirewallOutcome {
        guard let lastGood = readText(lastGoodPath) else { return .refused("no rule set has been applied on this device") }
        return load(lastGood, previous: lastGood)
    }

    /// Deletes the table and forgets it, for a device whose firewall the server no longer
    /// manages. nft is not run when Rookery never applied a rule set here.
    public func remove() -> FirewallOutcome {
        guard readText(lastGoodPath) != nil else { return .removed }
        switch runLoad(nil) {
        case .succeeded:
            // last-good.nft goes last: while it remains, the next call deletes the table again.
            for path in [livePath, lastGoodPath] {
                guard unlink(path) == 0 || errno == ENOENT else {
                    return .failed(Self.shorten("the table is deleted, but \(AtomicFile.posixError("remove \(path)"))"), rolledBack: false)
                }
            }
            return .removed
        case .timedOut:
            // Killed after handing the transaction to the kernel, or before: nobody can tell.
            return .failed("nft did not finish deleting the table within \(Int(timeout)) s", rolledBack: false)
        case let failure:
            return .failed(Self.shorten("nft did not delete the table: \(describe(failure))"), rolledBack: true)
        }
    }

    /// Whether the table in the kernel is still the one Rookery loaded.
    public func liveState() -> FirewallLiveState {
        guard readText(lastGoodPath) != nil else { return .notManaged }
        guard let saved = readText(livePath) else { return .unknown("\(livePath) cannot be read") }
        switch list() {
        case .succeeded(let listing):
            return listing == saved ? .matches : .drifted("table \(FirewallRuleset.qualifiedName) differs from the one Rookery loaded")
        case .failed(_, let message) where Self.saysTableIsMissing(message):
            return .drifted("table \(FirewallRuleset.qualifiedName) is gone")
        case let failure:
            return .unknown(Self.shorten(describe(failure)))
        }
    }

    // MARK: - Loading

    /// Loads `ruleset`, checks the table is listed, and keeps it as the last good set; on a failed
    /// check, loads `previous` again.
    private func load(_ ruleset: String, previous: String?) -> FirewallOutcome {
        do {
            try makeStateDirectory()
        } catch {
            return .failed(Self.shorten("\(error)"), rolledBack: true)
        }
        switch runLoad(ruleset) {
        case .succeeded:
            break
        case .timedOut:
            // nft may have handed the transaction to the kernel before it was killed: whether the
            // new table is in force is unknown, so the last good one is loaded again.
            let rolledBack = rollBack(to: previous)
            return .failed("nft did not finish loading the rule set within \(Int(timeout)) s", rolledBack: rolledBack)
        case let failure:
            // nft exited with an error (or never started): its transaction did not commit, and the
            // kernel still has the old table.
            return .failed(Self.shorten("nft did not load the rule set: \(describe(failure))"), rolledBack: true)
        }
        let listing: String
        switch list() {
        case .succeeded(let output) where Self.isListingOfTable(output):
            listing = output
        case .succeeded:
            return .failed("nft loaded the rule set but does not list table \(FirewallRuleset.qualifiedName)", rolledBack: rollBack(to: previous))
        case let failure:
            let reason = Self.shorten("nft loaded the rule set but cannot list it: \(describe(failure))")
            return .failed(reason, rolledBack: rollBack(to: previous))
        }
        do {
            // live.nft first: with last-good.nft still the old text, a failure here makes the next
            // update load the new rule set again rather than call it unchanged.
            try AtomicFile.write(Data(listing.utf8), to: livePath)
            try AtomicFile.write(Data(ruleset.utf8), to: lastGoodPath)
        } catch {
            return .failed(Self.shorten("the rule set is loaded, but its state cannot be saved: \(error)"), rolledBack: false)
        }
        return .applied(sha256: Self.sha256(ruleset))
    }

    /// Puts `previous` back (or deletes the table, when there was none) and saves the listing that
    /// follows; true when the table in force is again the one the device had before.
    private func rollBack(to previous: String?) -> Bool {
        guard case .succeeded = runLoad(previous) else { return false }
        switch list() {
        case .succeeded(let listing) where previous != nil && Self.isListingOfTable(listing):
            // The table was made anew; drift is measured against this listing from now on.
            try? AtomicFile.write(Data(listing.utf8), to: livePath)
            return true
        case .failed(_, let message) where previous == nil && Self.saysTableIsMissing(message):
            // Nothing was applied before: no table is the state to return to.
            return true
        default:
            return false
        }
    }

    /// Writes the load file and runs `nft -f` on it. With `ruleset` nil the file only deletes the table.
    private func runLoad(_ ruleset: String?) -> NftCommand.Result {
        do {
            try makeStateDirectory()
            try AtomicFile.write(Data(Self.loadFile(ruleset).utf8), to: loadPath)
        } catch {
            return .notStarted("\(error)")
        }
        return NftCommand(executable: nft, timeout: timeout).run(["-f", loadPath])
    }

    private func list() -> NftCommand.Result {
        NftCommand(executable: nft, timeout: timeout).run(["--stateless", "list", "table", FirewallRuleset.family, FirewallRuleset.name])
    }

    /// The file nft loads. Declaring the table first makes the delete succeed when there is no
    /// table yet; both steps and the new table are one transaction.
    static func loadFile(_ ruleset: String?) -> String {
        var text = """
            # Written by the Rookery client: replaces table \(FirewallRuleset.qualifiedName) in one nft transaction.
            table \(FirewallRuleset.qualifiedName) {}
            delete table \(FirewallRuleset.qualifiedName)

            """
        if let ruleset {
            text += ruleset.hasSuffix("\n") ? ruleset : ruleset + "\n"
        }
        return text
    }

    /// Whether nft's error is ENOENT in its words: the table does not exist.
    static func saysTableIsMissing(_ message: String) -> Bool {
        message.contains("No such file or directory")
    }

    /// nft's listing of the table starts with its declaration.
    static func isListingOfTable(_ listing: String) -> Bool {
        let firstLine = listing.split(separator: "\n").first { !$0.trimmingWhitespace().isEmpty }
        return firstLine.map { $0.trimmingWhitespace() } == "table \(FirewallRuleset.qualifiedName) {"
    }

    // MARK: - Helpers

    private func describe(_ result: NftCommand.Result) -> String {
        switch result {
        case .succeeded: return "nft succeeded"
        case .failed(let status, let message): return "nft exited with status \(status)" + (message.isEmpty ? "" : ": \(message)")
        case .timedOut: return "nft did not answer within \(Int(timeout)) s"
        case .notStarted(let reason): return "nft cannot be run: \(reason)"
        }
    }

    private func readText(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The state directory, 0700: it holds what the device's firewall is.
    private func makeStateDirectory() throws {
        var info = stat()
        if lstat(stateDirectory, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw DamagedFile(stateDirectory, "it is not a directory") }
            return
        }
        try FileManager.default.createDirectory(atPath: PathText.parent(stateDirectory), withIntermediateDirectories: true)
        guard mkdir(stateDirectory, 0o700) == 0 || errno == EEXIST else { throw AtomicFile.posixError("make \(stateDirectory)") }
        // mkdir's mode is reduced by the umask; this one is exact.
        guard chmod(stateDirectory, 0o700) == 0 else { throw AtomicFile.posixError("chmod \(stateDirectory)") }
    }

    static func sha256(_ text: String) -> String {
        Hex.string(SHA256.hash(data: Data(text.utf8)))
    }

    static func shorten(_ reason: String) -> String {
        reason.count <= maxReasonLength ? reason : String(reason.prefix(maxReasonLength)) + "…"
    }
}
