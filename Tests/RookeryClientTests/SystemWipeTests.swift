import Foundation
import RookeryClient
import Testing

// Every wipe here runs against a made-up system in a fresh directory under /tmp, never "/".
// Regular users get uids around 41000 so that no mistake can match the uid of a real user of the
// machine running the tests.

@Suite struct SystemWipeTests {
    static let processNote = "processes were not ended because the system root is not \"/\""

    /// Checked without ever calling run() on "/": should the guard fail, that would wipe this machine.
    @Test func theRealSystemIsNeverWipedFromATest() {
        setenv(SystemWipe.sandboxOnlyVariable, "1", 1)
        #expect(SystemWipe.realRootRefusal("/")?.contains(SystemWipe.sandboxOnlyVariable) == true)
        #expect(SystemWipe.realRootRefusal("/tmp/some-sandbox") == nil)
    }

    @Test func regularUsersGoAndEverythingElseStays() throws {
        let fake = try FakeWipeSystem()
        try fake.write("# UID_MIN 1400 is a comment\nUID_MIN\t\t1000\nUID_MAX\t\t60000\n", to: fake.inRoot("/etc/login.defs"))
        try fake.write(
            Data(
                """
                # accounts
                root:x:0:0:root:/root:/bin/bash
                foo:x:100:101:Foo daemon:/var/lib/foo:/usr/sbin/nologin
                alice:x:41001:41001:Alice:/home/alice:/bin/bash
                this line is malformed
                bob:x:41002:41002:Bob:/home/bob:/usr/sbin/nologin

                """.utf8) + Data([0xFF, 0xFE, 0x3A, 0x0A])
                + Data(
                    """
                    nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

                    """.utf8), to: fake.inRoot("/etc/passwd"))
        try fake.write(
            """
            root:*:19000:0:99999:7:::
            foo:*:19000:0:99999:7:::
            alice:$6$salt$hash:19000:0:99999:7:::
            bob:!:19000:0:99999:7:::
            nobody:*:19000:0:99999:7:::

            """, to: fake.inRoot("/etc/shadow"), mode: 0o640)
        try fake.write(
            """
            root:x:0:
            foo:x:101:
            users:x:100:alice,foo
            devs:x:5000:alice,bob
            alice:x:41001:
            bob:x:41002:foo
            nogroup:x:65534:

            """, to: fake.inRoot("/etc/group"))
        try fake.write(
            """
            root:*::
            foo:!::
            users:!::alice,foo
            devs:!:alice:alice,bob
            alice:!::
            bob:!::foo
            nogroup:*::

            """, to: fake.inRoot("/etc/gshadow"), mode: 0o640)
        for home in ["/root", "/var/lib/foo", "/home/alice", "/home/bob/.ssh"] {
            try fake.write("data", to: fake.inRoot(home + "/file"))
        }

        let report = fake.wipe()

        #expect(report.users == ["alice", "bob"])
        #expect(report.removedHomes == ["/home/alice", "/home/bob"])
        #expect(report.deletedAccounts == ["alice", "bob"])
        #expect(report.endedProcesses == 0)
        #expect(report.notes == [Self.processNote])
        #expect(report.errors == [])

        #expect(!fake.exists(fake.inRoot("/home/alice")))
        #expect(!fake.exists(fake.inRoot("/home/bob")))
        #expect(fake.exists(fake.inRoot("/home")))
        #expect(fake.exists(fake.inRoot("/root/file")))
        #expect(fake.exists(fake.inRoot("/var/lib/foo/file")))

        // The line that is not UTF-8 is kept byte for byte, like every other untouched line.
        #expect(
            fake.data(fake.inRoot("/etc/passwd")) == Data(
                """
                # accounts
                root:x:0:0:root:/root:/bin/bash
                foo:x:100:101:Foo daemon:/var/lib/foo:/usr/sbin/nologin
                this line is malformed

                """.utf8) + Data([0xFF, 0xFE, 0x3A, 0x0A])
                + Data(
                    """
                    nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

                    """.utf8))
        #expect(
            fake.text(fake.inRoot("/etc/shadow")) == """
                root:*:19000:0:99999:7:::
                foo:*:19000:0:99999:7:::
                nobody:*:19000:0:99999:7:::

                """)
        // alice's personal group goes; bob's stays because foo is still in it; the shared devs stays empty.
        #expect(
            fake.text(fake.inRoot("/etc/group")) == """
                root:x:0:
                foo:x:101:
                users:x:100:foo
                devs:x:5000:
                bob:x:41002:foo
                nogroup:x:65534:

                """)
        #expect(
            fake.text(fake.inRoot("/etc/gshadow")) == """
                root:*::
                foo:!::
                users:!::foo
                devs:!::
                bob:!::foo
                nogroup:*::

                """)

        #expect(fake.mode(fake.inRoot("/etc/shadow")) == 0o640)
        #expect(fake.mode(fake.inRoot("/etc/gshadow")) == 0o640)
        #expect(fake.mode(fake.inRoot("/etc/passwd")) == 0o644)
        // No temporary files left next to the account files.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: fake.inRoot("/etc")).sorted()
                == ["group", "gshadow", "login.defs", "passwd", "shadow"])
    }

    @Test func aPersonalGroupThatIsSomeonesPrimaryGroupStays() throws {
        let fake = try FakeWipeSystem()
        try fake.write(
            """
            alice:x:41001:41001::/home/alice:/bin/bash
            svc:x:120:41001::/var/lib/svc:/usr/sbin/nologin

            """, to: fake.inRoot("/etc/passwd"))
        try fake.write("alice:x:41001:\n", to: fake.inRoot("/etc/group"))

        let report = fake.wipe()

        #expect(report.deletedAccounts == ["alice"])
        #expect(fake.text(fake.inRoot("/etc/group")) == "alice:x:41001:\n")
    }

    enum SymlinkedHome: CaseIterable {
        case home, homeParent
    }

    @Test(arguments: SymlinkedHome.allCases)
    func aSymlinkedHomeIsNotFollowed(_ layout: SymlinkedHome) throws {
        let fake = try FakeWipeSystem()
        try fake.write("alice:x:41001:41001::/home/alice:/bin/bash\n", to: fake.inRoot("/etc/passwd"))
        try fake.write("secret", to: fake.outside + "/alice/secret")
        switch layout {
        case .home:
            try fake.write("", to: fake.inRoot("/home/.keep"))
            try fake.link(fake.inRoot("/home/alice"), to: fake.outside + "/alice")
        case .homeParent:
            try fake.link(fake.inRoot("/home"), to: fake.outside)
        }

        let report = fake.wipe()

        #expect(fake.text(fake.outside + "/alice/secret") == "secret")
        #expect(fake.isSymlink(layout == .home ? fake.inRoot("/home/alice") : fake.inRoot("/home")))
        #expect(report.removedHomes == [])
        #expect(report.notes.contains { $0.contains("/home/alice") && $0.contains("symlink") })
        #expect(report.deletedAccounts == ["alice"])
        #expect(report.errors == [])
    }

    @Test func symlinksInsideAHomeAreRemovedNotTheirTargets() throws {
        let fake = try FakeWipeSystem()
        try fake.write("alice:x:41001:41001::/home/alice:/bin/bash\n", to: fake.inRoot("/etc/passwd"))
        try fake.write("secret", to: fake.outside + "/secret.txt")
        try fake.write("inner", to: fake.outside + "/folder/inner.txt")
        try fake.write("mine", to: fake.inRoot("/home/alice/deep/mine.txt"))
        try fake.link(fake.inRoot("/home/alice/file-link"), to: fake.outside + "/secret.txt")
        try fake.link(fake.inRoot("/home/alice/deep/folder-link"), to: fake.outside + "/folder")

        let report = fake.wipe()

        #expect(report.removedHomes == ["/home/alice"])
        #expect(!fake.exists(fake.inRoot("/home/alice")))
        #expect(fake.text(fake.outside + "/secret.txt") == "secret")
        #expect(fake.text(fake.outside + "/folder/inner.txt") == "inner")
        #expect(report.errors == [])
    }

    @Test(arguments: ["/", "/home", "//home/", "/usr/local", "/var/lib", "/etc", "/home/../etc", "/home/./alice", "home/alice", ""])
    func homesThatAreNotAPersonsDirectoryStay(_ home: String) throws {
        let fake = try FakeWipeSystem()
        try fake.write("alice:x:41001:41001::\(home):/bin/bash\n", to: fake.inRoot("/etc/passwd"))
        let markers = ["/marker", "/home/marker", "/home/alice/marker", "/usr/local/marker", "/var/lib/marker"]
        for marker in markers { try fake.write("keep", to: fake.inRoot(marker)) }

        let report = fake.wipe()

        for marker in markers { #expect(fake.text(fake.inRoot(marker)) == "keep", "\(marker)") }
        #expect(fake.exists(fake.inRoot("/etc/passwd")))
        #expect(report.removedHomes == [])
        #expect(report.notes.contains { $0.hasPrefix("home \"\(home)\" of alice not removed") })
        #expect(report.deletedAccounts == ["alice"])
    }

    @Test func twoUsersSharingAHomeRemoveItOnce() throws {
        let fake = try FakeWipeSystem()
        try fake.write(
            """
            alice:x:41001:41001::/home/shared:/bin/bash
            bob:x:41002:41002::/home//shared/:/bin/bash

            """, to: fake.inRoot("/etc/passwd"))
        try fake.write("ours", to: fake.inRoot("/home/shared/file"))

        let report = fake.wipe()

        #expect(report.removedHomes == ["/home/shared"])
        #expect(!fake.exists(fake.inRoot("/home/shared")))
        #expect(report.errors == [])
        #expect(report.notes == [Self.processNote])
    }

    @Test func loginDefsDecidesWhoIsRegular() throws {
        let fake = try FakeWipeSystem()
        try fake.write("UID_MIN 2000\nUID_MAX 50000\n", to: fake.inRoot("/etc/login.defs"))
        let passwd = """
            carol:x:1500:1500::/home/carol:/bin/bash
            dave:x:41003:41003::/home/dave:/bin/bash
            erin:x:55000:55000::/home/erin:/bin/bash

            """
        try fake.write(passwd, to: fake.inRoot("/etc/passwd"))
        for user in ["carol", "dave", "erin"] { try fake.write("x", to: fake.inRoot("/home/\(user)/file")) }

        let report = fake.wipe()

        #expect(report.users == ["dave"])
        #expect(report.removedHomes == ["/home/dave"])
        #expect(fake.exists(fake.inRoot("/home/carol/file")))
        #expect(fake.exists(fake.inRoot("/home/erin/file")))
        #expect(
            fake.text(fake.inRoot("/etc/passwd")) == """
                carol:x:1500:1500::/home/carol:/bin/bash
                erin:x:55000:55000::/home/erin:/bin/bash

                """)
    }

    @Test func rootAndNobodyAreNeverRegularWhateverLoginDefsSays() throws {
        let fake = try FakeWipeSystem()
        try fake.write("UID_MIN 0\nUID_MAX 70000\n", to: fake.inRoot("/etc/login.defs"))
        try fake.write(
            """
            root:x:0:0:root:/root:/bin/bash
            alice:x:41001:41001::/home/alice:/bin/bash
            nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

            """, to: fake.inRoot("/etc/passwd"))

        let report = fake.wipe()

        #expect(report.users == ["alice"])
        #expect(
            fake.text(fake.inRoot("/etc/passwd")) == """
                root:x:0:0:root:/root:/bin/bash
                nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

                """)
    }

    @Test func aSandboxRootNeverEndsProcesses() throws {
        let fake = try FakeWipeSystem()
        try fake.write("alice:x:41001:41001::/home/alice:/bin/bash\n", to: fake.inRoot("/etc/passwd"))
        // A process of our own that the fake /proc says belongs to alice: a wipe that believed the
        // sandbox's /proc would kill it.
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["60"]
        try sleeper.run()
        let pid = sleeper.processIdentifier
        try fake.write("Name:\tsleep\nPid:\t\(pid)\nUid:\t41001\t41001\t41001\t41001\n", to: fake.inRoot("/proc/\(pid)/status"))

        // Also written with a trailing slash: still not "/".
        let report = SystemWipe(systemRoot: fake.root + "/").run()

        // A SIGKILL takes a moment to show; give a wrong one the time to.
        for _ in 0..<20 where sleeper.isRunning { usleep(25_000) }
        #expect(sleeper.isRunning)
        kill(pid, SIGKILL)
        sleeper.waitUntilExit()
        #expect(report.endedProcesses == 0)
        #expect(report.notes.contains(Self.processNote))
        #expect(report.errors == [])
        #expect(report.deletedAccounts == ["alice"])
    }

    @Test(arguments: ["relative/root", "/root/../root", "/outside/../root/"])
    func aRootThatIsNotAPlainAbsolutePathDoesNothing(_ suffix: String) throws {
        let fake = try FakeWipeSystem()
        try fake.write("alice:x:41001:41001::/home/alice:/bin/bash\n", to: fake.inRoot("/etc/passwd"))
        try fake.write("x", to: fake.inRoot("/home/alice/file"))
        // "/tmp/rkwipe-…/root/../root" is the sandbox itself, but ".." is refused on principle.
        let root = suffix.hasPrefix("/") ? fake.base + suffix : suffix

        let report = SystemWipe(systemRoot: root).run()

        #expect(report.users == [])
        #expect(report.errors.count == 1)
        #expect(report.errors.first?.contains("is not an absolute path without \"..\"") == true)
        #expect(fake.exists(fake.inRoot("/home/alice/file")))
        #expect(fake.text(fake.inRoot("/etc/passwd")) == "alice:x:41001:41001::/home/alice:/bin/bash\n")
    }

    enum SymlinkedAccountFile: CaseIterable {
        case passwd, shadow, etc
    }

    @Test(arguments: SymlinkedAccountFile.allCases)
    func accountFilesBehindSymlinksAreNotTouched(_ layout: SymlinkedAccountFile) throws {
        let fake = try FakeWipeSystem()
        let passwd = "alice:x:41001:41001::/home/alice:/bin/bash\n"
        let shadow = "alice:!:19000:0:99999:7:::\n"
        try fake.write(passwd, to: fake.outside + "/etc/passwd")
        try fake.write(shadow, to: fake.outside + "/etc/shadow")
        switch layout {
        case .passwd:
            try fake.link(fake.inRoot("/etc/passwd"), to: fake.outside + "/etc/passwd")
        case .shadow:
            try fake.write(passwd, to: fake.inRoot("/etc/passwd"))
            try fake.link(fake.inRoot("/etc/shadow"), to: fake.outside + "/etc/shadow")
        case .etc:
            try FileManager.default.removeItem(atPath: fake.inRoot("/etc"))
            try fake.link(fake.inRoot("/etc"), to: fake.outside + "/etc")
        }

        let report = fake.wipe()

        #expect(fake.text(fake.outside + "/etc/passwd") == passwd)
        #expect(fake.text(fake.outside + "/etc/shadow") == shadow)
        #expect(report.errors.contains { $0.contains("symlink") })
        // Only a symlinked shadow leaves a passwd to work from.
        #expect(report.deletedAccounts == (layout == .shadow ? ["alice"] : []))
    }

    @Test func theReportUsesSnakeCaseKeys() throws {
        let fake = try FakeWipeSystem()
        try fake.write("alice:x:41001:41001::/home/alice:/bin/bash\n", to: fake.inRoot("/etc/passwd"))
        try fake.write("x", to: fake.inRoot("/home/alice/file"))
        let report = fake.wipe()

        let json = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])

        #expect(Set(object.keys) == ["users", "removed_homes", "deleted_accounts", "ended_processes", "notes", "errors"])
        #expect(object["removed_homes"] as? [String] == ["/home/alice"])
        #expect(object["ended_processes"] as? Int == 0)
        #expect(try JSONDecoder().decode(WipeReport.self, from: json) == report)
    }
}

/// A made-up system in a fresh directory under /tmp, removed when the test is done. The wipe gets
/// `root`; `outside` is a sibling it must never touch.
private final class FakeWipeSystem {
    let base: String
    var root: String { base + "/root" }
    var outside: String { base + "/outside" }

    init() throws {
        var template = Array("/tmp/rkwipe-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw CocoaError(.fileWriteUnknown) }
        base = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        try FileManager.default.createDirectory(atPath: base + "/root/etc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/outside", withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: base)
    }

    func wipe() -> WipeReport {
        SystemWipe(systemRoot: root).run()
    }

    func inRoot(_ path: String) -> String {
        root + path
    }

    func write(_ text: String, to path: String, mode: Int = 0o644) throws {
        try write(Data(text.utf8), to: path, mode: mode)
    }

    func write(_ data: Data, to path: String, mode: Int = 0o644) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    func link(_ path: String, to target: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
    }

    func data(_ path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }

    func text(_ path: String) -> String? {
        data(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// True when anything, even a dangling symlink, is at `path`.
    func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    func isSymlink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    func mode(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }
}
