import Foundation
import RookeryCore

/// Turns a verified `submit` request into the stored document.
public struct SubmissionService: Sendable {
    let store: any Store

    public func submit(_ request: VerifiedRequest, now: Date = Date()) async throws -> SubmitResponse {
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
            guard case .object(let results) = commands else { throw ProtocolError(.malformed, "commands is not an object") }
            document["commands"] = .object(results)
        }
        // Command results arrive once, in the collection after the command ran: keep earlier
        // ones, so `bin/clients show` still has them after the next collection.
        let earlier = try await store.latestDocument(fingerprint: request.fingerprint)?["commands"]?.objectValue ?? [:]
        if !earlier.isEmpty {
            document["commands"] = .object(earlier.merging(document["commands"]?.objectValue ?? [:]) { $1 })
        }
        if let collected = request.fields["collected_at"]?.stringValue, RFC3339.date(from: collected) != nil {
            document["collected_at"] = .string(collected)
        }
        if let release = request.fields["release"]?.integerValue, (0...Int64(Int32.max)).contains(release) {
            try await store.setClientRelease(Int(release), fingerprint: request.fingerprint)
        }
        let outcome = try await store.store(Submission(
            fingerprint: request.fingerprint, submissionID: id, document: .object(document), receivedAt: now))
        switch outcome {
        case .stored: return SubmitResponse(status: "stored", submissionID: id)
        case .duplicate: return SubmitResponse(status: "duplicate", submissionID: id)
        case .deviceNotAccepted(let state):
            // Revoked or forgotten while this request was being checked.
            throw ProtocolError(.revoked, "this device is \(state?.rawValue ?? "forgotten") now")
        }
    }
}
