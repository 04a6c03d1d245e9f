import Foundation
import RookeryCore
import RookeryPlugins
import RookeryTestSupport
import Testing

@testable import RookeryClient

#if canImport(Glibc)
import Glibc
#endif

/// `AuthorizedKeysWriter` on a sandbox system root with its own /etc/passwd and homes. Files are
/// owned by the accounts' uids (1001, 1002, ...), so the suite needs root, as the client has.
@Suite(.enabled(if: geteuid() == 0, "writing files owned by other accounts needs root"))
struct AuthorizedKeysWriterTests {
    let sandbox: Sandbox
    let root: String
    let stateDirectory: String
    /// Beside the system root: no write may ever reach it.
    let outside: String

    static let passwd = """
        root:x:0:0:root:/root:/bin/bash
        alice:x:1001:1001:Alice:/home/alice:/bin/bash
        bob:x:1002:1002:Bob:/home/bob:/bin/bash
        carol:x:1003:1003:Carol:/home/carol:/bin/bash
        homeless:x:1004:1004::/home/homeless:/bin/sh
        climber:x:1005:1005::/home/../etc:/bin/sh
        relative:x:1006:1006::home/relative:/bin/sh
        nogroup:x:1007:staff::/home/nogroup:/bin/sh

        """

    init() throws {
        sandbox = try Sandbox()
        root = try sandbox.directory("root")
        stateDirectory = root + "/var/client/ssh"
        outside = try sandbox.directory("outside")
        try sandbox.write(Self.passwd, to: "root/etc/passwd")
        for (name, uid) in [("alice", 1001), ("bob", 1002), ("carol", 1003), ("nogroup", 1007)] {
            let home = try sandbox.directory("root/home/\(name)")
            #expect(chown(home, uid_t(uid), gid_t(uid)) == 0)
            #expect(chmod(home, 0o750) == 0)
        }
    }

    // MARK: - Writing

    @Test func writesTheFileWithTheHeaderOwnerAndModes() throws {
        let content = key("alice@laptop") + "\n"

        let outcomes = writer().apply(["alice": content])

        let written = AuthorizedKeysContent.header + "\n" + content
        #expect(outcomes == ["alice": .written(sha256: sha256(written))])
        #expect(contents(keysFile("alice")) == written)
        #expect(status(root + "/home/alice/.ssh") == Status(uid: 1001, gid: 1001, mode: 0o700, type: S_IFDIR))
        #expect(status(keysFile("alice")) == Status(uid: 1001, gid: 1001, mode: 0o600, type: S_IFREG))
        // There was no file before, so there is nothing to keep.
        #expect(!FileManager.default.fileExists(atPath: previousFile("alice")))
        #expect(try entries(root + "/home/alice/.ssh") == ["authorized_keys"])
        #expect(try remembered() == ["alice"])
        #expect(status(stateDirectory)?.mode == 0o700)
        #expect(status(stateDirectory + "/managed-accounts.json")?.mode == 0o600)
    }

    @Test func everyAcceptedKeyTypeAndCommentsAndBlankLinesAreWritten() throws {
        let content = [
            "# The admins group",
            key("a", type: "ssh-ed25519"),
            "",
            key("b c d", type: "ssh-rsa"),
            key("", type: "ecdsa-sha2-nistp256"),
            key("x", type: "ecdsa-sha2-nistp384"),
            key("x", type: "ecdsa-sha2-nistp521"),
            key("yubikey", type: "sk-ssh-ed25519@openssh.com"),
            key("José's key", type: "sk-ecdsa-sha2-nistp256@openssh.com")
        ].joined(separator: "\n")

        let outcome = try #require(writer().apply(["alice": content])["alice"])

        #expect(outcome == .written(sha256: sha256(AuthorizedKeysContent.header + "\n" + content + "\n")))
        #expect(contents(keysFile("alice")) == AuthorizedKeysContent.header + "\n" + content + "\n")
    }

    @Test func aHeaderTheServerAlreadyWroteIsNotRepeated() throws {
        let content = AuthorizedKeysContent.header + "\n" + key("a") + "\n"
        _ = writer().apply(["alice": content])
        #expect(contents(keysFile("alice")) == content)
    }

    @Test func theOldFileIsKeptAsPrevious() throws {
        // The account's own file from before Rookery: its owner's, 0644.
        let own = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwnOwn alice-own\n"
        try writeAsAccount(own, to: keysFile("alice"), uid: 1001, mode: 0o644)
        let ownInode = inode(keysFile("alice"))

        #expect(writer().apply(["alice": key("first")])["alice"]?.isWritten == true)
        #expect(contents(previousFile("alice")) == own)
        #expect(status(previousFile("alice")) == Status(uid: 1001, gid: 1001, mode: 0o600, type: S_IFREG))
        // Replaced by a rename, not rewritten in place.
        #expect(inode(keysFile("alice")) != ownInode)

        let firstManaged = contents(keysFile("alice"))
        #expect(writer().apply(["alice": key("second")])["alice"]?.isWritten == true)
        #expect(contents(previousFile("alice")) == firstManaged)
        #expect(contents(keysFile("alice"))?.contains("second") == true)
        #expect(try entries(root + "/home/alice/.ssh") == ["authorized_keys", "authorized_keys.rookery-previous"])
    }

    @Test func theSameContentAgainIsUnchangedAndNotRewritten() throws {
        let content = key("a") + "\n"
        let first = try #require(writer().apply(["alice": content])["alice"])
        let inodeBefore = inode(keysFile("alice"))

        let second = try #require(writer().apply(["alice": content])["alice"])

        guard case .written(let sha256) = first else {
            Issue.record("\(first)")
            return
        }
        #expect(second == .unchanged(sha256: sha256))
        #expect(inode(keysFile("alice")) == inodeBefore)
        #expect(!FileManager.default.fileExists(atPath: previousFile("alice")))
    }

    @Test func aFileWithTheRightTextButTheWrongModeIsWrittenAgain() throws {
        let content = key("a") + "\n"
        _ = writer().apply(["alice": content])
        #expect(chmod(keysFile("alice"), 0o644) == 0)

        #expect(writer().apply(["alice": content])["alice"]?.isWritten == true)
        #expect(status(keysFile("alice"))?.mode == 0o600)
    }

    // MARK: - Removal

    @Test func anAccountTheServerStopsListingIsEmptiedAndForgotten() throws {
        let alice = key("alice")
        _ = writer().apply(["alice": alice, "bob": key("bob")])
        let bobsKeys = contents(keysFile("bob"))
        #expect(try remembered() == ["alice", "bob"])

        let outcomes = writer().apply(["alice": alice])

        let header = AuthorizedKeysContent.header + "\n"
        #expect(outcomes["bob"] == .emptied(sha256: sha256(header)))
        #expect(outcomes["alice"]?.isUnchanged == true)
        #expect(contents(keysFile("bob")) == header)
        #expect(status(keysFile("bob")) == Status(uid: 1002, gid: 1002, mode: 0o600, type: S_IFREG))
        #expect(contents(previousFile("bob")) == bobsKeys)
        #expect(try remembered() == ["alice"])

        // Forgotten: what bob's owner writes from now on is theirs, and Rookery leaves it alone.
        try writeAsAccount("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobBob bob-own\n", to: keysFile("bob"), uid: 1002, mode: 0o600)
        let bobInode = inode(keysFile("bob"))
        let later = writer().apply(["alice": alice])
        #expect(later == ["alice": .unchanged(sha256: sha256(AuthorizedKeysContent.header + "\n" + alice + "\n"))])
        #expect(contents(keysFile("bob")) == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobBob bob-own\n")
        #expect(inode(keysFile("bob")) == bobInode)
    }

    @Test func anEmptyListEmptiesEveryManagedAccount() throws {
        _ = writer().apply(["alice": key("alice"), "bob": key("bob")])
        let outcomes = writer().apply([:])
        #expect(outcomes.keys.sorted() == ["alice", "bob"])
        #expect(outcomes.values.allSatisfy { $0.isEmptied })
        #expect(try remembered() == [])
    }

    @Test func anAccountThatCannotBeEmptiedIsTriedAgainNextTime() throws {
        _ = writer().apply(["alice": key("alice"), "bob": key("bob")])
        // Bob's .ssh is swapped for a symlink: emptying is refused, and bob stays managed.
        try FileManager.default.moveItem(atPath: root + "/home/bob/.ssh", toPath: outside + "/bob-ssh")
        try FileManager.default.createSymbolicLink(atPath: root + "/home/bob/.ssh", withDestinationPath: outside + "/bob-ssh")

        guard case .refused(let reason) = writer().apply(["alice": key("alice")])["bob"] else {
            Issue.record("emptying through a symlink was not refused")
            return
        }
        #expect(reason.contains("symlink"))
        #expect(try remembered() == ["alice", "bob"])
        #expect(contents(outside + "/bob-ssh/authorized_keys")?.contains("bob") == true)

        // Mended: the next update empties it.
        try FileManager.default.removeItem(atPath: root + "/home/bob/.ssh")
        try FileManager.default.moveItem(atPath: outside + "/bob-ssh", toPath: root + "/home/bob/.ssh")
        #expect(writer().apply(["alice": key("alice")])["bob"]?.isEmptied == true)
        #expect(try remembered() == ["alice"])
    }

    @Test func aManagedAccountThatNoLongerExistsIsForgotten() throws {
        _ = writer().apply(["alice": key("alice"), "bob": key("bob")])
        try sandbox.write(Self.passwd.replacingOccurrences(of: "bob:x:1002:1002:Bob:/home/bob:/bin/bash\n", with: ""), to: "root/etc/passwd")

        guard case .refused(let reason) = writer().apply(["alice": key("alice")])["bob"] else {
            Issue.record("a vanished account was not reported")
            return
        }
        #expect(reason.contains("no account bob"))
        #expect(try remembered() == ["alice"])
    }

    @Test func anUnmanagedAccountIsNeverTouched() throws {
        let carols = "# carol's own\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICarolCarol carol\n"
        try writeAsAccount(carols, to: keysFile("carol"), uid: 1003, mode: 0o644)
        let before = status(keysFile("carol"))
        let inodeBefore = inode(keysFile("carol"))

        _ = writer().apply(["alice": key("alice"), "bob": key("bob")])
        _ = writer().apply(["alice": key("alice2")])
        _ = writer().apply([:])

        #expect(FileManager.default.contents(atPath: keysFile("carol")) == Data(carols.utf8))
        #expect(status(keysFile("carol")) == before)
        #expect(inode(keysFile("carol")) == inodeBefore)
        #expect(try entries(root + "/home/carol/.ssh") == ["authorized_keys"])
    }

    // MARK: - Refusals

    @Test func aSymlinkedSSHDirectoryPointingOutsideIsRefused() throws {
        try sandbox.write("outside\n", to: "outside/authorized_keys")
        try FileManager.default.createSymbolicLink(atPath: root + "/home/alice/.ssh", withDestinationPath: outside)

        guard case .refused(let reason) = writer().apply(["alice": key("alice")])["alice"] else {
            Issue.record("a symlinked .ssh was not refused")
            return
        }
        #expect(reason.contains("symlink"))
        #expect(contents(outside + "/authorized_keys") == "outside\n")
        #expect(try entries(outside) == ["authorized_keys"])
        #expect(status(outside + "/authorized_keys")?.uid == 0)
        #expect(try remembered() == [])
    }

    @Test func aSymlinkedAuthorizedKeysIsRefusedAndItsTargetUntouched() throws {
        try sandbox.write("root:secret\n", to: "outside/shadow")
        _ = try sandbox.directory("root/home/alice/.ssh")
        try FileManager.default.createSymbolicLink(atPath: keysFile("alice"), withDestinationPath: outside + "/shadow")

        guard case .refused(let reason) = writer().apply(["alice": key("alice")])["alice"] else {
            Issue.record("a symlinked authorized_keys was not refused")
            return
        }
        #expect(reason.contains("symlink"))
        #expect(contents(outside + "/shadow") == "root:secret\n")
        #expect(status(outside + "/shadow") == Status(uid: 0, gid: 0, mode: 0o644, type: S_IFREG))
        #expect(try entries(root + "/home/alice/.ssh") == ["authorized_keys"])
    }

    @Test func anSSHThatIsNotADirectoryIsRefused() throws {
        try sandbox.write("not a directory\n", to: "root/home/alice/.ssh")
        guard case .refused(let reason) = writer().apply(["alice": key("alice")])["alice"] else {
            Issue.record("a plain file .ssh was accepted")
            return
        }
        #expect(reason.hasSuffix(".ssh is not a directory"))
        #expect(contents(root + "/home/alice/.ssh") == "not a directory\n")
    }

    @Test func anAuthorizedKeysThatIsNotAFileIsRefused() throws {
        _ = try sandbox.directory("root/home/alice/.ssh/authorized_keys")
        guard case .refused(let reason) = writer().apply(["alice": key("alice")])["alice"] else {
            Issue.record("a directory authorized_keys was accepted")
            return
        }
        #expect(reason.contains("not a regular file"))
        #expect(try entries(root + "/home/alice/.ssh") == ["authorized_keys"])
    }

    @Test func aHardLinkedAuthorizedKeysIsNotCopied() throws {
        try sandbox.write("root:secret\n", to: "root/etc/shadow", mode: 0o600)
        _ = try sandbox.directory("root/home/alice/.ssh")
        #expect(link(root + "/etc/shadow", keysFile("alice")) == 0)

        guard case .refused(let reason) = writer().apply(["alice": key("alice")])["alice"] else {
            Issue.record("a hard-linked authorized_keys was copied")
            return
        }
        #expect(reason.contains("hard links"))
        #expect(!FileManager.default.fileExists(atPath: previousFile("alice")))
        #expect(contents(root + "/etc/shadow") == "root:secret\n")
    }

    @Test func anSSHDirectoryOfAnotherAccountIsRefused() throws {
        let ssh = try sandbox.directory("root/home/alice/.ssh")
        #expect(chown(ssh, 1002, 1002) == 0)

        guard case .refused(let reason) = writer().apply(["alice": key("alice")])["alice"] else {
            Issue.record("bob's .ssh in alice's home was accepted")
            return
        }
        #expect(reason.contains("belongs to uid 1002"))
        #expect(try entries(ssh) == [])

        // Root's is fine: root may make the directory for the account.
        #expect(chown(ssh, 0, 0) == 0)
        #expect(writer().apply(["alice": key("alice")])["alice"]?.isWritten == true)
    }

    @Test(arguments: [
        ("options", #"command="/bin/sh" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoodGoodGoodGoodGood x"#),
        ("from option", #"from="10.0.0.1" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoodGoodGoodGoodGood x"#),
        ("cert-authority", "cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoodGoodGoodGoodGood x"),
        ("garbage", "hello world"),
        ("a lone type", "ssh-ed25519"),
        ("a DSA key", "ssh-dss AAAAB3NzaC1kc3MAAACBAPoodPoodPood x"),
        ("a blob that is not base64", "ssh-ed25519 AAAA$$$$not-base64!!!! x"),
        ("a control character", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoodGoodGoodGoodGood x\u{7}y"),
        ("a carriage return", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoodGoodGoodGoodGood x\r"),
        ("a C1 control in a comment line", "# about \u{85} this"),
        ("a tab between fields", "ssh-ed25519\tAAAAC3NzaC1lZDI1NTE5AAAAIGoodGoodGoodGoodGood x")
    ])
    func aBadLineRefusesTheWholeFileAndKeepsTheOld(_ what: String, _ line: String) throws {
        _ = writer().apply(["alice": key("old")])
        let old = contents(keysFile("alice"))
        let content = key("new") + "\n" + line + "\n" + key("newer") + "\n"

        guard case .refused(let reason) = writer().apply(["alice": content])["alice"] else {
            Issue.record("\(what) was written")
            return
        }
        #expect(reason.hasPrefix("line 2"), "\(what): \(reason)")
        #expect(contents(keysFile("alice")) == old, "\(what)")
        #expect(!FileManager.default.fileExists(atPath: previousFile("alice")), "\(what)")
    }

    @Test func aFileOverTheLimitIsRefused() throws {
        let line = key("a") + "\n"
        let content = String(repeating: line, count: AuthorizedKeysContent.maxBytes / line.utf8.count + 1)
        guard case .refused(let reason) = writer().apply(["alice": content])["alice"] else {
            Issue.record("\(content.utf8.count) bytes were written")
            return
        }
        #expect(reason.contains("over the limit"))
        #expect(!FileManager.default.fileExists(atPath: keysFile("alice")))

        let fits = String(repeating: line, count: AuthorizedKeysContent.maxBytes / line.utf8.count)
        #expect(writer().apply(["alice": fits])["alice"]?.isWritten == true)
    }

    @Test func anUnknownAccountIsRefused() throws {
        guard case .refused(let reason) = writer().apply(["mallory": key("m")])["mallory"] else {
            Issue.record("an unknown account was accepted")
            return
        }
        #expect(reason == "no account mallory in /etc/passwd")
        #expect(!FileManager.default.fileExists(atPath: root + "/home/mallory"))
        #expect(try remembered() == [])
    }

    @Test(arguments: ["Alice", "1alice", "al ice", "../alice", "alice:x", "al/ice", "", String(repeating: "a", count: 33), "alice$", "élise"])
    func anInvalidAccountNameIsRefused(_ name: String) throws {
        guard case .refused(let reason) = writer().apply([name: key("x")])[name] else {
            Issue.record("\(name.debugDescription) was accepted")
            return
        }
        #expect(reason.contains("not a valid account name"))
    }

    @Test func accountNamesUseraddAllows() {
        for name in ["a", "_svc", "deploy-2", "web_admin", String(repeating: "a", count: 32)] {
            #expect(AuthorizedKeysWriter.nameProblem(name) == nil, "\(name)")
        }
    }

    @Test(arguments: [
        ("climber", "not an absolute path without .."),
        ("relative", "not an absolute path without .."),
        ("homeless", "does not exist"),
        ("nogroup", "is not a valid number")
    ])
    func anAccountWithAnUnusableHomeOrGroupIsRefused(_ name: String, _ expected: String) throws {
        guard case .refused(let reason) = writer().apply([name: key("x")])[name] else {
            Issue.record("\(name) was written")
            return
        }
        #expect(reason.contains(expected), "\(reason)")
        #expect(try entries(root + "/etc") == ["passwd"])
        #expect(try remembered() == [])
    }

    @Test func reportValues() {
        #expect(AuthorizedKeysOutcome.written(sha256: "a").reportValue == .object(["status": .string("written"), "sha256": .string("a")]))
        #expect(AuthorizedKeysOutcome.unchanged(sha256: "a").reportValue == .object(["status": .string("unchanged"), "sha256": .string("a")]))
        #expect(AuthorizedKeysOutcome.emptied(sha256: "a").reportValue == .object(["status": .string("emptied"), "sha256": .string("a")]))
        #expect(AuthorizedKeysOutcome.refused("r").reportValue == .object(["status": .string("refused"), "reason": .string("r")]))
        #expect(AuthorizedKeysOutcome.failed("f").reportValue == .object(["status": .string("failed"), "reason": .string("f")]))
    }

    // MARK: - Helpers

    func writer() -> AuthorizedKeysWriter {
        AuthorizedKeysWriter(systemRoot: SystemRoot(path: root), stateDirectory: stateDirectory)
    }

    /// A public key line of `type` whose blob is shaped as OpenSSH's (the type's name, then key
    /// bytes), with random key bytes.
    func key(_ comment: String, type: String = "ssh-ed25519") -> String {
        var blob = Data()
        for part in [Data(type.utf8), Data((0..<32).map { _ in UInt8.random(in: 0...255) })] {
            withUnsafeBytes(of: UInt32(part.count).bigEndian) { blob.append(contentsOf: $0) }
            blob.append(part)
        }
        return "\(type) \(blob.base64EncodedString())" + (comment.isEmpty ? "" : " \(comment)")
    }

    func keysFile(_ account: String) -> String { root + "/home/\(account)/.ssh/authorized_keys" }
    func previousFile(_ account: String) -> String { root + "/home/\(account)/.ssh/authorized_keys.rookery-previous" }

    /// Writes a file as the account's owner would have: in .ssh (made if missing), owned by them.
    func writeAsAccount(_ text: String, to path: String, uid: uid_t, mode: Int) throws {
        let ssh = PathText.parent(path)
        if !FileManager.default.fileExists(atPath: ssh) {
            try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: false)
            #expect(chown(ssh, uid, uid) == 0)
            #expect(chmod(ssh, 0o700) == 0)
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        #expect(chown(path, uid, uid) == 0)
        #expect(chmod(path, mode_t(mode)) == 0)
    }

    /// The accounts remembered as managed.
    func remembered() throws -> [String] {
        guard let data = FileManager.default.contents(atPath: stateDirectory + "/managed-accounts.json") else { return [] }
        return try #require(JSONValue.parse(data)["accounts"]?.arrayValue).compactMap(\.stringValue)
    }

    struct Status: Equatable {
        let uid: uid_t
        let gid: gid_t
        let mode: Int
        let type: mode_t
    }

    func status(_ path: String) -> Status? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Status(uid: info.st_uid, gid: info.st_gid, mode: Int(info.st_mode) & 0o7777, type: info.st_mode & S_IFMT)
    }

    func inode(_ path: String) -> UInt? {
        var info = stat()
        return lstat(path, &info) == 0 ? UInt(info.st_ino) : nil
    }

    func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    func sha256(_ text: String) -> String {
        ReleaseManifest.sha256Hex(Data(text.utf8))
    }
}

extension AuthorizedKeysOutcome {
    var isWritten: Bool {
        if case .written = self { return true }
        return false
    }

    var isUnchanged: Bool {
        if case .unchanged = self { return true }
        return false
    }

    var isEmptied: Bool {
        if case .emptied = self { return true }
        return false
    }
}
