import FoundationEssentials
import RookeryCore
import RookeryCurl

/// What one update check did.
public struct UpdateReport: Sendable, Equatable {
    public var installedRelease: Int?
    public var patchesApplied = 0
    public var patchesRefused = 0
    public var patchesFailed = 0
    /// Why the release offered was not installed, if one was offered and refused.
    public var releaseProblem: String?
    /// What became of the managed state the answer carried, if it carried one.
    public var managed: ManagedStateRecord?
}

/// Asks the server what it wants changed (`update`), checks that the answer is signed by the
/// pinned server key and meant for this very request, takes on its secret-keeping policy, applies
/// the patches and acknowledges each, then installs a newer release if one is offered.
public struct Updater: Sendable {
    let context: ClientContext
    /// Release tarballs may be large (the client binary is in them) and slow to fetch.
    static let maxReleaseBytes = 512 * 1024 * 1024
    static let releaseTimeoutSeconds = 900

    public init(context: ClientContext) { self.context = context }

    public func run() throws -> UpdateReport {
        let identity = try DeviceIdentity.loadOrCreate(context)
        let installed = ReleaseInstaller.installedNumber(context.root)
        let answer = try fetchAnswer(identity: identity, installed: installed)
        // First: a shell is someone waiting at a prompt, and its child returns at once.
        ShellLauncher(root: context.root, log: context.log).launch(answer.shells ?? [])
        PollMarks.note(patchIDs: answer.patches.map(\.id), root: context.root)
        var report = UpdateReport()
        // Before the patches: one may add a plugin whose values are selected.
        try SecretKeepingState(context: context).adopt(answer.secretKeeping)
        applyPatches(answer.patches, identity: identity, report: &report)
        if let managed = answer.managed { report.managed = ManagedStateApplier(context: context).apply(managed) }
        if let offer = answer.release {
            if let earlier = refusedBefore(offer) {
                // The same tarball again: fetching it would only be refused again.
                report.releaseProblem = "release \(offer.number) was refused before: \(earlier)"
                return report
            }
            do {
                report.installedRelease = try install(offer, identity: identity)
            } catch {
                report.releaseProblem = "\(error)"
                context.log.warning("release \(offer.number) not installed: \(error)")
                // Only a refusal of the authentic tarball is final; a bad download, a full disk
                // or a server error is tried again next time.
                if error is ReleaseRefused { rememberRefusal(offer, reason: "\(error)") }
            }
        }
        return report
    }

    private var refusedFile: String { context.root.clientState + "/refused-release.json" }

    /// Why this very offer (same number and tarball) was refused last time, if it was.
    private func refusedBefore(_ offer: ReleaseOffer) -> String? {
        guard let data = FileManager.default.contents(atPath: refusedFile),
            let noted = try? JSONValue.parse(data), noted["number"]?.integerValue == Int64(offer.number),
            noted["sha256"]?.stringValue == offer.sha256
        else { return nil }
        return noted["reason"]?.stringValue ?? "unknown"
    }

    private func rememberRefusal(_ offer: ReleaseOffer, reason: String) {
        let noted: JSONValue = .object([
            "number": .integer(Int64(offer.number)), "sha256": .string(offer.sha256),
            "reason": .string(reason)
        ])
        try? AtomicFile.write(noted.serialized(), to: refusedFile)
    }

    /// The answer, once its signature, nonce and key check out.
    func fetchAnswer(identity: DeviceIdentity, installed: Int) throws -> UpdateAnswer {
        let request = try context.signedRequest(
            UpdateRequest(
                release: installed, commandsAllowed: context.settings.allowCommands,
                managedSHA256: ManagedStateRecord.load(context.root)?.sha256),
            by: identity)
        // Room for several patches of the largest size the server queues, base64-encoded.
        let reply = try Self.accepted(try context.connection.exchange(request, maxResponseBytes: 64 << 20))
        return try Self.checkedAnswer(
            reply, nonce: request.nonce, fingerprint: identity.fingerprint,
            pinnedKey: PinnedServerKey(root: context.root))
    }

    /// The answer in `reply`, provided it is signed by the pinned server key and answers this very
    /// request of this device: an answer recorded earlier, or sent to another device, is refused.
    public static func checkedAnswer(
        _ reply: HTTPReply, nonce: String, fingerprint: String,
        pinnedKey: PinnedServerKey
    ) throws -> UpdateAnswer {
        try checkedAnswer(reply, as: UpdateAnswer.self, nonce: nonce, fingerprint: fingerprint, pinnedKey: pinnedKey)
    }

    /// The same checks for any answer the server signs and that echoes the request's nonce and key
    /// (`update`, the agent's `poll`).
    public static func checkedAnswer<Answer: SignedServerAnswer>(
        _ reply: HTTPReply, as type: Answer.Type, nonce: String, fingerprint: String,
        pinnedKey: PinnedServerKey
    ) throws -> Answer {
        guard let header = reply.headers[WireProtocol.signatureHeader.lowercased()],
            let signature = Data(base64Encoded: header)
        else {
            throw UpdateRefused("the \(Answer.endpointName) answer carries no server signature")
        }
        try pinnedKey.verify(signature: signature, data: reply.body)
        let answer = try JSONDecoder().decode(Answer.self, from: reply.body)
        guard answer.nonce == nonce, answer.key == fingerprint else {
            throw UpdateRefused("the \(Answer.endpointName) answer is not the answer to this request (nonce or key differ)")
        }
        return answer
    }

    func applyPatches(_ patches: [PatchInstruction], identity: DeviceIdentity, report: inout UpdateReport) {
        let applier = PatchApplier(root: context.root, allowCommands: context.settings.allowCommands)
        var done = AppliedPatches(file: context.root.clientState + "/applied-patches.json")
        for patch in patches {
            // Applied before, but the acknowledgement was lost: say so again rather than apply it
            // twice (a one-time command would run again).
            let (result, message) = done.contains(patch) ? (.applied, "") : applier.apply(patch)
            if result == .applied { done.insert(patch) }
            switch result {
            case .applied: report.patchesApplied += 1
            case .refused: report.patchesRefused += 1
            case .failed: report.patchesFailed += 1
            }
            context.log.info("patch \(patch.id) \(patch.action.rawValue) \(patch.target): \(result.rawValue) \(message)")
            if result == .refused && message == PatchApplier.commandsOffMessage {
                CommandRunner(context: context).note(PathText.lastComponent(patch.target), refused: message)
            }
            acknowledge(patch, result: result, message: message, identity: identity)
        }
    }

    /// Tells the server; a lost acknowledgement only means the patch comes again next time.
    private func acknowledge(_ patch: PatchInstruction, result: PatchResult, message: String, identity: DeviceIdentity) {
        do {
            let request = try context.signedRequest(
                AcknowledgePatchRequest(patchID: patch.id, target: patch.target, result: result, message: message),
                by: identity)
            _ = try Self.accepted(try context.connection.exchange(request))
        } catch {
            context.log.warning("patch \(patch.id) not acknowledged: \(error)")
        }
    }

    func install(_ offer: ReleaseOffer, identity: DeviceIdentity) throws -> Int {
        guard offer.size <= Self.maxReleaseBytes else {
            throw UpdateRefused("release \(offer.number) is \(offer.size) bytes, over the limit of \(Self.maxReleaseBytes)")
        }
        let request = try context.signedRequest(ReleaseRequest(release: offer.number), by: identity)
        let download = context.connection(timeoutSeconds: max(context.settings.requestTimeout, Self.releaseTimeoutSeconds))
        let tarball = try Self.accepted(try download.exchange(request, maxResponseBytes: offer.size)).body
        // The signed answer named these: nothing else is unpacked, not even to look at it.
        guard tarball.count == offer.size, ReleaseManifest.sha256Hex(tarball) == offer.sha256 else {
            throw UpdateRefused("the downloaded release \(offer.number) is not the one the signed answer describes")
        }
        return try ReleaseInstaller(root: context.root, log: context.log).install(tarball: tarball, expected: offer.number)
    }

    private static func accepted(_ answer: ServerAnswer<HTTPReply>) throws -> HTTPReply {
        switch answer {
        case .ok(let reply): return reply
        case .refused(_, let refusal): throw refusal
        }
    }
}

/// The patches this device applied lately, so a patch whose acknowledgement was lost is
/// acknowledged again instead of applied again. A patch is known by its id, target and contents,
/// so a server that starts its ids over cannot make the device skip a new patch.
struct AppliedPatches {
    let file: String
    private var keys: [String]
    /// Patches are acknowledged within a run or two; the recent ones are all that matter.
    static let kept = 500

    init(file: String) {
        self.file = file
        keys = FileManager.default.contents(atPath: file).flatMap { try? JSONDecoder().decode([String].self, from: $0) } ?? []
    }

    func contains(_ patch: PatchInstruction) -> Bool { keys.contains(Self.key(patch)) }

    mutating func insert(_ patch: PatchInstruction) {
        guard !contains(patch) else { return }
        keys = Array((keys + [Self.key(patch)]).suffix(Self.kept))
        if let data = try? JSONEncoder().encode(keys) { try? AtomicFile.write(data, to: file) }
    }

    private static func key(_ patch: PatchInstruction) -> String {
        "\(patch.id) \(patch.action.rawValue) \(patch.target) \(ReleaseManifest.sha256Hex(patch.content))"
    }
}

/// An answer the server signs that echoes the request's nonce and the device's key.
public protocol SignedServerAnswer: Decodable {
    var nonce: String { get }
    var key: String { get }
    /// For messages: "update", "poll".
    static var endpointName: String { get }
}

extension UpdateAnswer: SignedServerAnswer {
    public static var endpointName: String { "update" }
}

extension PollAnswer: SignedServerAnswer {
    public static var endpointName: String { "poll" }
}
