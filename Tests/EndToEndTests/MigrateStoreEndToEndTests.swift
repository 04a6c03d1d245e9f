import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// `bin/migrate_store` (issue 18): a SQLite installation with devices, documents, history, an
/// issue, a pending patch and a device's release moves into PostgreSQL; every table compares the
/// same; `bin/clients` and `bin/issues` print what they printed before, and a real device carries
/// on against the moved database without noticing.
@Suite struct MigrateStoreEndToEndTests {
    @Test func aSeededInstallationMovesWholeAndCarriesOn() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write(counterSeenChecks(), to: "srv/server/issues.yml")
        try server.start()
        let laptop = try server.acceptedClient(sandbox: sandbox, name: "laptop", collections: 2)
        let desk = try server.acceptedClient(sandbox: sandbox, name: "desk", collections: 1)
        #expect(try laptop.run("submit").status == 0 && desk.run("submit").status == 0)
        try sandbox.write("#!/bin/sh\necho '{}'\n", to: "extra.sh")
        let patched = try server.admin(["patch-hosts", "add", "--host", "desk", "client/plugins/extra.sh", sandbox.path + "/extra.sh"])
        #expect(patched.status == 0, "\(patched.stderr)")
        #expect(try server.admin(["issues", "audit"]).status == 0)
        #expect(try server.admin(["client-parameters", "set", "laptop", "user_email", "ann@example.org"]).status == 0)
        #expect(server.terminate(within: 15))
        let views = [
            ["clients", "list", "--json"], ["clients", "show", "laptop", "--history", "50", "--json"],
            ["issues", "list", "--json"], ["patch-hosts", "list", "--host", "desk", "--json"],
            ["client-parameters", "ls", "laptop", "--json"]
        ]
        let before = try views.map { try server.admin($0).stdout }

        let database = try SharedPostgresDatabase()
        defer { database.drop() }
        let moved = try server.admin(["migrate-store", "--to", database.url, "--password-file", database.passwordFile])
        #expect(moved.status == 0, "\(moved.stdout) \(moved.stderr)")
        #expect(moved.stdout.contains("every table has the same rows and values in both databases"), "\(moved.stdout)")
        #expect(try database.number("SELECT count(*) FROM submissions") == 3)
        #expect(try database.number("SELECT count(*) FROM issues WHERE closed_at IS NULL") == 2)
        // Analyzed once filled (-1: never), so the planner does not take the tables for empty.
        #expect(try database.number("SELECT count(*) FROM pg_class WHERE relname = 'devices' AND reltuples >= 0") == 1)
        let again = try server.admin(["migrate-store", "--to", database.url, "--password-file", database.passwordFile])
        #expect(again.status == 5 && again.stderr.contains("is not empty"), "a second run: \(again.status) \(again.stderr)")

        // The server and its commands on PostgreSQL now.
        let settings = server.root + "/server/settings.yml"
        try (String(contentsOfFile: settings, encoding: .utf8) + database.settingsLines)
            .write(toFile: settings, atomically: true, encoding: .utf8)
        let after = try views.map { try server.admin($0).stdout }
        for (view, (old, new)) in zip(views, zip(before, after)) {
            #expect(old == new, "\(view.joined(separator: " ")) differs after the move:\n\(old)\n---\n\(new)")
        }
        try server.start()
        try laptop.run("collect")
        let submitted = try laptop.run("submit")
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(try database.number("SELECT count(*) FROM submissions") == 4)
        // The device pins the server's key, as a release would have it do.
        try FileManager.default.copyItem(atPath: server.root + "/server/server-key.asc", toPath: desk.root + "/client/server-key.asc")
        let updated = try desk.run("update")
        #expect(updated.status == 0, "\(updated.stdout) \(updated.stderr)")
        #expect(FileManager.default.fileExists(atPath: desk.root + "/client/plugins/extra.sh"), "the pending patch reached the device")
    }

    @Test func aMissingSQLiteFileOrAnUnreachableDatabaseIsSaid() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        let database = try SharedPostgresDatabase()
        defer { database.drop() }
        let missing = try server.admin(["migrate-store", "--from", "nowhere.sqlite", "--to", database.url, "--password-file", database.passwordFile])
        #expect(missing.status == 4 && missing.stderr.contains("no SQLite database"), "\(missing.status) \(missing.stderr)")
        let inURL = try server.admin(["migrate-store", "--to", "postgresql://rookery:pw@127.0.0.1/x"])
        #expect(inURL.status == 64 && !inURL.stderr.contains("pw@"), "\(inURL.status) \(inURL.stderr)")
    }
}
