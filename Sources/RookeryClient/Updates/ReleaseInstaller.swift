import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// A release or patch the device will not install, and why.
public struct UpdateRefused: KindedError {
    public let description: String
    public var kind: ErrorKind { .failed }
    init(_ description: String) { self.description = description }
}

/// A release the device refuses for what it is (its signature, number, files or binary), not for
/// how it arrived: fetching the same tarball again would be refused again.
public struct ReleaseRefused: KindedError {
    public let description: String
    public var kind: ErrorKind { .failed }
    init(_ description: String) { self.description = description }
}

/// Installs a release tarball: checks the manifest's signature against the pinned server key,
/// refuses a number that is not higher than the installed one, checks every file against the
/// manifest, unpacks beside the running release and switches the `current` link in one rename.
/// Until that rename the device runs its old release untouched; a crash or `kill -9` at any
/// point leaves it on the old release or the new one, both whole. The device's own
/// `client/settings.yml`, `client/commands/` and `var/` are never touched.
public struct ReleaseInstaller: Sendable {
    let root: InstallRoot
    let pinnedKey: PinnedServerKey
    let log: ClientLog
    /// Decompressed, a release may not be larger than this.
    static let maxUnpackedBytes = 1 << 30

    public init(root: InstallRoot, log: ClientLog) {
        self.root = root
        self.pinnedKey = PinnedServerKey(root: root)
        self.log = log
    }

    /// The installed release's number; 0 for a device set up without one.
    public static func installedNumber(_ root: InstallRoot) -> Int {
        guard let data = FileManager.default.contents(atPath: root.clientManifest),
            let manifest = try? ReleaseManifest.decode(data)
        else { return 0 }
        return manifest.release
    }

    /// Installs and returns the new release's number, or throws why not (the old one stays).
    /// `expected`: the number the signed update answer offered, which the manifest must carry.
    @discardableResult
    public func install(tarball: Data, expected: Int? = nil) throws -> Int {
        let entries: [TarEntry]
        do { entries = try TarArchive.entries(in: try Gzip.decompress(tarball, maxBytes: Self.maxUnpackedBytes)) } catch let error as TarError {
            throw ReleaseRefused("the tarball cannot be unpacked: \(error)")
        }
        let manifest = try verifiedManifest(entries)
        let installed = Self.installedNumber(root)
        guard manifest.release > installed else {
            throw ReleaseRefused("release \(manifest.release) is not newer than the installed release \(installed)")
        }
        if let expected, manifest.release != expected {
            throw ReleaseRefused("the manifest says release \(manifest.release), the signed answer offered \(expected)")
        }
        let files = try matchedFiles(entries, manifest: manifest)
        let directory = try unpack(files, manifestEntries: Array(entries.prefix(2)), number: manifest.release)
        let previous = Self.relativeTarget(of: root.clientCurrentLink)
        // Before the switch: a kill between the two must not leave the setup plugins shadowing
        // every later release's.
        if previous == nil { setAsideSetupPlugins() }
        try switchCurrent(to: directory)
        pruneOldReleases(keeping: [directory, previous ?? Self.setupRelease])
        log.info("installed release \(manifest.release) (was \(installed))")
        return manifest.release
    }

    /// The manifest, provided its signature (the second member) is by the pinned server key.
    func verifiedManifest(_ entries: [TarEntry]) throws -> ReleaseManifest {
        guard entries.count >= 2, entries[0].path == ReleaseManifest.manifestName,
            entries[1].path == ReleaseManifest.signatureName
        else {
            throw ReleaseRefused("the tarball does not start with \(ReleaseManifest.manifestName) and its signature")
        }
        do {
            try pinnedKey.verify(signature: entries[1].contents, data: entries[0].contents)
        } catch {
            throw ReleaseRefused("the manifest's signature does not check out: \(error)")
        }
        do { return try ReleaseManifest.decode(entries[0].contents) } catch { throw ReleaseRefused("the signed manifest cannot be read: \(error)") }
    }

    /// Every member after the manifest, each matching its manifest line, and every line matched once.
    func matchedFiles(_ entries: [TarEntry], manifest: ReleaseManifest) throws -> [(ReleaseManifest.File, Data)] {
        var expected = [String: ReleaseManifest.File]()
        for file in manifest.files {
            guard InputValidation.isSafeRelativePath(file.path), expected[file.path] == nil,
                file.path != ReleaseManifest.manifestName, file.path != ReleaseManifest.signatureName
            else {
                throw ReleaseRefused("the manifest lists an unsafe or repeated path: \(file.path)")
            }
            expected[file.path] = file
        }
        var matched: [(ReleaseManifest.File, Data)] = []
        for entry in entries.dropFirst(2) where !entry.isDirectory {
            guard let file = expected.removeValue(forKey: entry.path) else {
                throw ReleaseRefused("\(entry.path) is in the tarball but not in the manifest (or twice)")
            }
            guard entry.contents.count == file.size, ReleaseManifest.sha256Hex(entry.contents) == file.sha256 else {
                throw ReleaseRefused("\(entry.path) does not match its SHA-256 in the manifest")
            }
            matched.append((file, entry.contents))
        }
        if let missing = expected.keys.sorted().first {
            throw ReleaseRefused("\(missing) is in the manifest but not in the tarball")
        }
        return matched
    }

    /// Writes the release into a private staging directory, then renames it to releases/N.
    /// Returns "releases/N" (relative to the install root, as the `current` link holds it).
    func unpack(_ files: [(ReleaseManifest.File, Data)], manifestEntries: [TarEntry], number: Int) throws -> String {
        let releases = root.clientReleases
        try FileManager.default.createDirectory(
            atPath: releases, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        let staging = releases + "/.incoming-\(number)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(
            atPath: staging, withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o755])
        do {
            for entry in manifestEntries { try Self.writeNew(entry.contents, to: staging + "/" + entry.path, mode: 0o644) }
            for (file, contents) in files {
                try Self.makeParents(of: file.path, under: staging)
                // Nobody but root writes a release; set-id bits never come from the network.
                try Self.writeNew(contents, to: staging + "/" + file.path, mode: mode_t(file.mode & 0o755))
            }
            try checkBinaryRuns(in: staging)
            let final = "releases/\(number)"
            // Left over from an install that was killed before it switched; never the current one.
            try? FileManager.default.removeItem(atPath: root.path + "/" + final)
            guard rename(staging, root.path + "/" + final) == 0 else { throw AtomicFile.posixError("rename into \(final)") }
            Self.syncDirectory(releases)
            return final
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    /// The client binary of the unpacked release must start: a release whose binary cannot run
    /// (another architecture, a broken build) would leave the device unable to run client-cron.
    func checkBinaryRuns(in directory: String) throws {
        let binary = directory + "/lib/rookery/rookery-client"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ReleaseRefused("the release has no executable lib/rookery/rookery-client")
        }
        let ran: PluginProcessResult
        do {
            ran = try PluginProcess.run(
                executable: binary, arguments: ["--help"],
                environment: ["ROOKERY_HOME": root.path, "PATH": "/usr/bin:/bin"], timeout: 60)
        } catch {
            // Another architecture, or not a program at all.
            throw ReleaseRefused("the release's client binary cannot start: \(error)")
        }
        guard ran.ending == .exited(0) else {
            throw ReleaseRefused("the release's client binary does not run (\(ran.ending)): \(String(decoding: ran.stderr.prefix(300), as: UTF8.self))")
        }
    }

    /// Points `current` at `target` with one rename of a new symlink over the old one.
    func switchCurrent(to target: String) throws {
        let temporary = root.path + "/.current-\(UUID().uuidString.prefix(8))"
        guard symlink(target, temporary) == 0 else { throw AtomicFile.posixError("symlink \(temporary)") }
        guard rename(temporary, root.clientCurrentLink) == 0 else {
            unlink(temporary)
            throw AtomicFile.posixError("switch \(root.clientCurrentLink)")
        }
        Self.syncDirectory(root.path)
    }

    /// Where the first release puts what the device ran before it had releases.
    static let setupRelease = "releases/setup"

    /// Until its first release a device runs its own tree, so `client/plugins` held the release's
    /// plugins; from now on the release brings them, and that directory is for the device's own
    /// (added by patches), which would otherwise shadow the release's forever.
    func setAsideSetupPlugins() {
        let aside = root.path + "/" + Self.setupRelease + "/client"
        guard FileManager.default.fileExists(atPath: root.clientPlugins),
            (try? FileManager.default.createDirectory(atPath: aside, withIntermediateDirectories: true)) != nil,
            rename(root.clientPlugins, aside + "/plugins") == 0
        else { return }
        log.info("first release: the plugins the device was set up with are now in \(Self.setupRelease)")
    }

    /// Keeps the new release and the one before it; removes older ones and leftovers of killed installs.
    func pruneOldReleases(keeping: [String]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.clientReleases)) ?? []
        for name in names where !keeping.contains("releases/" + name) {
            try? FileManager.default.removeItem(atPath: root.clientReleases + "/" + name)
        }
    }

    static func relativeTarget(of link: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: link)
    }

    private static func makeParents(of path: String, under directory: String) throws {
        let parent = PathText.parent(path)
        guard !parent.isEmpty else { return }
        try FileManager.default.createDirectory(
            atPath: directory + "/" + parent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
    }

    /// Creates a file that must not exist yet (never through a link), writes and syncs it, then
    /// drops it from the page cache. Written in one piece, the client binary would stay cached as a
    /// few large folios, and a process maps a cached folio whole: every idle `client-cron` run of
    /// the new release then had a peak RSS of 21 MB instead of 9, until the kernel evicted the
    /// pages. Read back from disk, they come in readahead-sized pieces.
    private static func writeNew(_ data: Data, to path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AtomicFile.posixError("create \(path)") }
        defer { close(fd) }
        guard AtomicFile.writeAll(data, to: fd), fchmod(fd, mode) == 0, fsync(fd) == 0 else { throw AtomicFile.posixError("write \(path)") }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
    }

    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
