import Foundation
import RookeryCore
import Testing

/// Releases with the real binaries: publishing, installing, and every way a bad release is refused.
@Suite(.serialized) struct ReleaseEndToEndTests {
    @Test func aNewReleaseReachesTwoDevicesInOneCronRunEach() throws {
        let fleet = try ReleaseFleet(devices: ["r1", "r2"])
        #expect(try fleet.release(of: fleet["r1"]) == 0)
        let number = try fleet.publish(version: 7)
        #expect(number == 1)
        // A release may carry an enrollment token: not for everyone on the server to read.
        for file in ["release-1.tar.gz", "release-1.json", ""] {
            let mode = try FileManager.default.attributesOfItem(atPath: fleet.releaseDirectory + "/" + file)[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o007 } == 0, "\(file): mode \(String(mode ?? 0, radix: 8))")
        }
        let submissionsBefore = try fleet.server.count("SELECT count(*) FROM submissions")

        for client in fleet.clients {
            let cron = try client.run("cron")
            #expect(cron.status == 0, "\(cron.stderr)")
            #expect(try fleet.release(of: client) == number)
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: client.root + "/current")
            #expect(link == "releases/1")
            // The device's own settings were left alone.
            #expect(try String(contentsOfFile: client.root + "/client/settings.yml", encoding: .utf8).contains("hostname: \(client.name)"))
            // The new release collected and submitted at once: its version plugin reported.
            #expect(try fleet.document(of: client.name)["plugins"]?["version"]?["v"] == .integer(7))
        }
        #expect(try fleet.server.count("SELECT count(*) FROM submissions") == submissionsBefore + 2)
        #expect(try fleet.server.count("SELECT count(*) FROM devices WHERE client_release = 1") == 2)

        // The next release replaces it; the one before is kept, older ones go.
        let second = try fleet.publish(version: 8)
        let third = try fleet.publish(version: 9)
        let r1 = fleet["r1"]
        #expect(try fleet.update(r1).status == 0)
        #expect(try fleet.release(of: r1) == third)
        let kept = try FileManager.default.contentsOfDirectory(atPath: r1.root + "/releases").sorted()
        #expect(kept == ["1", "\(third)"])
        #expect(second == 2)
    }

    @Test func listShowsReleasesAndNumbersOnlyGrow() throws {
        let fleet = try ReleaseFleet(devices: [])
        try fleet.publish(version: 1)
        try FileManager.default.removeItem(atPath: fleet.releaseDirectory + "/release-1.json")
        try FileManager.default.removeItem(atPath: fleet.releaseDirectory + "/release-1.tar.gz")
        // A deleted release's number is not handed out again.
        #expect(try fleet.publish(version: 2) == 2)
        let listed = try fleet.server.admin(["client-release", "--list", "--json"])
        #expect(listed.status == 0)
        guard case .array(let records) = try JSONValue.parse(Data(listed.stdout.utf8)) else {
            Issue.record("not a list")
            return
        }
        #expect(records.map { $0["number"] } == [.integer(2)])
        #expect(try fleet.server.admin(["client-release", "--list"]).stdout.contains("2  "))

        // Nothing a device must keep secret is in it, and every file is in the signed manifest.
        let entries = try TarArchive.entries(in: Gzip.decompress(try fleet.tarball(2), maxBytes: 1 << 30))
        #expect(entries.prefix(2).map(\.path) == ["manifest.json", "manifest.json.sig"])
        let manifest = try ReleaseManifest.decode(entries[0].contents)
        #expect(manifest.release == 2)
        #expect(Set(manifest.files.map(\.path)) == Set(entries.dropFirst(2).map(\.path)))
        #expect(manifest.files.contains { $0.path == "lib/rookery/rookery-client" && $0.mode == 0o755 })
        #expect(manifest.files.contains { $0.path == "client/server-key.asc" })
        for entry in entries {
            #expect(!String(decoding: entry.contents, as: UTF8.self).contains("PRIVATE KEY"), "\(entry.path)")
        }
    }

    @Test func alteredReleasesAreRefusedAndTheDeviceKeepsWorking() throws {
        let fleet = try ReleaseFleet(devices: ["t1", "t2"])
        let device = fleet["t1"]
        try fleet.publish(version: 1)
        #expect(try fleet.update(device).status == 0)
        #expect(try fleet.release(of: device) == 1)

        // 1. A byte of the tarball changed after the server checked the file, keeping its size,
        // inode and time (bit rot, or a copy that restores times): the server's remembered
        // verdict still offers it, and the device, checking the download against the signed
        // answer, refuses it. (A change the server can see is not offered at all: next step.)
        let good = try fleet.publish(version: 2)
        let path = fleet.releaseDirectory + "/release-\(good).tar.gz"
        let entries = try TarArchive.entries(in: Gzip.decompress(try fleet.tarball(good), maxBytes: 1 << 30))
        // Past the two seconds in which the server does not remember a verdict on a new file.
        Thread.sleep(forTimeInterval: 2.5)
        #expect(try fleet.update(fleet["t2"]).status == 0, "t2 takes release 2, whole")
        try Self.flipByteInPlaceKeepingTime(path)
        try expectRefused(fleet, device, containing: "not the one the signed answer describes")
        // A bad download is fetched again next time (it may have been the network's fault).
        try expectRefused(fleet, device, containing: "not the one the signed answer describes")
        // Once the file's time moves, the server checks it again and offers release 2 no more.
        var now = [timespec(tv_sec: time(nil), tv_nsec: 0), timespec(tv_sec: time(nil), tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &now, 0) == 0)
        let passedOver = try fleet.update(device)
        #expect(passedOver.status == 0 && (passedOver.report["release_problem"] ?? .null) == .null, "\(passedOver.report.serializedString)")
        #expect(try fleet.release(of: device) == 1)

        // 2. A file changed inside, the manifest kept (and the server's record made to match).
        try fleet.rewriteRecord(
            good,
            tarball: try repack(entries, renumber: nil) { entry in
                entry.path == "client/plugins/version.sh" ? Data("#!/bin/sh\necho evil\n".utf8) : entry.contents
            })
        try expectRefused(fleet, device, containing: "SHA-256")
        // The authentic tarball, refused for what it is, is not fetched again.
        try expectRefused(fleet, device, containing: "was refused before")

        // 3. The manifest changed to match (a higher number), the old signature kept.
        try fleet.rewriteRecord(good, tarball: try repack(entries, renumber: 50) { $0.contents })
        try expectRefused(fleet, device, containing: "signature")

        // 4. A manifest signed by another key.
        let other = OpenPGP(homeDirectory: try fleet.sandbox.directory("other-gpg"))
        try other.prepareHome()
        let otherKey = try other.generateSigningKey(userID: "not the server")
        let manifest = try manifestRenumbered(entries[0].contents, to: 51)
        let otherSignature = try other.sign(manifest, fingerprint: otherKey)
        try fleet.rewriteRecord(
            good,
            tarball: try repack(entries, renumber: nil) { entry in
                switch entry.path {
                case "manifest.json": manifest
                case "manifest.json.sig": otherSignature
                default: entry.contents
                }
            })
        try expectRefused(fleet, device, containing: "signature does not check out")

        // After all that the device runs its release and reports as before.
        #expect(try fleet.release(of: device) == 1)
        #expect(try device.run("collect").status == 0)
        #expect(try device.run("submit").status == 0)
        #expect(try fleet.document(of: "t1")["plugins"]?["version"]?["v"] == .integer(1))
    }

    @Test func anOlderOrEqualReleaseNumberIsRefused() throws {
        let fleet = try ReleaseFleet(devices: ["o1"])
        let device = fleet["o1"]
        let first = try fleet.publish(version: 1)
        let second = try fleet.publish(version: 2)
        #expect(try fleet.update(device).status == 0)
        #expect(try fleet.release(of: device) == second)

        // The server offers release 3, but what it serves is (validly signed) release 1, then 2.
        let third = try fleet.publish(version: 3)
        try fleet.rewriteRecord(third, tarball: try fleet.tarball(first))
        try expectRefused(fleet, device, containing: "is not newer than the installed release \(second)")
        #expect(try fleet.release(of: device) == second)
        try fleet.rewriteRecord(third, tarball: try fleet.tarball(second))
        try expectRefused(fleet, device, containing: "release 2 is not newer")
        #expect(try fleet.release(of: device) == second)
    }

    @Test func killedInstallsAndAServerRestartNeverBreakTheDevice() throws {
        let fleet = try ReleaseFleet(devices: ["k1"])
        let device = fleet["k1"]
        try fleet.publish(version: 1)
        #expect(try fleet.update(device).status == 0)
        // A large release takes long enough to fetch and install that the kills land inside it.
        let blob = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: 8 << 20)
        try blob.write(to: URL(fileURLWithPath: fleet.source + "/client/plugins/padding.dat"))
        let big = try fleet.publish(version: 2)

        var interrupted = 0
        for delay in [30_000, 120_000, 250_000, 400_000, 700_000] as [useconds_t] {
            let cron = try startClient(device, ["update"])
            usleep(delay)
            kill(cron.processIdentifier, SIGKILL)
            cron.waitUntilExit()
            // Still on the old release: this kill landed inside the update, before the switch.
            if try fleet.release(of: device) == 1 { interrupted += 1 }
            try expectWorking(device, fleet: fleet, releaseIn: [1, big])
        }
        #expect(interrupted > 0, "no kill landed inside an update")
        // The server goes away mid-way: the device stays on a whole release and says why.
        let cron = try startClient(device, ["update"])
        usleep(50_000)
        fleet.server.kill()
        cron.waitUntilExit()
        try expectWorking(device, fleet: fleet, releaseIn: [1, big])
        try fleet.server.start()
        #expect(try fleet.update(device).status == 0)
        #expect(try fleet.release(of: device) == big)
        try expectWorking(device, fleet: fleet, releaseIn: [big])
    }

    // MARK: - Helpers

    /// Changes one byte in the middle of the file where it lies (same inode and size) and puts
    /// its modification time back as it was, to the nanosecond.
    static func flipByteInPlaceKeepingTime(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0, let file = FileHandle(forUpdatingAtPath: path) else {
            throw SettingsError("cannot open \(path)")
        }
        let middle = UInt64(info.st_size / 2)
        try file.seek(toOffset: middle)
        let byte = try file.read(upToCount: 1) ?? Data([0])
        try file.seek(toOffset: middle)
        try file.write(contentsOf: Data([byte[byte.startIndex] ^ 0xFF]))
        try file.close()
        var times = [info.st_atim, info.st_mtim]
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else { throw SettingsError("cannot set the time of \(path)") }
    }

    private func expectRefused(
        _ fleet: ReleaseFleet, _ device: ClientRoot, containing text: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (status, report) = try fleet.update(device)
        #expect(status == 1, sourceLocation: sourceLocation)
        let problem = report["release_problem"]?.stringValue ?? ""
        #expect(problem.contains(text), "\(problem)", sourceLocation: sourceLocation)
        let stays = try fleet.release(of: device)
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: device.root + "/current") == "releases/\(stays)",
            sourceLocation: sourceLocation)
        #expect(try device.run("collect").status == 0, sourceLocation: sourceLocation)
    }

    /// The device runs: a release is current and whole, and `cron` (collect + submit) works.
    private func expectWorking(
        _ device: ClientRoot, fleet: ReleaseFleet, releaseIn allowed: [Int],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let release = try fleet.release(of: device)
        #expect(allowed.contains(release), "release \(release)", sourceLocation: sourceLocation)
        let binary = device.root + "/current/lib/rookery/rookery-client"
        #expect(FileManager.default.isExecutableFile(atPath: binary), sourceLocation: sourceLocation)
        let ran = try runProcess(binary, ["collect"], environment: ["ROOKERY_HOME": device.root, "PATH": "/usr/bin:/bin"])
        #expect(ran.status == 0, "\(ran.stderr)", sourceLocation: sourceLocation)
    }

    private func startClient(_ device: ClientRoot, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaryDirectory + "/rookery-client")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["ROOKERY_HOME": device.root]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The entries again as a tarball, the manifest optionally given a new number (its old
    /// signature kept), each file's contents from `contents`.
    private func repack(_ entries: [TarEntry], renumber: Int?, contents: (TarEntry) -> Data) throws -> Data {
        let members = try entries.map { entry -> TarMember in
            var data = contents(entry)
            if entry.path == "manifest.json", let renumber { data = try manifestRenumbered(data, to: renumber) }
            return TarMember(path: entry.path, mode: entry.mode, contents: data)
        }
        return try Gzip.compress(try TarArchive.archive(members))
    }

    private func manifestRenumbered(_ manifest: Data, to number: Int) throws -> Data {
        var object = try JSONValue.parse(manifest).objectValue ?? [:]
        object["release"] = .integer(Int64(number))
        return JSONValue.object(object).serialized()
    }
}
