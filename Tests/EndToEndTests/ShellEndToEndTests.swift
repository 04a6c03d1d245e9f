import Foundation
import RookeryServer
import Testing

/// The remote shell with the real binaries: `rookery server`, the device's `rookery-client agent`
/// (or its `cron`), and the admin's `client_shell` driven through a pseudo-terminal.
@Suite(.serialized)
struct ShellEndToEndTests {
    @Test func anInteractiveSessionThroughTheAgent() throws {
        let fixture = try ShellFixture()
        try fixture.startAgent()
        let admin = try fixture.interactiveShell()
        #expect(admin.waitFor("waiting for laptop"))
        #expect(admin.waitFor("shell-ready$ "), "no prompt: \(admin.shown)")
        admin.type("echo round-$((40+2))-trip\r")
        #expect(admin.waitFor("round-42-trip"))
        // A full-screen program's output: the alternate screen, cleared, a line placed, left again.
        admin.type("printf '\\033[?1049h\\033[2J\\033[5;10Hfull-%s\\033[?1049l' screen\r")
        #expect(admin.waitFor("\u{1B}[?1049h\u{1B}[2J\u{1B}[5;10Hfull-screen\u{1B}[?1049l"))
        admin.resize(rows: 40, columns: 100)
        usleep(400_000)  // client_shell looks at the window size every 100 ms
        admin.type("stty size\r")
        #expect(admin.waitFor("40 100"), "the window size did not arrive: \(admin.shown)")
        admin.type("exit 3\r")
        #expect(admin.exitStatus() == 3)
        let shown = try fixture.server.admin(["clients", "show", "laptop"])
        #expect(shown.stdout.contains("exited with status 3") || shown.stdout.contains("closed"), "\(shown.stdout)")
        #expect(try fixture.server.count("SELECT count(*) FROM shell_sessions WHERE bytes_to_admin > 0 AND bytes_to_device > 0") == 1)
    }

    @Test func tildeDotAtTheStartOfALineEndsTheSession() throws {
        let fixture = try ShellFixture()
        try fixture.startAgent()
        let admin = try fixture.interactiveShell()
        #expect(admin.waitFor("shell-ready$ "), "no prompt: \(admin.shown)")
        // Inside a line, and doubled at its start, a tilde is typed as it is.
        admin.type("echo in~.line\r")
        #expect(admin.waitFor("in~.line\r\n"))
        admin.type("~~ 2>/dev/null; echo doubled\r")
        #expect(admin.waitFor("doubled"))
        admin.type("~.")
        #expect(admin.exitStatus() == 255)
        #expect(try fixture.server.count("SELECT count(*) FROM shell_sessions WHERE state = 'closed' AND close_reason LIKE '%~.%'") == 1)
    }

    @Test func listShowsAnOpenSessionAndCloseEndsIt() throws {
        let fixture = try ShellFixture()
        try fixture.startAgent()
        let admin = try fixture.interactiveShell()
        #expect(admin.waitFor("shell-ready$ "), "no prompt: \(admin.shown)")
        let id = try #require(ShellFixture.sessionID(in: admin.shown))
        let listed = try runProcess(
            binaryDirectory + "/rookery", ["client-shell", "--list", "--json", "--server", fixture.server.url], environment: fixture.adminEnvironment)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains(id) && listed.stdout.contains("\"state\":\"open\""), "\(listed.stdout)")
        let closed = try runProcess(
            binaryDirectory + "/rookery", ["client-shell", "--close", id, "--server", fixture.server.url], environment: fixture.adminEnvironment)
        #expect(closed.status == 0 && closed.stdout.contains("closed session \(id)"), "\(closed.stdout)\(closed.stderr)")
        #expect(admin.exitStatus() == 255)
        #expect(admin.shown.contains("client_shell --close"), "\(admin.shown)")
    }

    @Test func aCommandReturnsItsOutputAndStatus() throws {
        let fixture = try ShellFixture()
        try fixture.startAgent()
        let result = try fixture.command("echo out-$((2+3)); exit 7")
        #expect(result.status == 7, "\(result.stderr)")
        #expect(result.stdout.contains("out-5"))
    }

    @Test func anAdminWithAPasswordOpensAShellAndAWrongOneIsRefused() throws {
        let hash = PasswordHash(hashing: "shell-pass", rounds: 1000).description
        let fixture = try ShellFixture(
            serverSettings: """
                listen_host: 127.0.0.1
                listen_port: 0
                remote_shells: true
                users:
                  alice: "\(hash)"
                endpoint_auth:
                  pipe_create:
                    users: [alice]

                """)
        try fixture.startAgent()
        try fixture.sandbox.write("shell-pass\n", to: "alice.pass")
        try fixture.sandbox.write("wrong\n", to: "wrong.pass")
        let allowed = try fixture.command("echo as-alice", ["--user", "alice", "--password-file", fixture.sandbox.path + "/alice.pass"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("as-alice"))
        let refused = try fixture.command("true", ["--user", "alice", "--password-file", fixture.sandbox.path + "/wrong.pass"])
        #expect(refused.status == 255 && refused.stderr.contains("credentials"), "\(refused.stderr)")
        let anonymous = try fixture.command("true")
        #expect(anonymous.status == 255 && anonymous.stderr.contains("--user"), "\(anonymous.stderr)")
        #expect(try fixture.server.count("SELECT count(*) FROM shell_sessions WHERE opened_by = 'user alice'") == 1)
    }

    @Test func withoutTheAgentTheNextCronOpensIt() throws {
        let fixture = try ShellFixture(agent: false)
        let admin = try fixture.interactiveShell()
        #expect(admin.waitFor("waiting for laptop"))
        // The first cron run learns that the device was accepted (its submission says so); the
        // next asks for its update, whose signed answer carries the shell.
        try fixture.device.run("cron")
        try fixture.device.run("cron")
        #expect(admin.waitFor("shell-ready$ "), "no prompt: \(admin.shown)")
        admin.type("exit\r")
        #expect(admin.exitStatus() == 0)
    }

    @Test func aDeviceWhoseOwnerRefusesShellsSaysSo() throws {
        let fixture = try ShellFixture(deviceSettings: "allow_shells: false\n")
        try fixture.startAgent()
        let result = try fixture.command("true")
        #expect(result.status == 255)
        #expect(result.stderr.contains("refused the shell"), "\(result.stderr)")
    }

    /// The server operator alters, drops, reorders or replays a frame in the database: the side that
    /// receives it ends the session, and the other side hears of it.
    @Test(arguments: ShellTampering.allCases)
    func aTamperedFrameEndsTheSessionOnBothSides(_ tampering: ShellTampering) throws {
        let fixture = try ShellFixture()
        try fixture.startAgent()
        try fixture.server.sql(tampering.triggers(onPostgreSQL: fixture.server.postgres != nil))
        let admin = try fixture.interactiveShell()
        #expect(admin.waitFor("shell-ready$ "), "no prompt: \(admin.shown)")
        for line in 1...8 {
            admin.type("echo line-\(line)\r")
            usleep(150_000)
        }
        #expect(admin.exitStatus(within: 30) == 255, "\(admin.shown)")
        let said = tampering.direction == "to_admin" ? "failed its check" : "the device ended the session"
        #expect(admin.shown.contains(said), "\(admin.shown)")
        let id = try #require(ShellFixture.sessionID(in: admin.shown))
        // The device's side ended too, and logged why.
        let deadline = Date().addingTimeInterval(15)
        while fixture.deviceLog(naming: id).isEmpty && Date() < deadline { usleep(100_000) }
        #expect(!fixture.deviceLog(naming: id).isEmpty, "the device logged nothing for \(id)")
        #expect(try fixture.server.count("SELECT count(*) FROM shell_sessions WHERE state = 'closed'") == 1)
    }

    /// The server operator cannot put a key of their own in the device's place: the admin's side
    /// takes the device's key only from the device's own signed answer.
    @Test func anAcceptTheDeviceDidNotSignIsRefusedByTheAdminsSide() throws {
        let fixture = try ShellFixture()
        try fixture.startAgent()
        // The operator puts eight zero bytes in place of the end of the device's signature.
        try fixture.server.sql(
            fixture.server.postgres == nil
                ? """
                CREATE TRIGGER forge AFTER UPDATE OF state ON shell_sessions WHEN NEW.state = 'open' BEGIN
                  UPDATE shell_sessions SET accept_signature = substr(accept_signature, 1, length(accept_signature) - 8)
                    || X'0000000000000000' WHERE id = NEW.id;
                END;
                """
                : """
                CREATE FUNCTION forge() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                  UPDATE shell_sessions SET accept_signature = substring(accept_signature FROM 1 FOR length(accept_signature) - 8)
                    || '\\x0000000000000000'::bytea WHERE id = NEW.id;
                  RETURN NULL;
                END $$;
                CREATE TRIGGER forge AFTER UPDATE OF state ON shell_sessions FOR EACH ROW WHEN (NEW.state = 'open')
                  EXECUTE FUNCTION forge();
                """)
        let result = try fixture.command("echo must-not-run")
        #expect(result.status == 255)
        #expect(result.stderr.contains("not signed by"), "\(result.stderr)")
        #expect(!result.stdout.contains("must-not-run"))
    }

    @Test func aServerRestartIsRiddenThroughOrEndsCleanlyAndTheNextSessionWorks() throws {
        let fixture = try ShellFixture()
        try fixture.startAgent()
        let admin = try fixture.interactiveShell()
        #expect(admin.waitFor("shell-ready$ "))
        // A restart longer than both sides' reconnect time (3 s): the session ends on both sides.
        #expect(fixture.server.terminate(within: 10))
        admin.type("echo lost\r")
        #expect(admin.exitStatus(within: 30) == 255)
        #expect(admin.shown.contains("lost the server"), "\(admin.shown)")
        try fixture.server.start()
        let next = try fixture.command("echo next-session")
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stdout.contains("next-session"))
        // A short restart is ridden through: the session lives in the database.
        let ridden = try fixture.interactiveShell(["--reconnect-seconds", "20"])
        #expect(ridden.waitFor("shell-ready$ "))
        #expect(fixture.server.terminate(within: 10))
        try fixture.server.start()
        ridden.type("echo after-$((1+1))\r")
        #expect(ridden.waitFor("after-2"), "\(ridden.shown)")
        ridden.type("exit 4\r")
        #expect(ridden.exitStatus() == 4)
    }

    @Test func theAdminAndTheDeviceOnTwoServerProcessesSharingTheDatabase() throws {
        let fixture = try ShellFixture()
        try fixture.startAgent()
        // A second server process on the same install root and database, on a port of its own.
        let second = try ServerProcess(sandbox: fixture.sandbox)
        try fixture.sandbox.write(ShellFixture.serverSettings, to: "srv/server/settings.yml")
        try second.start()
        defer { second.kill() }
        #expect(second.port != fixture.server.port)
        let result = try fixture.command("echo via-$((3*3))", ["--server", second.url])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("via-9"))
    }
}

/// How the operator tampers with frames, as triggers on the server's database (SQLite's or
/// PostgreSQL's): each on the third frame (or the third and fourth) of one direction.
enum ShellTampering: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case altered, dropped, reordered, replayed

    var testDescription: String { rawValue }

    /// Device output is tampered with for two kinds, keystrokes for the other two.
    var direction: String { self == .altered || self == .reordered ? "to_admin" : "to_device" }

    func triggers(onPostgreSQL: Bool) -> String { onPostgreSQL ? postgresTriggers : triggers }

    /// The same, in PL/pgSQL: a function and a row trigger for each SQLite trigger.
    private var postgresTriggers: String {
        let row = "session_id = NEW.session_id AND direction = NEW.direction"
        switch self {
        case .altered:
            return Self.postgresTrigger(
                "tamper", seq: 3, direction,
                "UPDATE shell_frames SET frame = set_byte(frame, 10, CASE WHEN get_byte(frame, 10) = 0 THEN 1 ELSE 0 END) WHERE \(row) AND seq = NEW.seq")
        case .dropped:
            return Self.postgresTrigger("tamper", seq: 3, direction, "DELETE FROM shell_frames WHERE \(row) AND seq = NEW.seq")
        case .reordered:
            return "CREATE TABLE held (frame BYTEA);"
                + Self.postgresTrigger(
                    "hold", seq: 3, direction,
                    "INSERT INTO held VALUES (NEW.frame); DELETE FROM shell_frames WHERE \(row) AND seq = NEW.seq")
                + Self.postgresTrigger(
                    "release", seq: 4, direction,
                    "INSERT INTO shell_frames VALUES (NEW.session_id, NEW.direction, NEW.seq + 1000, (SELECT frame FROM held))")
        case .replayed:
            return "CREATE TABLE copies (seq BIGINT, frame BYTEA);"
                + Self.postgresTrigger("copy", seq: nil, direction, "INSERT INTO copies VALUES (NEW.seq, NEW.frame)")
                + Self.postgresTrigger(
                    "replay", seq: 4, direction,
                    "UPDATE shell_frames SET frame = (SELECT frame FROM copies WHERE seq = 2) WHERE \(row) AND seq = 4")
        }
    }

    /// A function running `body` and an AFTER INSERT row trigger on shell_frames calling it, for
    /// frames of `direction` (and, given, number `seq`).
    static func postgresTrigger(_ name: String, seq: Int?, _ direction: String, _ body: String) -> String {
        let when = "NEW.direction = '\(direction)'" + (seq.map { " AND NEW.seq = \($0)" } ?? "")
        return """
            CREATE FUNCTION \(name)() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \(body); RETURN NULL; END $$;
            CREATE TRIGGER \(name) AFTER INSERT ON shell_frames FOR EACH ROW WHEN (\(when)) EXECUTE FUNCTION \(name)();
            """
    }

    private var triggers: String {
        let when = "WHEN NEW.direction = '\(direction)'"
        let row = "session_id = NEW.session_id AND direction = NEW.direction"
        switch self {
        case .altered:
            return """
                CREATE TRIGGER tamper AFTER INSERT ON shell_frames \(when) AND NEW.seq = 3 BEGIN
                  UPDATE shell_frames SET frame = substr(frame, 1, 10)
                    || CASE WHEN substr(frame, 11, 1) = X'00' THEN X'01' ELSE X'00' END || substr(frame, 12)
                  WHERE \(row) AND seq = NEW.seq;
                END;
                """
        case .dropped:
            return """
                CREATE TRIGGER tamper AFTER INSERT ON shell_frames \(when) AND NEW.seq = 3 BEGIN
                  DELETE FROM shell_frames WHERE \(row) AND seq = NEW.seq;
                END;
                """
        case .reordered:
            // The third frame is held back, and handed out after the fourth (far ahead, where the
            // server's own numbering will not meet it).
            return """
                CREATE TABLE held (frame BLOB);
                CREATE TRIGGER hold AFTER INSERT ON shell_frames \(when) AND NEW.seq = 3 BEGIN
                  INSERT INTO held VALUES (NEW.frame);
                  DELETE FROM shell_frames WHERE \(row) AND seq = NEW.seq;
                END;
                CREATE TRIGGER release AFTER INSERT ON shell_frames \(when) AND NEW.seq = 4 BEGIN
                  INSERT INTO shell_frames VALUES (NEW.session_id, NEW.direction, NEW.seq + 1000, (SELECT frame FROM held));
                END;
                """
        case .replayed:
            // Every frame is copied; the fourth is replaced by the second, already delivered.
            return """
                CREATE TABLE copies (seq INTEGER, frame BLOB);
                CREATE TRIGGER copy AFTER INSERT ON shell_frames \(when) BEGIN
                  INSERT INTO copies VALUES (NEW.seq, NEW.frame);
                END;
                CREATE TRIGGER replay AFTER INSERT ON shell_frames \(when) AND NEW.seq = 4 BEGIN
                  UPDATE shell_frames SET frame = (SELECT frame FROM copies WHERE seq = 2) WHERE \(row) AND seq = 4;
                END;
                """
        }
    }
}
