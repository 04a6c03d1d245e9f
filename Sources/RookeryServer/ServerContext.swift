import Foundation
import Logging
import RookeryCore

/// Everything the server opens from an install root: settings, store, keyring, pools, signing key.
/// Admin commands open an `AdminContext` instead (`admin` gives one over this store), or this where
/// they sign (`client-release`).
public struct ServerContext: Sendable {
    public let root: InstallRoot
    public let settings: ServerSettings
    public let store: any Store
    public let keyring: ServerKeyring
    /// The GnuPG home of the server's signing key; the process's default home, since every
    /// update answer is signed here.
    public let signingHome: OpenPGP
    /// Made on first use: most admin commands (and most tests) never sign anything, and making
    /// or checking the key costs gpg runs and a gpg-agent.
    private let signingKeyCache = Locked<ServerSigningKey?>(nil)
    public let releases: ReleaseLibrary
    /// Threads for blocking work: gpg runs and file reads.
    public let pool: BlockingPool
    /// Enrollment checks running at once, over every port (see `RequestVerifier`).
    public let enrollmentChecks = ConcurrencyGate(limit: 2)
    /// Who may use the admin-facing endpoints; checked when the settings are loaded.
    public let authenticator: EndpointAuthenticator
    /// Records every signed request's nonce, and a submission's document with it, in batches
    /// shared by every port (see `GroupCommitWriter`).
    public let writer: GroupCommitWriter
    /// Shells' and polls' wake-ups in this process, shared by every port.
    public let shell: ShellProcessState
    /// What every port's `ready` check answers (see `HealthController`).
    public let readiness: ServerReadiness
    /// This process's request counts and signature check times, for /metrics.
    public let metrics = ServerMetrics()

    /// `verifyWorkerExecutable`: the `rookery` binary to run signature checks in (see
    /// `VerifierWorkerPool` and `EnrollmentCheckProcess`); nil checks them in this process,
    /// which suits admin commands and tests.
    /// `enrollmentCheckSocket`: where systemd's socket-activated checker listens (see
    /// `EnrollmentCheckSocket`); otherwise enrollment checks run in processes of this binary.
    public init(
        root: InstallRoot, settings: ServerSettings? = nil, verifyWorkerExecutable: String? = nil,
        enrollmentCheckSocket: String? = nil
    ) async throws {
        self.root = root
        let loaded = try settings ?? SettingsFile.load(ServerSettings.self, from: root.serverSettings)
        self.settings = loaded
        authenticator = try EndpointAuthenticator(settings: loaded)
        try EnrollmentTokenStrength.check(loaded)
        try RemoteShellRequirement.check(loaded)
        store = try await AdminContext.openStore(loaded, root: root)
        shell = ShellProcessState(store: store)
        readiness = ServerReadiness(store: store)
        // Nonces are kept for twice the skew: older ones belong to requests refused as stale anyway.
        writer = GroupCommitWriter(
            store: store, nonceLifetime: 2 * TimeInterval(loaded.allowedClockSkew),
            maxBatch: loaded.commitBatchMax, maxWait: .milliseconds(loaded.commitBatchWaitMs))
        pool = BlockingPool(width: loaded.verifyThreads)
        let enrollmentChecker: any EnrollmentChecking =
            if let enrollmentCheckSocket {
                EnrollmentCheckSocket(path: enrollmentCheckSocket)
            } else if let verifyWorkerExecutable {
                EnrollmentCheckProcess(executable: verifyWorkerExecutable, user: loaded.untrustedUserForChecks)
            } else {
                InProcessEnrollmentChecker(scratchDirectory: root.serverState + "/scratch")
            }
        signingHome = OpenPGP(homeDirectory: root.serverGnuPGHome)
        try signingHome.prepareHome()
        signingHome.makeProcessDefault()
        keyring = try ServerKeyring(
            homeDirectory: root.serverDeviceKeyring, enrollmentChecker: enrollmentChecker,
            pool: pool,
            verifier: verifyWorkerExecutable.map {
                VerifierWorkerPool(executable: $0, homeDirectory: root.serverDeviceKeyring)
            },
            native: loaded.verifyWith == .native ? NativeSignatureVerifier() : nil)
        releases = ReleaseLibrary(directory: root.resolve(loaded.clientReleasesDirectory))
    }

    /// The settings and store alone, for the admin services (`IssuesAudit`, ...).
    public var admin: AdminContext { AdminContext(root: root, settings: settings, store: store) }

    /// The server's signing key, found (or made) and checked against server/server-key.asc the
    /// first time it is asked for; `rookery server` asks at start, so a wrong key stops it there.
    public func signingKey() throws -> ServerSigningKey {
        try signingKeyCache.withLock { cached in
            if let cached { return cached }
            let key = try ServerSigningKey.loadOrCreate(root: root, openPGP: signingHome, pool: pool)
            cached = key
            return key
        }
    }
}
