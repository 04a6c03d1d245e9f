import Foundation
import RookeryCore
import Testing

/// How `rookery` and `rookery-client` report what went wrong, through the real binaries: every
/// error line starts `error: `; only usage errors show a usage line, and theirs names the command
/// that was run; each kind of error has the exit code docs/operations.md (Exit codes) gives it.
@Suite struct AdminErrorsEndToEndTests {
    static let usageLine = "Usage:"

    @Test func failuresSayWhatWentWrongWithoutAUsageLine() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        for command in [
            ["clients", "accept", "nosuch-host"], ["clients", "show", "nosuch-host"],
            ["configure-ports", "set", "9999", "--deprecated"]
        ] {
            let ran = try server.admin(command)
            #expect(ran.status == 4, "\(command): \(ran.stderr)")
            #expect(ran.stderr.hasPrefix("error: "), "\(command): \(ran.stderr)")
            #expect(!ran.stderr.contains(Self.usageLine), "\(command): \(ran.stderr)")
        }
        let unreadable = try server.admin(["patch-hosts", "add", "--host", "h", "client/x", sandbox.path + "/missing"])
        #expect(unreadable.status == 74 && unreadable.stderr.contains("cannot read"), "\(unreadable.stderr)")
        #expect(!unreadable.stderr.contains(Self.usageLine), "\(unreadable.stderr)")
    }

    /// One command per documented code of `rookery`, each refused for the kind that code stands for.
    @Test func eachKindOfAdminErrorHasItsDocumentedCode() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        // An endpoint_auth in flow style, which save-password cannot edit safely.
        try sandbox.write(
            "listen_host: 127.0.0.1\nlisten_port: 8080\n"
                + "endpoint_auth: {download_release: {ip_ranges: [10.0.0.0/8], mandatory: true}}\n",
            to: "srv/server/settings.yml")
        try sandbox.write(try String(contentsOfFile: Self.checkout + "/server/issues.yml", encoding: .utf8), to: "srv/server/issues.yml")
        let cases: [(code: Int32, command: [String], says: String)] = [
            // failed: a settings file the command cannot edit safely, left alone.
            (1, ["save-password", "--stdin", "--endpoint", "download_release", "installer"], "cannot edit"),
            (4, ["issues", "close", "nosuch-host", "not-reporting"], "no device named nosuch-host"),
            (5, ["configure-ports", "add", "8080"], "port 8080 is already configured"),
            (64, ["issues", "snooze", "--bogus"], "Unknown option '--bogus'"),
            (65, ["issues", "snooze"], "say which issues"),
            (74, ["client-command", "--host", "h", "--name", "n", "--file", sandbox.path + "/missing"], "cannot read")
        ]
        for (code, command, says) in cases {
            let ran = try runProcess(
                "/bin/sh", ["-c", "echo pw | exec \"$0\" \"$@\"", binaryDirectory + "/rookery"] + command,
                environment: ProcessInfo.processInfo.environment.merging(["ROOKERY_HOME": server.root]) { $1 })
            #expect(ran.status == code, "\(command): \(ran.stderr)")
            #expect(ran.stderr.hasPrefix("error: ") && ran.stderr.contains(says), "\(command): \(ran.stderr)")
            #expect(ran.stderr.contains(Self.usageLine) == (code == 64), "\(command): \(ran.stderr)")
        }
    }

    /// The client's codes besides 0 and 3 (CronExitStatusEndToEndTests): a damaged file of its own
    /// state is 74, and says what mends it; settings that cannot be used are 64, without usage.
    @Test func eachKindOfClientErrorHasItsDocumentedCode() throws {
        let sandbox = try Sandbox()
        let client = try ClientRoot(sandbox: sandbox, name: "c1", serverURL: "http://127.0.0.1:9")
        try sandbox.write("{\"selectors\": [", to: "c1/var/client/secret-keeping.json")
        let damaged = try client.run("collect")
        #expect(damaged.status == 74, "\(damaged.stderr)")
        #expect(damaged.stderr.hasPrefix("error: \(client.root)/var/client/secret-keeping.json is damaged: "), "\(damaged.stderr)")
        #expect(damaged.stderr.hasSuffix("\nhint: run: rookery-client update\n"), "\(damaged.stderr)")

        // Refused from the first run: no last good settings to fall back on.
        let misspelt = try ClientRoot(sandbox: sandbox, name: "c2", serverURL: "http://127.0.0.1:9", settings: "allow_comands: false\n")
        let unusable = try misspelt.run("status")
        #expect(unusable.status == 64, "\(unusable.stderr)")
        #expect(unusable.stderr.hasPrefix("error: invalid settings in "), "\(unusable.stderr)")
        #expect(!unusable.stderr.contains(Self.usageLine), "\(unusable.stderr)")
        let usage = try client.run("status", "--bogus")
        #expect(usage.status == 64 && usage.stderr.hasPrefix("error: Unknown option '--bogus'"), "\(usage.stderr)")
    }

    /// The client as the server: a server out of reach (3) is the message alone; a usage error found by a command, like one ArgumentParser finds, shows the usage of
    /// that command, not the root's.
    @Test func onlyTheClientsUsageErrorsShowAUsageLineAndItNamesTheCommand() throws {
        let sandbox = try Sandbox()
        let client = try ClientRoot(sandbox: sandbox, name: "c1", serverURL: "http://127.0.0.1:\(try PortsEndToEndTests.freePort())")
        for command in [["enroll"], ["update"]] {
            let ran = try runBinary("rookery-client", command, root: client.root)
            #expect(ran.status == 3, "\(command): \(ran.stderr)")
            #expect(ran.stderr.hasPrefix("error: ") && ran.stderr.contains("Couldn't connect"), "\(command): \(ran.stderr)")
            #expect(!ran.stderr.contains(Self.usageLine), "\(command): \(ran.stderr)")
        }
        for (command, says) in [
            (["plugin", "nosuch"], "error: no built-in plugin nosuch; known: "),
            (["wipe"], "error: wipe deletes user accounts and their files; add --confirm to proceed\n")
        ] {
            let ran = try runBinary("rookery-client", command, root: client.root)
            #expect(ran.status == 64, "\(command): \(ran.stderr)")
            #expect(ran.stderr.hasPrefix(says), "\(command): \(ran.stderr)")
            #expect(ran.stderr.contains("Usage: rookery-client \(command[0]) "), "\(command): \(ran.stderr)")
            #expect(ran.stderr.contains("See 'rookery-client \(command[0]) --help'"), "\(command): \(ran.stderr)")
        }
    }

    static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func aUsageErrorShowsTheUsageOfTheCommandThatWasRun() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        // Thrown by the command's run, where ArgumentParser alone would show `rookery <subcommand>`.
        let command = try server.admin(["client-command", "--host", "h", "--name", "n"])
        #expect(command.status == 64, "\(command.stderr)")
        #expect(command.stderr.hasPrefix("error: give exactly one of --file F or --command C\n"), "\(command.stderr)")
        #expect(command.stderr.contains("Usage: rookery client-command "), "\(command.stderr)")
        #expect(command.stderr.contains("See 'rookery client-command --help'"), "\(command.stderr)")
        // Found while parsing: ArgumentParser's own message, the same way.
        let parsed = try server.admin(["issues", "snooze", "--bogus"])
        #expect(parsed.status == 64, "\(parsed.stderr)")
        #expect(parsed.stderr.hasPrefix("error: ") && parsed.stderr.contains("Usage: rookery issues snooze "), "\(parsed.stderr)")
    }

    /// docs/operations.md: settings, database or keyring that cannot be used are exit 64, with the
    /// message alone, for `rookery server` as for the admin commands.
    @Test func whatCannotBeOpenedIsExit64ForTheServerAndTheAdminCommands() throws {
        let sandbox = try Sandbox()
        let root = sandbox.path + "/srv"
        let settings = [
            // A key given twice: the settings file itself.
            ("listen_host: 127.0.0.1\nlisten_port: 0\nlisten_port: 1\n", "line 2, column 1: this key is given again"),
            // A database path that is a directory: SQLite cannot open it.
            (
                "listen_host: 127.0.0.1\nlisten_port: 0\ndatabase: var\n",
                "settings.yml at line 3, column 1: database: cannot open \(root)/var as a SQLite database"
            ),
            // Checked once the file is read, and still said with its line.
            (
                "listen_host: 127.0.0.1\nlisten_port: 0\nusers:\n  alice: nope\n",
                "settings.yml at line 4, column 3: users.alice: not a passlib $pbkdf2-sha256$ hash; set it with bin/save_password alice"
            )
        ]
        for (text, says) in settings {
            try sandbox.write(text, to: "srv/server/settings.yml")
            _ = try sandbox.directory("srv/var")
            for command in [["server"], ["clients", "list"]] {
                let ran = try runBinary("rookery", command, root: root)
                #expect(ran.status == 64, "\(command) with \(text): \(ran.stderr)")
                #expect(ran.stderr.contains(says), "\(command): \(ran.stderr)")
                #expect(!ran.stderr.contains(Self.usageLine), "\(command): \(ran.stderr)")
            }
        }
    }

    /// A port the server cannot listen on is named, with what to do, as exit 64 like the
    /// settings that name it: not NIO's `bind(descriptor:ptr:bytes:)`, exit 1.
    @Test func aPortInUseStopsTheServerNamingThePort() throws {
        let sandbox = try Sandbox()
        let taken = try HTTPReceiver()
        defer { taken.stop() }
        try sandbox.write("listen_host: 127.0.0.1\nlisten_port: \(taken.port)\n", to: "srv/server/settings.yml")
        let ran = try runBinary("rookery", ["server"], root: sandbox.path + "/srv")
        #expect(ran.status == 64, "\(ran.stderr)")
        #expect(ran.stderr.contains("error: cannot listen on 127.0.0.1, port \(taken.port): Address already in use\n"), "\(ran.stderr)")
        #expect(ran.stderr.contains("hint: another process listens there"), "\(ran.stderr)")
        #expect(!ran.stderr.contains(Self.usageLine), "\(ran.stderr)")
    }

    /// The audit's own settings, checked when it starts, are said at their line too.
    @Test func theAuditsSettingsAreRefusedAtTheirLine() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write(try String(contentsOfFile: Self.checkout + "/server/issues.yml", encoding: .utf8), to: "srv/server/issues.yml")
        try sandbox.write("listen_host: 127.0.0.1\nlisten_port: 0\naudit:\n  webhook: ftp://hooks.example\n", to: "srv/server/settings.yml")
        let audit = try server.admin(["issues", "audit"])
        #expect(audit.status == 64, "\(audit.stderr)")
        #expect(
            audit.stderr == "error: invalid settings in \(server.root)/server/settings.yml at line 4, column 3: "
                + "audit.webhook must be an http:// or https:// URL\n", "\(audit.stderr)")
    }

    /// A release goes to every device: without a terminal to ask on, only --yes publishes it.
    @Test func publishingWithoutATerminalNeedsYes() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write("#!/bin/sh\necho client\n", to: "client-bin", mode: 0o755)
        let publish = { (extra: String) in
            // Standard input from /dev/null: never a terminal, wherever the tests run.
            try runProcess(
                "/bin/sh",
                [
                    "-c", "exec \"$0\" client-release --json --source \"$1\" --binary \"$2\" $3 < /dev/null",
                    binaryDirectory + "/rookery", Self.checkout, sandbox.path + "/client-bin", extra
                ],
                environment: ProcessInfo.processInfo.environment.merging(["ROOKERY_HOME": server.root]) { $1 })
        }
        let refused = try publish("")
        #expect(refused.status == 64, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("add --yes"), "\(refused.stderr)")
        #expect(refused.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: server.root + "/var/client_releases/release-1.tar.gz"))

        let published = try publish("--yes")
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.stdout.contains("\"number\":1"), "\(published.stdout)")
        #expect(FileManager.default.fileExists(atPath: server.root + "/var/client_releases/release-1.tar.gz"))
    }
}
