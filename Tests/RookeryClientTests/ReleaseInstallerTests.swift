import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

#if canImport(Glibc)
import Glibc
#endif

/// `ReleaseInstaller` on a sandbox device: tarballs are built here exactly as the server's
/// ReleaseBuilder builds them (manifest.json, manifest.json.sig, then the files; gzip), signed by a
/// real server key pinned in `<root>/client/server-key.asc`.
@Suite struct ReleaseInstallerTests {
    let sandbox: Sandbox
    let root: InstallRoot
    let server: OpenPGP, serverKey: String
    let log: ClientLog

    init() throws {
        sandbox = try Sandbox()
        root = InstallRoot(path: try sandbox.directory("r"))
        server = OpenPGP(homeDirectory: sandbox.path + "/s")
        try server.prepareHome()
        serverKey = try server.generateSigningKey(userID: "rookery server")
        log = ClientLog(path: sandbox.path + "/client.log", echoWarnings: false)
        // A device as client-setup.sh leaves it: its own tree, no release yet.
        try sandbox.write(try server.exportPublicKey(fingerprint: serverKey), to: "r/client/server-key.asc")
        try sandbox.write("allow_commands: false\n", to: "r/client/settings.yml", mode: 0o600)
        try sandbox.write("#!/bin/sh\necho '{\"setup\":true}'\n", to: "r/client/plugins/setup.sh", mode: 0o755)
        try sandbox.write("{\"enrolled\":true}", to: "r/var/client/state.json", mode: 0o600)
        try sandbox.write("{\"plugins\":{}}", to: "r/var/collected/item-1", mode: 0o600)
    }

    @Test func goodReleaseInstalls() throws {
        #expect(ReleaseInstaller.installedNumber(root) == 0)
        #expect(try installer().install(tarball: try tarball(1)) == 1)

        #expect(currentTarget() == "releases/1")
        #expect(ReleaseInstaller.installedNumber(root) == 1)
        for file in releaseFiles(1) {
            let path = root.path + "/releases/1/" + file.path
            #expect(FileManager.default.contents(atPath: path) == file.contents, "\(file.path)")
            #expect(mode(path) == file.mode, "\(file.path)")
        }
        #expect(FileManager.default.fileExists(atPath: root.path + "/releases/1/" + ReleaseManifest.signatureName))
        #expect(FileManager.default.contents(atPath: root.clientReleaseSettings) == Data("release: 1\n".utf8))
    }

    @Test func firstInstallMovesSetupPluginsAside() throws {
        try installer().install(tarball: try tarball(1))
        #expect(!FileManager.default.fileExists(atPath: root.clientPlugins))
        let aside = root.path + "/releases/setup/client/plugins/setup.sh"
        #expect(FileManager.default.contents(atPath: aside) == Data("#!/bin/sh\necho '{\"setup\":true}'\n".utf8))
        // The release's own plugins are the ones that run now.
        #expect(FileManager.default.fileExists(atPath: root.clientReleasePlugins + "/hello.sh"))
    }

    @Test func secondInstallKeepsNewAndPreviousAndRemovesLeftovers() throws {
        try installer().install(tarball: try tarball(1))
        // What an install killed before it switched leaves behind.
        try sandbox.write("half", to: "r/releases/.incoming-9-deadbeef/lib/rookery/rookery-client")

        #expect(try installer().install(tarball: try tarball(2)) == 2)
        #expect(currentTarget() == "releases/2")
        #expect(ReleaseInstaller.installedNumber(root) == 2)
        #expect(try entries(root.clientReleases) == ["1", "2"])

        try installer().install(tarball: try tarball(3))
        #expect(try entries(root.clientReleases) == ["2", "3"])
    }

    enum Broken: String, CaseIterable, CustomTestStringConvertible {
        case memberNotInManifest, manifestFileMissingFromTarball, fileNotMatchingItsHash,
            manifestListsDotDot, manifestNotFirst, notGzip, sameNumberAsInstalled, binaryDoesNotRun,
            binaryIsNotAProgram
        var testDescription: String { rawValue }
    }

    @Test(arguments: Broken.allCases)
    func brokenReleaseIsRefusedAndTheOldOneStays(_ broken: Broken) throws {
        try installer().install(tarball: try tarball(1))
        let before = try snapshot(root.path + "/releases/1")

        let error = #expect(throws: (any Error).self) { try installer().install(tarball: try brokenTarball(broken)) }
        #expect(error.map { "\($0)" }?.contains(Self.expectedProblem[broken]!) == true, "\(String(describing: error))")

        #expect(currentTarget() == "releases/1")
        #expect(ReleaseInstaller.installedNumber(root) == 1)
        #expect(try snapshot(root.path + "/releases/1") == before)
        #expect(try entries(root.clientReleases) == ["1", "setup"])
    }

    @Test func devicesOwnSettingsAndVarAreUntouched() throws {
        let settings = try snapshot(root.path + "/client", only: ["settings.yml"])
        // The pinned-key keyring in var/client is the installer's own working space.
        let state = try snapshot(root.path + "/var", skipping: "client/server-keyring")
        #expect(!state.isEmpty)

        try installer().install(tarball: try tarball(1))
        try installer().install(tarball: try tarball(2))

        #expect(try snapshot(root.path + "/client", only: ["settings.yml"]) == settings)
        #expect(try snapshot(root.path + "/var", skipping: "client/server-keyring") == state)
    }

    // MARK: - Helpers

    func installer() -> ReleaseInstaller { ReleaseInstaller(root: root, log: log) }

    /// The files of release `number`, as ReleaseBuilder gathers them (binary, plugins, key, settings).
    func releaseFiles(_ number: Int) -> [TarMember] {
        [
            TarMember(path: "bin/client-cron", mode: 0o755, contents: Data("#!/bin/sh\nexec rookery-client cron\n".utf8)),
            TarMember(path: "client/plugins/hello.sh", mode: 0o755, contents: Data("#!/bin/sh\necho '{\"n\":\(number)}'\n".utf8)),
            TarMember(path: "lib/rookery/rookery-client", mode: 0o755, contents: Data("#!/bin/sh\n# release \(number)\nexit 0\n".utf8)),
            TarMember(path: "client/server-key.asc", mode: 0o644, contents: Data(((try? server.exportPublicKey(fingerprint: serverKey)) ?? "").utf8)),
            TarMember(path: "client/release.yml", mode: 0o644, contents: Data("release: \(number)\n".utf8))
        ]
    }

    /// A good release tarball.
    func tarball(_ number: Int) throws -> Data {
        let files = releaseFiles(number)
        return try gzippedTar(try signedManifest(number, listing: files.map(line)) + files)
    }

    /// A release 2 (or a repeated 1) with one thing wrong, everything else as the server makes it.
    func brokenTarball(_ broken: Broken) throws -> Data {
        let files = releaseFiles(2)
        let lines = files.map(line)
        switch broken {
        case .memberNotInManifest:
            let extra = TarMember(path: "client/plugins/smuggled.sh", mode: 0o755, contents: Data("#!/bin/sh\n".utf8))
            return try gzippedTar(try signedManifest(2, listing: lines) + files + [extra])
        case .manifestFileMissingFromTarball:
            return try gzippedTar(try signedManifest(2, listing: lines) + files.dropLast())
        case .fileNotMatchingItsHash:
            let swapped = files.map {
                $0.path == "lib/rookery/rookery-client"
                    ? TarMember(path: $0.path, mode: $0.mode, contents: Data("ELF rel3ase 2".utf8)) : $0
            }
            return try gzippedTar(try signedManifest(2, listing: lines) + swapped)
        case .manifestListsDotDot:
            let escape = ReleaseManifest.File(path: "../x", contents: Data("x".utf8), mode: 0o644)
            return try gzippedTar(try signedManifest(2, listing: lines + [escape]) + files)
        case .manifestNotFirst:
            return try gzippedTar(files + (try signedManifest(2, listing: lines)))
        case .notGzip:
            return Data("this is not a gzip stream, just some bytes".utf8)
        case .sameNumberAsInstalled:
            return try tarball(1)
        case .binaryDoesNotRun:
            // Validly signed and listed, but the binary fails: the device must not switch to it.
            let broken = files.map {
                $0.path == "lib/rookery/rookery-client"
                    ? TarMember(path: $0.path, mode: $0.mode, contents: Data("#!/bin/sh\necho wrong architecture >&2\nexit 126\n".utf8)) : $0
            }
            return try gzippedTar(try signedManifest(2, listing: broken.map(line)) + broken)
        case .binaryIsNotAProgram:
            let broken = files.map {
                $0.path == "lib/rookery/rookery-client"
                    ? TarMember(path: $0.path, mode: $0.mode, contents: Data("\u{7F}ELF for another machine".utf8)) : $0
            }
            return try gzippedTar(try signedManifest(2, listing: broken.map(line)) + broken)
        }
    }

    static let expectedProblem: [Broken: String] = [
        .memberNotInManifest: "smuggled.sh is in the tarball but not in the manifest",
        .manifestFileMissingFromTarball: "is in the manifest but not in the tarball",
        .fileNotMatchingItsHash: "lib/rookery/rookery-client does not match its SHA-256",
        .manifestListsDotDot: "unsafe",
        .manifestNotFirst: "does not start with manifest.json",
        .notGzip: "gzip",
        .sameNumberAsInstalled: "release 1 is not newer than the installed release 1",
        .binaryDoesNotRun: "client binary does not run",
        .binaryIsNotAProgram: "client binary cannot start"
    ]

    func line(_ member: TarMember) -> ReleaseManifest.File {
        ReleaseManifest.File(path: member.path, contents: member.contents, mode: member.mode)
    }

    /// manifest.json and manifest.json.sig, the first two members of every release.
    func signedManifest(_ number: Int, listing files: [ReleaseManifest.File]) throws -> [TarMember] {
        let manifest = try ReleaseManifest(release: number, createdAt: Date(), files: files).encoded()
        return [
            TarMember(path: ReleaseManifest.manifestName, mode: 0o644, contents: manifest),
            TarMember(
                path: ReleaseManifest.signatureName, mode: 0o644,
                contents: try server.sign(manifest, fingerprint: serverKey))
        ]
    }

    func gzippedTar(_ members: [TarMember]) throws -> Data {
        try Gzip.compress(try TarArchive.archive(members, modificationTime: Int(Date().timeIntervalSince1970)))
    }

    func currentTarget() -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: root.clientCurrentLink)
    }

    func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    func mode(_ path: String) -> Int? {
        var info = stat()
        return lstat(path, &info) == 0 ? Int(info.st_mode) & 0o7777 : nil
    }

    /// Every entry under `directory` (relative path -> mode and contents), to compare before and after.
    func snapshot(_ directory: String, only: [String]? = nil, skipping: String? = nil) throws -> [String: String] {
        var result: [String: String] = [:]
        let names = try FileManager.default.subpathsOfDirectory(atPath: directory)
        for name in names where only.map({ $0.contains(name) }) ?? true {
            if let skipping, name == skipping || name.hasPrefix(skipping + "/") { continue }
            let path = directory + "/" + name
            let contents = FileManager.default.contents(atPath: path).map { $0.base64EncodedString() } ?? "<directory>"
            result[name] = "\(String(mode(path) ?? -1, radix: 8)) \(contents)"
        }
        return result
    }
}
