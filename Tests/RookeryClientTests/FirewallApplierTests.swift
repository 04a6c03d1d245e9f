import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

#if canImport(Glibc)
import Glibc
#endif

/// `FirewallApplier` against a stand-in nft: a shell script that logs every call (arguments, and
/// the file given to -f), keeps the text a load file declares after its `delete table` line as
/// "the kernel's table", and lists that. Marker files in the sandbox make it fail.
@Suite struct FirewallApplierTests {
    let sandbox: Sandbox
    /// The stand-in's own directory: its log, its "kernel" table, its markers.
    let nftDirectory: String
    let nft: String
    let stateDirectory: String

    init() throws {
        sandbox = try Sandbox()
        nftDirectory = try sandbox.directory("nft")
        nft = nftDirectory + "/nft"
        stateDirectory = sandbox.path + "/root/var/client/firewall"
        try sandbox.write(Self.standIn(directory: nftDirectory), to: "nft/nft", mode: 0o755)
    }

    static let goodSet = """
        table inet rookery {
            chain input {
                type filter hook input priority 0; policy drop;
                ct state established,related accept
                iif "lo" accept
                tcp dport 22 accept comment "ssh: include, table ip filter, flush ruleset"
            }
        }

        """

    static let otherGoodSet = """
        table inet rookery {
            # Web servers also take 443.
            chain input {
                type filter hook input priority 0; policy drop;
                tcp dport { 22, 443 } accept
            }
        }

        """

    // MARK: - Loading

    @Test func goodSetIsLoadedByOneFileThatReplacesOnlyTheRookeryTable() throws {
        let outcome = applier().apply(Self.goodSet)

        #expect(outcome == .applied(sha256: sha256(Self.goodSet)))
        let calls = try calls()
        #expect(calls.map(\.arguments) == [["-f", stateDirectory + "/load.nft"], ["--stateless", "list", "table", "inet", "rookery"]])
        let loadFile = try #require(calls.first?.file)
        #expect(
            loadFile == """
                # Written by the Rookery client: replaces table inet rookery in one nft transaction.
                table inet rookery {}
                delete table inet rookery

                """ + Self.goodSet)
        // Every table the file names is the device's own; nothing flushes the whole rule set.
        let tableLines = loadFile.split(separator: "\n").filter { $0.contains("table") && !$0.contains("comment") && !$0.hasPrefix("#") }
        #expect(tableLines == ["table inet rookery {}", "delete table inet rookery", "table inet rookery {"])

        #expect(contents(stateDirectory + "/last-good.nft") == Self.goodSet)
        #expect(contents(stateDirectory + "/live.nft") == kernelTable())
        #expect(kernelTable() == Self.goodSet)
        #expect(mode(stateDirectory) == 0o700)
        #expect(mode(stateDirectory + "/last-good.nft") == 0o600)
        #expect(mode(stateDirectory + "/live.nft") == 0o600)
    }

    @Test func aSetWithoutAFinalLineEndIsLoadedWhole() throws {
        let set = "table inet rookery {\n    chain c {\n    }\n}"
        #expect(applier().apply(set) == .applied(sha256: sha256(set)))
        #expect(kernelTable() == set + "\n")
        #expect(contents(stateDirectory + "/last-good.nft") == set)
    }

    @Test(arguments: [
        ("another table", Self.goodSet + "table ip filter {\n}\n"),
        ("another table first", "table ip filter {\n}\n" + Self.goodSet),
        ("a table of another family", "table ip rookery {\n}\n"),
        ("a table of another name", "table inet filter {\n}\n"),
        ("a netdev table", "table netdev rookery {\n}\n"),
        ("include", "include \"/etc/nftables.conf\"\n" + Self.goodSet),
        ("include inside", "table inet rookery {\n    include \"/etc/shadow\"\n}\n"),
        ("include without a space", "table inet rookery {\ninclude\"/etc/x\"\n}\n"),
        ("flush ruleset", "flush ruleset\n" + Self.goodSet),
        ("flush ruleset after", Self.goodSet + "flush ruleset\n"),
        ("list ruleset after the table", "table inet rookery {\n    chain c { }\n}\nlist ruleset\n"),
        ("ruleset inside", "table inet rookery {\n    chain c { ruleset }\n}\n"),
        ("delete another table", "delete table ip filter\n" + Self.goodSet),
        ("delete inside", "table inet rookery {\n    chain c { delete @s { ip saddr } }\n}\n"),
        ("define", "define ports = { 22 }\n" + Self.goodSet),
        ("define inside", "table inet rookery {\n    define x = 1\n}\n"),
        ("a table inside the table", "table inet rookery {\n    table ip filter { }\n}\n"),
        ("a table word hidden after the table", "table inet rookery {\n}\n;table ip filter {}\n"),
        ("a brace closing the table early", "table inet rookery {\n}\n}\ntable ip filter {\n"),
        ("unbalanced braces", "table inet rookery {\n    chain c {\n}\n"),
        ("a stray closing brace", "table inet rookery {\n}\n}\n"),
        ("a second block after the table", "table inet rookery {\n}\n{\n}\n"),
        ("a quoted string hiding a brace past a line end", "table inet rookery {\n  comment \"x\n}\ntable ip filter { \"\n}\n"),
        ("an unterminated string", "table inet rookery {\n  comment \"x }\n"),
        ("no table", "chain input { }\n"),
        ("a table without a name", "table inet {\n}\n"),
        ("a bare block", "{\n}\n"),
        ("a word between the name and the brace", "table inet rookery extra {\n}\n"),
        ("punctuation before the table", ";table inet rookery {\n}\n"),
        ("punctuation after the table", "table inet rookery {\n}\n;\n"),
        ("a quoted string outside the table", "table inet rookery {\n}\n\"/etc/shadow\"\n"),
        ("nothing", ""),
        ("only comments", "# table inet rookery {\n# }\n"),
        ("upper case", "TABLE inet rookery {\n}\n"),
        ("upper case keyword inside", "table inet rookery {\n    Include \"/etc/x\"\n}\n"),
        ("a NUL", "table inet rookery {\n\u{0}}\n"),
        ("a carriage return", "table inet rookery {\r\n}\r\n"),
        ("non-ASCII outside strings", "table inet rookery {\n    chain c\u{00A0}{ }\n}\n"),
        ("a single quote", "table inet rookery {\n    comment 'x'\n}\n"),
        ("a command after the table", Self.goodSet + "add rule ip filter input drop\n")
    ])
    func refusedSetNeverRunsNft(_ what: String, _ text: String) throws {
        let outcome = applier().apply(text)
        guard case .refused(let reason) = outcome else {
            Issue.record("\(what): \(outcome)")
            return
        }
        #expect(!reason.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: nftDirectory + "/log"), "\(what)")
        #expect(!FileManager.default.fileExists(atPath: stateDirectory + "/last-good.nft"), "\(what)")
    }

    @Test func aSetOverTheSizeLimitIsRefused() throws {
        // "table inet rookery {\n" + comment + "\n}\n": 24 bytes around the comment.
        let fits = "table inet rookery {\n" + String(repeating: "#", count: FirewallRuleset.maxBytes - 24) + "\n}\n"
        #expect(fits.utf8.count == FirewallRuleset.maxBytes)
        #expect(FirewallRuleset.problem(fits) == nil)

        let tooBig = "table inet rookery {\n" + String(repeating: "#", count: FirewallRuleset.maxBytes - 23) + "\n}\n"
        guard case .refused(let reason) = applier().apply(tooBig) else {
            Issue.record("a set of \(tooBig.utf8.count) bytes was not refused")
            return
        }
        #expect(reason.contains("\(FirewallRuleset.maxBytes + 1) bytes, over the limit"))
        #expect(!FileManager.default.fileExists(atPath: nftDirectory + "/log"))
    }

    @Test func bytesThatAreNotUTF8AreRefused() throws {
        var bytes = Data(Self.goodSet.utf8)
        bytes.insert(contentsOf: [0xC3, 0x28], at: bytes.count - 3)  // a lead byte without its continuation
        #expect(applier().apply(bytes) == .refused("the rule set is not UTF-8 text"))
        #expect(!FileManager.default.fileExists(atPath: nftDirectory + "/log"))

        // The same bytes without the damage load.
        #expect(applier().apply(Data(Self.goodSet.utf8)) == .applied(sha256: sha256(Self.goodSet)))
    }

    @Test(arguments: [
        "table inet rookery {}",
        "table inet rookery {\n}\n# table ip filter { flush ruleset; include \"x\" }\n",
        "table inet rookery { chain c { comment \"{ table ip filter } include ruleset # \" } }",
        "table inet rookery {\n    set blocked { type ipv4_addr; flags interval; elements = { 10.0.0.0/8 } }\n"
            + "    chain input { type filter hook input priority 0; policy accept; ip saddr @blocked reject with tcp reset }\n}\n",
        "# comment: caf\u{00E9}\ntable inet rookery {\n    chain c { comment \"caf\u{00E9}\" }\n}\n"
    ])
    func setsThatOnlyTouchTheTableAreAccepted(_ text: String) {
        #expect(FirewallRuleset.problem(text) == nil)
    }

    @Test func aSetNftWillNotLoadLeavesTheLastGoodOneInForce() throws {
        #expect(applier().apply(Self.goodSet) == .applied(sha256: sha256(Self.goodSet)))
        try sandbox.write("", to: "nft/fail")

        let outcome = applier().apply(Self.otherGoodSet)

        guard case .failed(let reason, rolledBack: true) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(reason.contains("stand-in told to fail"))
        #expect(kernelTable() == Self.goodSet)
        #expect(contents(stateDirectory + "/last-good.nft") == Self.goodSet)
        // One load was tried; no listing, no second load.
        #expect(try calls().map(\.arguments.first).suffix(2) == ["--stateless", "-f"])
        // With nft working again, the same set is not "unchanged": it was never applied.
        try FileManager.default.removeItem(atPath: nftDirectory + "/fail")
        #expect(applier().apply(Self.otherGoodSet) == .applied(sha256: sha256(Self.otherGoodSet)))
    }

    @Test func aLoadWhoseTableIsNotListedIsRolledBackToTheLastGoodSet() throws {
        #expect(applier().apply(Self.goodSet) == .applied(sha256: sha256(Self.goodSet)))
        let liveBefore = contents(stateDirectory + "/live.nft")
        try sandbox.write("", to: "nft/fail-list-once")

        let outcome = applier().apply(Self.otherGoodSet)

        guard case .failed(let reason, rolledBack: true) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(reason.contains("cannot list"))
        let loads = try calls().compactMap(\.file)
        #expect(loads.count == 3)
        #expect(loads.dropFirst().first?.hasSuffix(Self.otherGoodSet) == true)
        // The second load of this apply is the last good set again.
        #expect(loads.last?.hasSuffix(Self.goodSet) == true)
        #expect(kernelTable() == Self.goodSet)
        #expect(contents(stateDirectory + "/last-good.nft") == Self.goodSet)
        #expect(contents(stateDirectory + "/live.nft") == liveBefore)
        #expect(applier().liveState() == .matches)
    }

    @Test func aLoadListedAsSomethingElseIsRolledBack() throws {
        #expect(applier().apply(Self.goodSet) == .applied(sha256: sha256(Self.goodSet)))
        // The stand-in lists this instead of the table: nft answered, but not with the table.
        try sandbox.write("table ip filter {\n}\n", to: "nft/listing-once")

        guard case .failed(let reason, rolledBack: true) = applier().apply(Self.otherGoodSet) else {
            Issue.record("the wrong listing was accepted")
            return
        }
        #expect(reason.contains("does not list table inet rookery"))
        #expect(try calls().compactMap(\.file).last?.hasSuffix(Self.goodSet) == true)
        #expect(contents(stateDirectory + "/last-good.nft") == Self.goodSet)
    }

    @Test func aFirstLoadThatIsNotListedDeletesTheTableAgain() throws {
        try sandbox.write("", to: "nft/fail-list-once")

        let outcome = applier().apply(Self.goodSet)

        #expect(outcome.isFailed(rolledBack: true))
        let loads = try calls().compactMap(\.file)
        #expect(loads.count == 2)
        #expect(loads.last == FirewallApplier.loadFile(nil))
        #expect(kernelTable() == nil)
        #expect(applier().liveState() == .notManaged)
    }

    @Test func aRollbackThatFailsToo() throws {
        #expect(applier().apply(Self.goodSet) == .applied(sha256: sha256(Self.goodSet)))
        // Every listing fails from now on, the rollback's check too.
        try sandbox.write("", to: "nft/fail-list")
        #expect(applier().apply(Self.otherGoodSet).isFailed(rolledBack: false))
        #expect(contents(stateDirectory + "/last-good.nft") == Self.goodSet)
    }

    @Test func aLoadThatHangsIsKilledAndTheLastGoodSetLoadedAgain() throws {
        #expect(applier().apply(Self.goodSet) == .applied(sha256: sha256(Self.goodSet)))
        let hanging = "table inet rookery {\n    # HANG\n}\n"
        let started = Date()

        let outcome = applier(timeout: 1).apply(hanging)

        #expect(Date().timeIntervalSince(started) < 10)
        guard case .failed(let reason, rolledBack: true) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(reason.contains("did not finish"))
        #expect(try calls().compactMap(\.file).last?.hasSuffix(Self.goodSet) == true)
        #expect(kernelTable() == Self.goodSet)
        #expect(contents(stateDirectory + "/last-good.nft") == Self.goodSet)
    }

    @Test func theSameSetAgainIsUnchangedAndRunsNothing() throws {
        #expect(applier().apply(Self.goodSet) == .applied(sha256: sha256(Self.goodSet)))
        let callsBefore = try calls().count

        #expect(applier().apply(Self.goodSet) == .unchanged(sha256: sha256(Self.goodSet)))
        #expect(try calls().count == callsBefore)
        // One character more is a change.
        #expect(applier().apply(Self.goodSet + "\n") == .applied(sha256: sha256(Self.goodSet + "\n")))
        #expect(try calls().count == callsBefore + 2)
    }

    @Test func nftThatCannotBeRunFailsWithTheOldTableInForce() throws {
        let missing = FirewallApplier(nft: sandbox.path + "/no/such/nft", stateDirectory: stateDirectory, timeout: 5)
        guard case .failed(let reason, rolledBack: true) = missing.apply(Self.goodSet) else {
            Issue.record("a missing nft did not fail")
            return
        }
        #expect(reason.contains("cannot be run"))
        #expect(!FileManager.default.fileExists(atPath: stateDirectory + "/last-good.nft"))
    }

    // MARK: - Live state

    @Test func liveStateSaysWhetherTheTableIsStillAsLoaded() throws {
        #expect(applier().liveState() == .notManaged)
        #expect(!FileManager.default.fileExists(atPath: nftDirectory + "/log"))

        _ = applier().apply(Self.goodSet)
        #expect(applier().liveState() == .matches)

        // Someone adds a rule behind Rookery's back.
        try sandbox.write(Self.goodSet + "# added by hand\n", to: "nft/loaded")
        #expect(applier().liveState() == .drifted("table inet rookery differs from the one Rookery loaded"))

        // A reboot, or `nft flush ruleset`: the table is gone.
        try FileManager.default.removeItem(atPath: nftDirectory + "/loaded")
        #expect(applier().liveState() == .drifted("table inet rookery is gone"))

        // restore() puts the last good set back.
        #expect(applier().restore() == .applied(sha256: sha256(Self.goodSet)))
        #expect(applier().liveState() == .matches)

        // nft that fails for another reason (not root, no nf_tables): nobody can tell.
        try sandbox.write("", to: "nft/fail")
        guard case .unknown(let reason) = applier().liveState() else {
            Issue.record("a failing nft was not unknown")
            return
        }
        #expect(reason.contains("Operation not permitted"))
        let missing = FirewallApplier(nft: sandbox.path + "/no/such/nft", stateDirectory: stateDirectory, timeout: 5)
        guard case .unknown = missing.liveState() else {
            Issue.record("a missing nft was not unknown")
            return
        }
    }

    @Test func restoreWithNothingAppliedIsRefused() throws {
        guard case .refused = applier().restore() else {
            Issue.record("restore without a last good set was not refused")
            return
        }
        #expect(!FileManager.default.fileExists(atPath: nftDirectory + "/log"))
    }

    @Test func removeDeletesTheTableAndForgetsIt() throws {
        // Never managed: nft is not even run.
        #expect(applier().remove() == .removed)
        #expect(!FileManager.default.fileExists(atPath: nftDirectory + "/log"))

        _ = applier().apply(Self.goodSet)
        #expect(applier().remove() == .removed)
        #expect(try calls().compactMap(\.file).last == FirewallApplier.loadFile(nil))
        #expect(kernelTable() == nil)
        #expect(applier().liveState() == .notManaged)
        // The same set again is a change once more.
        #expect(applier().apply(Self.goodSet) == .applied(sha256: sha256(Self.goodSet)))
    }

    @Test func removeThatNftRefusesKeepsTheState() throws {
        _ = applier().apply(Self.goodSet)
        try sandbox.write("", to: "nft/fail")
        #expect(applier().remove().isFailed(rolledBack: true))
        #expect(contents(stateDirectory + "/last-good.nft") == Self.goodSet)
    }

    @Test func aRemovalThatHangsKeepsTheStateAndSaysNothingIsKnown() throws {
        _ = applier().apply(Self.goodSet)
        try sandbox.write("", to: "nft/hang")
        // Killed nft may or may not have deleted the table: not "rolled back".
        #expect(applier(timeout: 1).remove().isFailed(rolledBack: false))
        #expect(contents(stateDirectory + "/last-good.nft") == Self.goodSet)
    }

    @Test func reportValues() {
        #expect(FirewallOutcome.applied(sha256: "ab").reportValue == .object(["status": .string("applied"), "sha256": .string("ab")]))
        #expect(FirewallOutcome.unchanged(sha256: "ab").reportValue == .object(["status": .string("unchanged"), "sha256": .string("ab")]))
        #expect(FirewallOutcome.removed.reportValue == .object(["status": .string("removed")]))
        #expect(FirewallOutcome.refused("no").reportValue == .object(["status": .string("refused"), "reason": .string("no")]))
        #expect(
            FirewallOutcome.failed("x", rolledBack: true).reportValue
                == .object(["status": .string("failed"), "reason": .string("x"), "rolled_back": .bool(true)]))
        #expect(FirewallLiveState.matches.reportValue == .object(["state": .string("matches")]))
        #expect(FirewallLiveState.drifted("d").reportValue == .object(["state": .string("drifted"), "reason": .string("d")]))
        #expect(FirewallLiveState.notManaged.reportValue == .object(["state": .string("not_managed")]))
        #expect(FirewallLiveState.unknown("u").reportValue == .object(["state": .string("unknown"), "reason": .string("u")]))
    }

    // MARK: - Real nft

    /// The real nft, run in a network namespace this test makes (through a wrapper given to the
    /// applier as its nft), so the host's own nftables are never touched.
    @Test(.enabled(if: NetworkNamespace.canBeMade, "needs root, /usr/sbin/nft (package nftables), unshare and nsenter"))
    func realNftInANamespaceOfItsOwn() throws {
        let namespace = try NetworkNamespace(wrapperPath: sandbox.path + "/nft-in-namespace")
        defer { namespace.end() }
        let applier = FirewallApplier(nft: namespace.wrapper, stateDirectory: stateDirectory, timeout: 20)
        // A table that is not Rookery's: nothing the applier does may touch it.
        #expect(namespace.nft(["add", "table", "ip", "other"]).status == 0)
        #expect(namespace.nft(["add", "chain", "ip", "other", "c"]).status == 0)
        let otherBefore = namespace.nft(["list", "table", "ip", "other"]).output

        #expect(applier.apply(Self.goodSet) == .applied(sha256: sha256(Self.goodSet)))
        #expect(namespace.rookeryTable().contains("tcp dport 22 accept"))
        #expect(applier.liveState() == .matches)

        // nft refuses this (no such service): the transaction does not commit.
        let broken = Self.goodSet.replacingOccurrences(of: "tcp dport 22 accept", with: "tcp dport 22 accept\n        tcp dport bogus accept")
        let outcome = applier.apply(broken)
        guard case .failed(let reason, rolledBack: true) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(reason.contains("bogus"))
        #expect(namespace.rookeryTable().contains("tcp dport 22 accept"))
        #expect(!namespace.rookeryTable().contains("bogus"))
        #expect(applier.liveState() == .matches)

        // A rule added behind the applier's back is drift; restore() takes it away.
        #expect(namespace.nft(["add", "rule", "inet", "rookery", "input", "tcp", "dport", "9", "drop"]).status == 0)
        #expect(applier.liveState() == .drifted("table inet rookery differs from the one Rookery loaded"))
        #expect(applier.restore() == .applied(sha256: sha256(Self.goodSet)))
        #expect(!namespace.rookeryTable().contains("dport 9"))
        #expect(applier.liveState() == .matches)

        // A new set replaces the table whole.
        #expect(applier.apply(Self.otherGoodSet) == .applied(sha256: sha256(Self.otherGoodSet)))
        #expect(namespace.rookeryTable().contains("tcp dport { 22, 443 } accept"))
        #expect(!namespace.rookeryTable().contains("established"))

        // Gone (as after a reboot): drift.
        #expect(namespace.nft(["delete", "table", "inet", "rookery"]).status == 0)
        #expect(applier.liveState() == .drifted("table inet rookery is gone"))

        #expect(applier.restore() == .applied(sha256: sha256(Self.otherGoodSet)))
        #expect(applier.remove() == .removed)
        #expect(namespace.nft(["list", "tables"]).output == "table ip other\n")
        #expect(namespace.nft(["list", "table", "ip", "other"]).output == otherBefore)
    }

    // MARK: - Helpers

    func applier(timeout: TimeInterval = 10) -> FirewallApplier {
        FirewallApplier(nft: nft, stateDirectory: stateDirectory, timeout: timeout)
    }

    /// One call of the stand-in: its arguments, and the content of the file given to -f.
    struct Call {
        let arguments: [String]
        let file: String?
    }

    /// The stand-in's log, parsed.
    func calls() throws -> [Call] {
        guard let log = contents(nftDirectory + "/log") else { return [] }
        var calls: [Call] = []
        for record in log.components(separatedBy: "\u{1E}\n").dropLast() {
            let parts = record.components(separatedBy: "\u{1F}\n")
            let arguments = parts[0].split(separator: "\n").map(String.init)
            calls.append(Call(arguments: arguments, file: parts.count > 1 ? parts[1] : nil))
        }
        return calls
    }

    /// What the stand-in's "kernel" holds for the table; nil when there is no table.
    func kernelTable() -> String? {
        contents(nftDirectory + "/loaded")
    }

    func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    func mode(_ path: String) -> Int? {
        var info = stat()
        return lstat(path, &info) == 0 ? Int(info.st_mode) & 0o777 : nil
    }

    func sha256(_ text: String) -> String {
        FirewallApplier.sha256(text)
    }

    /// The stand-in nft. Log records end with RS and a line end; within one, the arguments come
    /// one per line, then (for -f) US, a line end and the file. A load keeps what follows the
    /// file's `delete table inet rookery` line as the kernel's table (none when that is empty),
    /// and `list` prints it. Markers: `fail` fails every call as nft does without privileges;
    /// `fail-list-once` fails the next listing; `fail-list` every listing; `listing-once` is
    /// printed by the next listing instead of the table. A load sleeps when `hang` exists or the
    /// file holds HANG.
    static func standIn(directory: String) -> String {
        """
        #!/bin/sh
        dir='\(directory)'
        {
            for argument in "$@"; do printf '%s\\n' "$argument"; done
            if [ "$1" = "-f" ]; then printf '\\037\\n'; cat "$2"; fi
            printf '\\036\\n'
        } >> "$dir/log"
        if [ -e "$dir/fail" ]; then
            echo "Error: Could not process rule: Operation not permitted (stand-in told to fail)" >&2
            exit 1
        fi
        if [ "$1" = "-f" ]; then
            if [ -e "$dir/hang" ] || grep -q HANG "$2"; then sleep 30; fi
            sed '1,/^delete table inet rookery$/d' "$2" > "$dir/loading"
            if [ -s "$dir/loading" ]; then mv "$dir/loading" "$dir/loaded"; else rm -f "$dir/loading" "$dir/loaded"; fi
            exit 0
        fi
        if [ "$2" = "list" ]; then
            if [ -e "$dir/fail-list-once" ]; then rm -f "$dir/fail-list-once"; echo "Error: interrupted" >&2; exit 1; fi
            if [ -e "$dir/fail-list" ]; then echo "Error: interrupted" >&2; exit 1; fi
            if [ -e "$dir/listing-once" ]; then cat "$dir/listing-once"; rm -f "$dir/listing-once"; exit 0; fi
            if [ ! -e "$dir/loaded" ]; then
                echo "Error: No such file or directory" >&2
                echo "list table inet rookery" >&2
                exit 1
            fi
            cat "$dir/loaded"
            exit 0
        fi
        echo "stand-in nft: unexpected arguments: $*" >&2
        exit 2
        """
    }
}

extension FirewallOutcome {
    /// Whether this is `.failed` with the given `rolledBack`, whatever the reason.
    func isFailed(rolledBack expected: Bool) -> Bool {
        if case .failed(_, let rolledBack) = self { return rolledBack == expected }
        return false
    }
}

/// A network namespace held open by `unshare --net sleep 600`, and a wrapper script that runs the
/// real nft inside it. The wrapper checks the namespace is still the one made here before every
/// run, so a recycled process id can never point nft at the host's tables.
struct NetworkNamespace {
    static let nft = "/usr/sbin/nft"
    static let unshare = "/usr/bin/unshare"
    static let nsenter = "/usr/bin/nsenter"

    /// Root, the three tools, and a kernel that lets this process make a network namespace.
    static let canBeMade: Bool = {
        guard geteuid() == 0, [nft, unshare, nsenter].allSatisfy(FileManager.default.isExecutableFile(atPath:)) else { return false }
        return run(unshare, ["--net", "/bin/true"]).status == 0
    }()

    let holder: ChildProcess
    /// The script to give `FirewallApplier` as its nft.
    let wrapper: String

    init(wrapperPath: String) throws {
        guard let holder = ChildProcess.spawn(Self.unshare, ["--net", "/bin/sleep", "600"], environment: [:], ownProcessGroup: true) else {
            throw NamespaceError("cannot start unshare")
        }
        self.holder = holder
        // unshare makes the namespace, then becomes sleep: wait until the process is in another one.
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
        var theirs: String?
        for _ in 0..<500 {
            theirs = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holder.pid)/ns/net")
            if let theirs, theirs != own { break }
            usleep(10_000)
        }
        guard let theirs, theirs != own else {
            holder.stop()
            throw NamespaceError("unshare --net did not make a network namespace")
        }
        wrapper = wrapperPath
        let script = """
            #!/bin/sh
            [ "$(readlink /proc/\(holder.pid)/ns/net)" = '\(theirs)' ] || { echo "the test's network namespace is gone" >&2; exit 99; }
            exec \(Self.nsenter) --net=/proc/\(holder.pid)/ns/net \(Self.nft) "$@"
            """
        try AtomicFile.write(Data(script.utf8), to: wrapperPath, mode: 0o755)
    }

    struct NamespaceError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Kills the sleep, and with it the namespace.
    func end() {
        holder.stop()
    }

    /// Runs nft in the namespace.
    func nft(_ arguments: [String]) -> (status: Int32, output: String) {
        Self.run(wrapper, arguments)
    }

    /// `nft list table inet rookery` in the namespace ("" when it fails).
    func rookeryTable() -> String {
        nft(["list", "table", "inet", "rookery"]).output
    }

    static func run(_ path: String, _ arguments: [String]) -> (status: Int32, output: String) {
        guard let child = ChildProcess.spawn(path, arguments, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]) else { return (-1, "") }
        let deadline = Date().addingTimeInterval(20)
        let output = child.readOutput(limit: 1 << 20, until: deadline)
        let termination = child.waitForExit(until: deadline)
        child.stop()
        guard let output, let termination else { return (-1, "") }
        return (termination.status, termination == .exited(0) ? String(decoding: output.stdout, as: UTF8.self) : "")
    }
}
