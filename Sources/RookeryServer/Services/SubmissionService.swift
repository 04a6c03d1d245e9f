import Foundation
import RookeryCore

/// Turns a verified `submit` request into the stored document.
public struct SubmissionService: Sendable {
    let store: any Store
    /// The port this service's requests arrive on (one listener so far).
    let port: ServerPort
    let documentLimits: DocumentLimits
    let history: HistoryPolicy

    public func submit(_ request: Verified<SubmitRequest>, now: Date = Date()) async throws -> SubmitAnswer {
        let message = request.message
        let id = message.submissionID
        var document: [String: JSONValue] = [
            "plugins": .object(message.plugins),
            "submitted_at": .string(RFC3339.string(from: now)),
        ]
        if let commands = message.commands { document["commands"] = .object(commands) }
        if let collected = message.collectedAt { document["collected_at"] = .string(collected) }
        // The device runs on its last good settings because its files were refused (the
        // client-settings-refused check).
        if let problem = message.settingsProblem { document["settings_problem"] = .string(problem) }
        do { try documentLimits.check(.object(document)) } catch let violation as DocumentLimits.Violation {
            throw ProtocolError(.malformed, violation.description)
        }
        let outcome = try await store.store(Submission(
            fingerprint: request.fingerprint, submissionID: id, document: try await withholdingClearSecrets(.object(document)),
            receivedAt: now,
            clientRelease: message.release, port: port), history: history)
        switch outcome {
        case .stored: return SubmitAnswer(status: .stored, submissionID: id)
        case .duplicate: return SubmitAnswer(status: .duplicate, submissionID: id)
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
