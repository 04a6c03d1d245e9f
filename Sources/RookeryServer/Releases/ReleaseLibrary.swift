import Foundation
import RookeryCore

/// One published client release, as listed by `bin/client_release --list`.
public struct ReleaseRecord: Codable, Sendable, Equatable {
    public let number: Int
    public let createdAt: String
    /// Of the compressed tarball, which is what devices download and check first.
    public let size: Int
    public let sha256: String
    public let files: Int
    /// The groups (`bin/groups`) whose members are offered it; nil: every device.
    public let groups: [String]?

    public init(number: Int, createdAt: String, size: Int, sha256: String, files: Int, groups: [String]? = nil) {
        self.number = number
        self.createdAt = createdAt
        self.size = size
        self.sha256 = sha256
        self.files = files
        self.groups = groups
    }

    enum CodingKeys: String, CodingKey {
        case number
        case createdAt = "created_at"
        case size, sha256, files, groups
    }

    public var offer: ReleaseOffer { ReleaseOffer(number: number, size: size, sha256: sha256) }
}

/// The published releases in `client_releases_directory` (`var/client_releases/`):
/// `release-N.tar.gz` and its record `release-N.json`, written last, so a release without a
/// record is not published yet. Devices are offered and served only a release whose tarball
/// matches its record (`TarballCheck`).
public struct ReleaseLibrary: Sendable {
    public let directory: String
    private let tarballs = TarballCheck()

    public init(directory: String) { self.directory = directory }

    public func tarballPath(_ number: Int) -> String { directory + "/release-\(number).tar.gz" }
    private func recordPath(_ number: Int) -> String { directory + "/release-\(number).json" }

    /// Every published release, lowest number first.
    public func list() throws -> [ReleaseRecord] {
        try recordNames().map { name in
            guard let record = readRecord(name) else {
                throw DamagedFile("\(directory)/\(name)", "devices skip that release until it is fixed or removed")
            }
            return record
        }.sorted { $0.number < $1.number }
    }

    /// The newest release devices can have. A damaged record, or one whose tarball does not match
    /// it (yet), is passed over here (devices keep updating to the newest good one); `list()`
    /// names a damaged record to the admin.
    /// A release for some groups (`groups`) is not: devices outside them, new devices
    /// (`download_release`), the agent's poll and the dashboard go by this one.
    public func latest() throws -> ReleaseRecord? {
        try offerable().first { $0.groups == nil }
    }

    /// Every release devices can have, newest first (see `latest`): a device is offered the
    /// newest one meant for it (`groups`).
    public func offerable() throws -> [ReleaseRecord] {
        try recordNames().compactMap(readRecord).sorted { $0.number > $1.number }
            .filter { tarballs.matches(tarballPath($0.number), $0) }
    }

    /// Release `number` as devices may have it: published, its tarball matching its record.
    public func servable(_ number: Int) -> ReleaseRecord? {
        readRecord("release-\(number).json").flatMap { tarballs.matches(tarballPath(number), $0) ? $0 : nil }
    }

    private func recordNames() throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("release-") && $0.hasSuffix(".json") }
    }

    private func readRecord(_ name: String) -> ReleaseRecord? {
        FileManager.default.contents(atPath: directory + "/" + name)
            .flatMap { try? JSONDecoder().decode(ReleaseRecord.self, from: $0) }
    }

    /// Publishes a release under the next number, which is higher than every release ever
    /// published here (a lock keeps two `client_release` runs from taking the same one).
    /// `build` gets the number and returns the tarball and how many files it holds.
    public func publish(
        groups: [String]? = nil, _ build: (Int) async throws -> (tarball: Data, files: Int),
        now: Date = Date()
    ) async throws -> ReleaseRecord {
        // A release may carry an enrollment token: readable by the server's user and group only.
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o750])
        try FileManager.default.setAttributes([.posixPermissions: 0o750], ofItemAtPath: directory)
        let lock = try FileLock(path: directory + "/.publish.lock")
        defer { lock.release() }
        let number = try nextNumber()
        try Data("\(number)\n".utf8).write(to: URL(fileURLWithPath: highestPath), options: .atomic)
        let (tarball, files) = try await build(number)
        let record = ReleaseRecord(
            number: number, createdAt: RFC3339.string(from: now), size: tarball.count,
            sha256: ReleaseManifest.sha256Hex(tarball), files: files, groups: groups)
        // Owned like the directory (the server's user, set up by server-setup.sh), whoever publishes.
        let owner = try directoryOwner()
        try AtomicFile.write(tarball, to: tarballPath(number), mode: 0o640, owner: owner)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(try encoder.encode(record), to: recordPath(number), mode: 0o640, owner: owner)
        return record
    }

    private var highestPath: String { directory + "/.highest" }

    private func directoryOwner() throws -> (uid_t, gid_t) {
        let attributes = try FileManager.default.attributesOfItem(atPath: directory)
        return (
            (attributes[.ownerAccountID] as? NSNumber)?.uint32Value ?? getuid(),
            (attributes[.groupOwnerAccountID] as? NSNumber)?.uint32Value ?? getgid()
        )
    }

    /// One more than the highest number ever handed out here (remembered in `.highest`, and
    /// checked against the files), so a number is never used twice, even after a failed or
    /// deleted release: devices refuse a number they have seen.
    private func nextNumber() throws -> Int {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        let numbers = names.compactMap { name -> Int? in
            guard name.hasPrefix("release-") else { return nil }
            return Int(name.dropFirst("release-".count).prefix { $0.isNumber })
        }
        let remembered =
            (try? String(contentsOfFile: highestPath, encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        return max(numbers.max() ?? 0, remembered) + 1
    }
}
