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

    /// The submission a request makes; refused (400) when one of its fields is not as it must be.
    private func submission(from request: VerifiedRequest, now: Date) async throws -> Submission {
        guard let id = request.fields["submission_id"]?.stringValue, InputValidation.isIdentifier(id) else {
            throw ProtocolError(.malformed, "submission_id is missing or not 1-128 of [A-Za-z0-9._-]")
        }
        guard case .object = request.fields["plugins"] else {
            throw ProtocolError(.malformed, "plugins is missing or not an object")
        }
        var document: [String: JSONValue] = [
            "plugins": request.fields["plugins"] ?? .object([:]),
            "submitted_at": .string(RFC3339.string(from: now)),
        ]
        if let commands = request.fields["commands"] {
            guard case .object = commands else { throw ProtocolError(.malformed, "commands is not an object") }
            document["commands"] = commands
        }
        if let collected = request.fields["collected_at"]?.stringValue, RFC3339.date(from: collected) != nil {
            document["collected_at"] = .string(collected)
        }
        // The device runs on its last good settings because its files were refused (the
        // client-settings-refused check).
        if let problem = request.fields["settings_problem"] {
            guard case .string = problem else { throw ProtocolError(.malformed, "settings_problem is not a string") }
            document["settings_problem"] = problem
        }
        do { try documentLimits.check(.object(document)) } catch let violation as DocumentLimits.Violation {
            throw ProtocolError(.malformed, violation.description)
        }
        let release = request.fields["release"]?.integerValue.flatMap { (0...Int64(Int32.max)).contains($0) ? Int($0) : nil }
        return Submission(
            fingerprint: request.fingerprint, submissionID: id, document: try await withholdingClearSecrets(.object(document)),
            receivedAt: now,
            clientRelease: release, port: port)
    }

    /// Group commit (issue 15): the request's nonce is recorded with its document, in one
    /// transaction shared with other requests, and the device is answered only once it is on
    /// disk. A request refused for its own fields uses up its nonce all the same, as at every
    /// other endpoint.
    public func submit(_ request: VerifiedRequest, now: Date = Date()) async throws -> SubmitResponse {
        let replay = ProtocolError(.replay, "nonce \(request.nonce) was already used")
        let submission: Submission
        do { submission = try await self.submission(from: request, now: now) } catch let refusal as ProtocolError {
            guard try await writer.recordNonce(request.nonce, seenAt: now) else { throw replay }
            throw refusal
        }
        guard case .recorded(let outcome?) = try await writer.commit(
            CommitItem(nonce: request.nonce, seenAt: now, submission: submission, history: history)) else { throw replay }
        let id = submission.submissionID
        switch outcome {
        case .stored: return SubmitResponse(status: "stored", submissionID: id)
        case .duplicate: return SubmitResponse(status: "duplicate", submissionID: id)
        case .tooManyChanges(let rows):
            throw ProtocolError(.malformed, "the submission changes \(rows) leaves, over the limit of \(history.maxRowsPerSubmission) (max_history_rows_per_submission)")
        case .deviceNotAccepted(let state):
            // Revoked or forgotten while this request was being checked.
            throw ProtocolError(.revoked, "this device is \(state?.rawValue ?? "forgotten") now")
        }
    }

    /// Only selected paths hold secrets, and never in clear: a selected value that arrives in
    /// clear (from a device that has not learned the selector yet) is withheld before anything is
    /// stored, and so is a secret-shaped value elsewhere (a device's own invention, or a path
    /// deselected since), which nobody could read and which would count as encrypted.
    private func withholdingClearSecrets(_ document: JSONValue) async throws -> JSONValue {
        let selectors = try await store.secretSelectors()
        var sealed = selectors.isEmpty ? document
            : SecretSealer(selectors: selectors, encrypt: nil, hashKey: nil).seal(document).document
        var strays: [[String]] = []
        SecretDocuments.walk(sealed, path: []) { path, value in
            if value.message != nil, !selectors.contains(where: { $0.components == path }) { strays.append(path) }
        }
        for path in strays { sealed = sealed.replacing(at: path, with: SecretValue.withheld.json) }
        return sealed
    }
}
