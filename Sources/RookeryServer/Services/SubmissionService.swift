import Foundation
import RookeryCore

/// Turns a verified `submit` request into the stored document.
public struct SubmissionService: Sendable {
    let store: any Store
    /// Stores the document together with the request's nonce, in a batch with other requests'
    /// (group commit, issue 15); the verifier leaves a submit's nonce to it.
    let writer: GroupCommitWriter
    /// The port this service's requests arrive on (one listener so far).
    let port: ServerPort
    let documentLimits: DocumentLimits
    let history: HistoryPolicy
    /// The secret-keeping selectors as last seen (nil: not read yet). A submission is checked
    /// against them and the store compares them in the transaction that stores it, so this
    /// saves a read per submission without ever storing against stale ones.
    let knownSelectors = Locked<[SecretSelector]?>(nil)

    /// The submission a message makes, checked against `selectors`; refused (400) when the
    /// document is over its limits.
    private func submission(
        from request: Verified<SubmitRequest>, selectors: [SecretSelector],
        now: Date
    ) throws -> Submission {
        let message = request.message
        var document: [String: JSONValue] = [
            "plugins": .object(message.plugins),
            "submitted_at": .string(RFC3339.string(from: now))
        ]
        if let commands = message.commands { document["commands"] = .object(commands) }
        if let collected = message.collectedAt { document["collected_at"] = .string(collected) }
        // The device runs on its last good settings because its files were refused (the
        // client-settings-refused check).
        if let problem = message.settingsProblem { document["settings_problem"] = .string(problem) }
        // What became of the managed state (settings, firewall, keys): plans and drift read it.
        if let managed = message.managed { document["managed"] = .object(managed) }
        do { try documentLimits.check(.object(document)) } catch let violation as DocumentLimits.Violation {
            throw ProtocolError(.malformed, violation.description)
        }
        let withheld = Self.withholdingClearSecrets(.object(document), selectors: selectors)
        return Submission(
            fingerprint: request.fingerprint, submissionID: message.submissionID,
            document: withheld.document, receivedAt: now, clientRelease: message.release, port: port,
            secretSelectors: selectors,
            pluginsText: withheld.untouched ? request.request.canonicalText(of: "plugins") : nil)
    }

    /// Group commit (issue 15): the request's nonce is recorded with its document, in one
    /// transaction shared with other requests, and the device is answered only once it is on
    /// disk. A request refused for its own fields (read here, so that this holds for them too)
    /// uses up its nonce all the same, as at every other endpoint.
    public func submit(_ request: VerifiedRequest, now: Date = Date()) async throws -> SubmitAnswer {
        let message: Verified<SubmitRequest>
        do {
            message = try request.message(SubmitRequest.self)
        } catch let refusal as ProtocolError {
            try await spendNonce(of: request, now: now)
            throw refusal
        }
        let id = message.message.submissionID
        switch try await store(message, now: now) {
        case .stored: return SubmitAnswer(status: .stored, submissionID: id)
        case .duplicate: return SubmitAnswer(status: .duplicate, submissionID: id)
        case .tooManyChanges(let rows):
            throw ProtocolError(
                .malformed, "the submission changes \(rows) leaves, over the limit of \(history.maxRowsPerSubmission) (max_history_rows_per_submission)")
        case .deviceNotAccepted(let state):
            // Revoked or forgotten while this request was being checked.
            throw ProtocolError(.revoked, "this device is \(state?.rawValue ?? "forgotten") now")
        case .secretSelectorsChanged:
            try await spendNonce(of: request, now: now)
            throw ProtocolError(.busy, "the secret-keeping selectors kept changing while this submission was stored; try again later")
        }
    }

    /// Stores the message's document checked against the selectors as last seen, and again
    /// against the new ones when the store finds they changed (three tries at most).
    private func store(_ message: Verified<SubmitRequest>, now: Date) async throws -> SubmissionOutcome {
        var selectors = try await currentSelectors()
        for _ in 0..<3 {
            let submission: Submission
            do {
                submission = try self.submission(from: message, selectors: selectors, now: now)
            } catch let refusal as ProtocolError {
                try await spendNonce(of: message.request, now: now)
                throw refusal
            }
            let prepared = try await prepare(submission)
            guard
                case .recorded(let outcome?) = try await writer.commit(
                    CommitItem(
                        nonce: message.nonce, seenAt: now, submission: submission, history: history,
                        prepared: prepared))
            else {
                throw Self.replay(message.request)
            }
            guard case .secretSelectorsChanged(let current) = outcome else { return outcome }
            selectors = current
            knownSelectors.withLock { $0 = current }
        }
        return .secretSelectorsChanged(selectors)
    }

    /// The submission's writes, worked out here against the document stored now, so that the
    /// one writer does not have to (see `SubmissionWrite`). Nil when the stored document cannot
    /// be read as one: the writer works it out again, and fails there with the reason. (The
    /// writer also works it out again if the document changed since.)
    private func prepare(_ submission: Submission) async throws -> SubmissionWrite? {
        try writer.checkRoom()
        let stored = try await store.latestDocumentText(fingerprint: submission.fingerprint)
        return try? SubmissionWrite(submission, replacing: stored)
    }

    /// A refused request uses up its nonce, as at every other endpoint.
    private func spendNonce(of request: VerifiedRequest, now: Date) async throws {
        guard try await writer.recordNonce(request.nonce, seenAt: now) else { throw Self.replay(request) }
    }

    private static func replay(_ request: VerifiedRequest) -> ProtocolError {
        ProtocolError(.replay, "nonce \(request.nonce) was already used")
    }

    private func currentSelectors() async throws -> [SecretSelector] {
        if let known = knownSelectors.current { return known }
        let read = try await store.secretSelectors()
        knownSelectors.withLock { $0 = read }
        return read
    }

    /// Only selected paths hold secrets, and never in clear: a selected value that arrives in
    /// clear (from a device that has not learned the selector yet) is withheld before anything is
    /// stored, and so is a secret-shaped value elsewhere (a device's own invention, or a path
    /// deselected since), which nobody could read and which would count as encrypted.
    /// `untouched`: nothing was withheld (there are no selectors and no strays).
    private static func withholdingClearSecrets(
        _ document: JSONValue,
        selectors: [SecretSelector]
    ) -> (document: JSONValue, untouched: Bool) {
        var sealed =
            selectors.isEmpty
            ? document
            : SecretSealer(selectors: selectors, encrypt: nil, hashKey: nil).seal(document).document
        var strays: [[String]] = []
        SecretDocuments.walk(sealed, path: []) { path, value in
            if value.message != nil, !selectors.contains(where: { $0.components == path }) { strays.append(path) }
        }
        for path in strays { sealed = sealed.replacing(at: path, with: SecretValue.withheld.json) }
        return (sealed, selectors.isEmpty && strays.isEmpty)
    }
}
