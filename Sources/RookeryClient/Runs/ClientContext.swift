import FoundationEssentials
import Glibc
import RookeryCore

/// What every client command opens from the install root.
public struct ClientContext: Sendable {
    public let root: InstallRoot
    public let settings: ClientSettings
    /// Where each of `settings` came from (release, owner, default), for `status`.
    public let settingSources: SourcedClientSettings
    /// Why the settings files were refused, while the device runs on its last good settings
    /// (see `DeviceSettings`); the next collection carries it to the server.
    public let settingsProblem: String?
    public let log: ClientLog
    public let openPGP: OpenPGP

    public init(root: InstallRoot, interactive: Bool) throws {
        self.root = root
        try FileManager.default.createDirectory(
            atPath: root.clientState, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        log = ClientLog(path: root.clientState + "/client.log", echoWarnings: interactive)
        let loaded = try DeviceSettings.load(root, log: log)
        settings = loaded.settings.settings
        settingSources = loaded.settings
        settingsProblem = loaded.problem
        openPGP = OpenPGP(homeDirectory: root.clientGnuPGHome)
    }

    public var statePath: String { root.clientState + "/state.json" }
    public func loadState() -> ClientState { ClientState.load(from: statePath) }
    public func save(_ state: ClientState) throws { try state.save(to: statePath) }

    /// Remembers when a collection or a delivery last ran (`\.lastCollect`, `\.lastSubmit`).
    public func recordRun(_ run: WritableKeyPath<ClientState, Date?>, at date: Date) throws {
        var state = loadState()
        state[keyPath: run] = date
        try save(state)
    }

    public func queue() throws -> SubmissionQueue { try SubmissionQueue(stateDirectory: root.clientState) }

    /// One client run at a time per install root: cron runs give up when another run holds the
    /// lock (`wait: false` gives nil); commands run by hand wait for it, so they never race a cron
    /// run over the queue.
    public func runLock(wait: Bool) throws -> FileLock? {
        let path = root.clientState + "/cron.lock"
        return wait ? try FileLock(path: path, access: .owner) : try FileLock.ifFree(path: path, access: .owner)
    }

    public var connection: ServerConnection { connection(timeoutSeconds: settings.requestTimeout) }

    /// The server as the release describes it: its URLs, and the CA it pins when it carries one.
    /// With several (`server_urls`), the one that answered last is tried first, and a request
    /// another one answers makes that one first from then on.
    public func connection(timeoutSeconds: Int) -> ServerConnection {
        let urls = settings.serverURLs
        let path = serverInUsePath
        let inUse = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }?
            .split(separator: "\n").first.map(String.init)
        let ordered = inUse.map { used in urls.contains(used) ? [used] + urls.filter { $0 != used } : urls } ?? urls
        let log = self.log
        return ServerConnection(baseURLs: ordered, timeoutSeconds: timeoutSeconds, caFile: pinnedCA) { answered in
            guard urls.count > 1, answered != ordered[0] else { return }
            log.warning("\(ordered[0]) did not answer; \(answered) did, and is tried first from now on")
            try? AtomicFile.write(Data((answered + "\n").utf8), to: path, mode: 0o644)
        }
    }

    /// The server URL that answered last, when `server_urls` names several.
    var serverInUsePath: String { root.clientState + "/server-in-use" }

    /// The pinned CA file: there, or listed in the installed release's manifest. A pin the release
    /// carries but the disk lost is still passed on, so libcurl fails to load it and the device
    /// stops, rather than trusting the system's CAs in its place.
    public var pinnedCA: String? {
        if FileManager.default.fileExists(atPath: root.clientServerCA) { return root.clientServerCA }
        let manifest = FileManager.default.contents(atPath: root.clientManifest).flatMap { try? ReleaseManifest.decode($0) }
        return manifest?.files.contains { $0.path == "client/server-ca.pem" } == true ? root.clientServerCA : nil
    }

    /// `message`, signed by the device's own key under its checked hostname.
    public func signedRequest(_ message: some RequestMessage, by identity: DeviceIdentity) throws -> SignedRequest {
        try SignedRequest.make(message, host: try validHostname(), fingerprint: identity.fingerprint, signer: openPGP)
    }

    /// The name this device reports, checked before anything is signed with it: a name the server
    /// would refuse must stop delivery, not send every collection to rejected/.
    public func validHostname() throws -> String {
        let name = hostname
        guard InputValidation.isHostname(name) else {
            throw SettingsError("hostname \"\(name)\" is not valid (letters, digits, '-' and '.'); set hostname in \(root.clientSettings)")
        }
        return name
    }

    /// The name this device reports: the setting, or the system's hostname.
    public var hostname: String {
        if !settings.hostname.isEmpty { return settings.hostname }
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
