import Foundation
import RookeryCore

/// One verified submission, ready to store.
public struct Submission: Sendable {
    public let fingerprint: String
    public let submissionID: String
    /// The document as it will be stored: `plugins`, `commands`, `collected_at`, `submitted_at`.
    public let document: JSONValue
    public let receivedAt: Date
}

public enum SubmissionOutcome: Sendable, Equatable {
    case stored, duplicate
    /// The device is no longer accepted (its state now, nil if it was forgotten).
    case deviceNotAccepted(DeviceState?)
}

/// One entry of a device's history: a leaf of its document that changed.
public struct ChangeRecord: Sendable, Equatable {
    public let fingerprint: String
    public let path: String
    public let old: JSONValue?
    public let new: JSONValue?
    public let changedAt: Date
}
