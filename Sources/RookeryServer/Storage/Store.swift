import Foundation
import RookeryCore

/// Everything the server keeps, as the parts each area of the server uses: devices and the
/// checks of signed requests (`DeviceStore`), submissions and documents (this protocol's own
/// methods), patches (`PatchStore`), the audit's issues, secret keeping, shell sessions and agent
/// wake-ups. Service code talks only to these protocols, so the SQLite store and the PostgreSQL
/// store are interchangeable, and a backend can be built and tested one part at a time. Every
/// method is one transaction.
public protocol Store: DeviceStore, PatchStore, IssueStore, SecretKeepingStore, ShellSessionStore, AgentWakeupStore,
    GuessAttemptStore, FleetReadStore, ComplianceStore, ExceptionStore, GroupStore,
    ManagedStateStore
{
    /// Where the database's schema stands against this binary's migrations (one small read):
    /// the `ready` check's question.
    func schemaState() async throws -> SchemaState
    /// The migrations applied when this store was opened, in order (none when the schema was
    /// current): the server logs them; admin commands, which open the store too, stay quiet.
    var migrationsAppliedOnOpening: [String] { get }

    /// The group commit (see `GroupCommitWriter`): records every item's nonce and stores its
    /// submission, all in one transaction that is on disk, synced, when this returns. Each item
    /// runs in a savepoint of its own and gets a result of its own, in order: its outcome, or the
    /// error that stopped it alone (its savepoint rolled back). Nonces seen before
    /// `pruneNoncesBefore` are dropped. Throws, keeping nothing of any item, when the
    /// transaction itself fails (a full disk, an I/O error).
    func commit(_ items: [CommitItem], pruneNoncesBefore: Date) async throws -> [Result<CommitOutcome, any Error>]

    /// Stores a submission unless its id was stored before: replaces the latest document with
    /// `submission.document(keepingCommands:)` of it, appends the changed leaves to the history and
    /// updates the last submission time and client release. The device
    /// must still be accepted when the transaction runs (it may have been revoked meanwhile).
    /// `history` bounds the rows one submission adds (over it, nothing is stored) and prunes
    /// the device's oldest rows beyond what it keeps. Nothing is stored either when the
    /// secret-keeping selectors are not those the submission was checked against.
    func store(_ submission: Submission, history: HistoryPolicy) async throws -> SubmissionOutcome
    /// The latest document as stored, unparsed (what a `SubmissionWrite` is worked out against).
    func latestDocumentText(fingerprint: String) async throws -> String?
    func history(fingerprint: String, limit: Int) async throws -> [ChangeRecord]
}

extension Store {
    /// The latest document, parsed under the limits for what the server stored itself.
    public func latestDocument(fingerprint: String) async throws -> JSONValue? {
        try await latestDocumentText(fingerprint: fingerprint).map { try JSONValue.parse(Data($0.utf8), limits: .storedData) }
    }

    /// Stores with the default history policy (tests and tools).
    public func store(_ submission: Submission) async throws -> SubmissionOutcome {
        try await store(submission, history: HistoryPolicy())
    }
}

/// A store refused a change for a reason an admin can act on.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case pendingPatchExists(target: String)
    /// The rewrite is done, but the write-ahead log, which may still hold earlier versions of
    /// the pages, could not be emptied because readers kept it busy.
    case writeAheadLogBusy

    public var description: String {
        switch self {
        case .pendingPatchExists(let target): "a patch for \(target) is pending already"
        case .writeAheadLogBusy:
            "the documents were rewritten, but the write-ahead log could not be emptied: readers kept it busy for 5 s. Run the command again (it changes nothing more) to empty it"
        }
    }
}

/// See `Store.lookUpSigner`.
public struct SignerLookup: Sendable {
    /// nil: no device has this key.
    public let device: Device?
    public let nonceSeen: Bool

    public init(device: Device?, nonceSeen: Bool) {
        self.device = device
        self.nonceSeen = nonceSeen
    }
}

/// Devices, and what the checks of a signed request read and record about them.
public protocol DeviceStore: Sendable {
    func device(fingerprint: String) async throws -> Device?
    /// Devices whose hostname or fingerprint equals `nameOrFingerprint` (fingerprint
    /// case-insensitively; a unique fingerprint prefix of 8+ characters also matches).
    func devices(named nameOrFingerprint: String) async throws -> [Device]
    func devices(in state: DeviceState?) async throws -> [Device]
    func deviceCount(in state: DeviceState) async throws -> Int
    /// Accepted devices whose latest submission came in on `port`, by hostname.
    func acceptedDevices(reportingOn port: Int) async throws -> [Device]
    /// Records a newly enrolling device in one transaction, so two clones enrolling at the same
    /// moment still see each other: flags it when another key uses its hostname (compared by
    /// `Device.clashName`) or machine id, or when its key was revoked and then forgotten, and
    /// stores it accepted only if `acceptUnlessFlagged` and nothing was flagged. A key that is
    /// already known is returned as stored, unchanged.
    func enroll(_ candidate: Device, acceptUnlessFlagged: Bool) async throws -> Device
    /// Renames an accepted device to `hostname`, in one transaction with the clash check, so two
    /// devices cannot take one name at the same moment: when another key uses the name (compared
    /// by `Device.clashName`, in any state) the device keeps its own and is flagged
    /// (`Device.renameHeldFlag`) instead; else it is renamed, its held-rename flag dropped and the
    /// rename added to its trail (the newest `DeviceRename.kept`). Asked for the name it has,
    /// the device only loses its held-rename flag. A device that is not accepted when the
    /// transaction runs is left unchanged.
    func rename(fingerprint: String, to hostname: String, at: Date) async throws -> RenameOutcome
    /// A device's renames, newest first.
    func renames(fingerprint: String) async throws -> [DeviceRename]
    func setState(_ state: DeviceState, fingerprint: String, at: Date) async throws
    /// Removes the device, its document, history and submission ids. A revoked device's key is
    /// remembered as revoked and forgotten `at`, so it is never accepted again without an admin.
    func forget(fingerprint: String, at: Date) async throws

    /// What the checks of a signed request need before its signature, in one read: the device
    /// with this key, and whether the nonce was recorded already (a cheap look before the check).
    /// (A submission's stored document is read only after its signature verified: before, a
    /// stranger naming a device could make the server load that device's whole document.)
    func lookUpSigner(fingerprint: String, nonce: String) async throws -> SignerLookup
    /// Records a nonce; false when it was seen before. Nonces older than `pruneBefore` are dropped.
    func recordNonce(_ nonce: String, seenAt: Date, pruneBefore: Date) async throws -> Bool
}

/// Patches and commands queued for devices, and the update requests that hand them out.
public protocol PatchStore: Sendable {
    /// Answers an update request in one transaction: remembers which release the device said it
    /// runs and returns its pending patches; nil, changing nothing, unless it is still accepted.
    func recordUpdateRequest(fingerprint: String, release: Int) async throws -> [Patch]?

    /// Queues a patch and returns it with its id; throws `StoreError.pendingPatchExists` when the
    /// device already has a pending patch for that target.
    func queuePatch(_ patch: Patch) async throws -> Patch
    /// A device's patches, oldest first; only pending ones unless `includeFinished`.
    func patches(fingerprint: String, includeFinished: Bool) async throws -> [Patch]
    /// How many of a device's patches are finished (applied, refused, failed or cancelled).
    func finishedPatchCount(fingerprint: String) async throws -> Int
    /// Ends a pending patch (acknowledged by the device, or cancelled by an admin). Returns false,
    /// changing nothing, when no pending patch has this id, device and target, or when
    /// `byAcceptedDevice` and the device is no longer accepted.
    func finishPatch(
        id: Int64, fingerprint: String, target: String, state: PatchState,
        message: String, at: Date, byAcceptedDevice: Bool
    ) async throws -> Bool
}
