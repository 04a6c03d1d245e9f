import Foundation
import RookeryCore
import RookeryServer

/// `rookery-bench managed`: what rendering the managed state costs over a large fleet, which the
/// server does every minute after an apply (`ManagedStateRefresher`). Seeds --devices accepted
/// devices (the audit benchmark's documents, each with an address of its own) into a scratch
/// root's SQLite file, with static groups of 1% (`db`), 10% (`app`) and 20% (`staging`) and a
/// dynamic one of about 10% (`weak-sshd`), and the three files (settings per group, `db` accepting
/// 5432 from `app`, a team granted an account on `staging`); then times `rookery groups apply` (the
/// first render, every state written) and `rookery groups plan` (a render compared with what was
/// sent: the refresher's work when nothing changed) under GNU time.
struct ManagedStateBenchmark {
    let devices: Int

    struct Result {
        let devices: Int
        let applyMs: Double, applyRSSKB: Int
        let planMs: Double, planRSSKB: Int
        let states: Int
        let largestTableBytes: Int

        var text: String {
            String(
                format: """
                    managed state of %d devices on SQLite (%d states; the largest firewall table %d bytes):
                      apply (render and write every state): %.2f s, peak RSS %.1f MB
                      plan (render and compare):            %.2f s, peak RSS %.1f MB
                    """, devices, states, largestTableBytes, applyMs / 1000, Double(applyRSSKB) / 1024, planMs / 1000,
                Double(planRSSKB) / 1024)
        }

        var json: String {
            JSONValue.object([
                "devices": .integer(Int64(devices)), "states": .integer(Int64(states)),
                "largest_table_bytes": .integer(Int64(largestTableBytes)),
                "apply_ms": .number(applyMs), "apply_max_rss_kb": .integer(Int64(applyRSSKB)),
                "plan_ms": .number(planMs), "plan_max_rss_kb": .integer(Int64(planRSSKB))
            ]).serializedString
        }
    }

    func run() async throws -> Result {
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let root = scratch.path + "/srv"
        try FileManager.default.createDirectory(atPath: root + "/server", withIntermediateDirectories: true)
        try "# bench\n".write(toFile: root + "/server/settings.yml", atomically: true, encoding: .utf8)
        guard let store = try await AdminContext(root: InstallRoot(path: root)).store as? any StoreSeeding else {
            throw AdminError("this store cannot be seeded")
        }
        try await seed(store)
        try Self.files.forEach { path, text in try text.write(toFile: root + "/" + path, atomically: true, encoding: .utf8) }

        let binary = try BenchServer.rookeryBinary()
        let environment = ["ROOKERY_HOME": root, "PATH": "/usr/bin:/bin"]
        let (applyMs, applyKB) = try CronBenchmark.timed(binary, ["groups", "apply"], environment: environment, scratch: scratch.path)
        let (planMs, planKB) = try CronBenchmark.timed(binary, ["groups", "plan"], environment: environment, scratch: scratch.path)
        let digests = try await store.managedStateDigests()
        var largest = 0
        // The db group's members (the first 1%) are the devices with a table.
        for fingerprint in (0..<max(1, devices / 100)).map({ String(format: "%040X", $0) }) {
            let state = try await store.managedState(fingerprint: fingerprint).map { Data($0.utf8) }
            largest = max(largest, state.flatMap { try? JSONDecoder().decode(ManagedState.self, from: $0) }?.firewall?.utf8.count ?? 0)
        }
        return Result(
            devices: devices, applyMs: applyMs, applyRSSKB: applyKB, planMs: planMs, planRSSKB: planKB, states: digests.count,
            largestTableBytes: largest)
    }

    /// The fleet, then the groups: `db` holds the first 1%, `staging` the next 20%, `app` the next 10%.
    private func seed(_ store: any StoreSeeding) async throws {
        try await AuditBenchmark.seed(store, devices: devices) { index, document in
            guard case .object(var fields) = document, case .object(var plugins)? = fields["plugins"] else { return document }
            let address = "10.\(index / 65_536 % 256).\(index / 256 % 256).\(index % 256)/16"
            plugins["network"] = .object([
                "interfaces": .array([.object(["name": .string("eth0"), "ipv4": .array([.string(address)]), "ipv6": .array([])])])
            ])
            fields["plugins"] = .object(plugins)
            return .object(fields)
        }
        let now = Date()
        let who = AdminOperator(user: "bench", sudoUser: nil)
        _ = try await store.createGroup(DeviceGroup(name: "db", condition: nil, createdBy: who.name, createdAt: now))
        _ = try await store.createGroup(DeviceGroup(name: "staging", condition: nil, createdBy: who.name, createdAt: now))
        _ = try await store.createGroup(DeviceGroup(name: "app", condition: nil, createdBy: who.name, createdAt: now))
        _ = try await store.createGroup(
            DeviceGroup(name: "weak-sshd", condition: "plugins.sshd.password_authentication == true", createdBy: who.name, createdAt: now))
        let fingerprints = (0..<devices).map { String(format: "%040X", $0) }
        let dbCount = max(1, devices / 100)
        _ = try await store.addMembers(
            Array(fingerprints.prefix(dbCount)), change: GroupChange(at: now, by: who.name, group: "db", action: .added, detail: ""))
        _ = try await store.addMembers(
            Array(fingerprints.dropFirst(dbCount).prefix(devices / 5)),
            change: GroupChange(at: now, by: who.name, group: "staging", action: .added, detail: ""))
        _ = try await store.addMembers(
            Array(fingerprints.dropFirst(dbCount + devices / 5).prefix(devices / 10)),
            change: GroupChange(at: now, by: who.name, group: "app", action: .added, detail: ""))
    }

    static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBRtEcPf1WE2zXfOxQhMk4vB0CdBR1WU0d6KHUbQZgkp"

    static let files: [(String, String)] = [
        (
            ManagedConfigFiles.settingsPath,
            "defaults:\n  collect_interval: 600\ngroups:\n  db:\n    plugin_timeout: 60\n  staging:\n    collect_interval: 900\n"
                + "  weak-sshd:\n    update_interval: 120\n"
        ),
        (ManagedConfigFiles.firewallPath, "groups:\n  db: {input: drop}\nrules:\n  - {group: db, allow: {tcp: [5432]}, from_group: app}\n"),
        (
            ManagedConfigFiles.accessPath,
            "people:\n" + (0..<5).map { "  p\($0): {keys: [\"\(key) p\($0)@bench\"]}\n" }.joined()
                + "teams:\n  devs: [p0, p1, p2]\ngrants:\n  - {people: devs, account: deploy, devices: {group: staging}}\n"
                + "  - {people: p4, account: root, devices: {group: db}}\n"
        )
    ]
}
