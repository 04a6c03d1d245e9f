import FoundationEssentials

/// Where an enrollment stands, as `enroll` answers it.
public enum EnrollmentStatus: String, Codable, Sendable, CaseIterable {
    /// Waiting for an administrator (`bin/clients accept`).
    case pending
    /// Accepted: by an administrator earlier, or now by an enrollment token.
    case accepted
}

/// The answer to `enroll`.
public struct EnrollAnswer: Codable, Sendable, Equatable {
    public let status: EnrollmentStatus
    /// The enrolled key's fingerprint.
    public let key: String
    /// The hostname the server knows the device by: the one it asked for, unless a rename was
    /// held or refused. nil from servers before renames (2026-12-06).
    public let hostname: String?

    public init(status: EnrollmentStatus, key: String, hostname: String?) {
        self.status = status
        self.key = key
        self.hostname = hostname
    }
}

/// What `submit` did with a collection. Either way the device may delete it from its queue.
public enum SubmitStatus: String, Codable, Sendable, CaseIterable {
    /// Stored now, and durable: the answer is sent only after the transaction committed.
    case stored
    /// Stored before under the same submission id; nothing changed.
    case duplicate
}

/// The answer to `submit`.
public struct SubmitAnswer: Codable, Sendable, Equatable {
    public let status: SubmitStatus
    public let submissionID: String

    public init(status: SubmitStatus, submissionID: String) {
        self.status = status
        self.submissionID = submissionID
    }

    enum CodingKeys: String, CodingKey {
        case status
        case submissionID = "submission_id"
    }
}

/// The answer to `acknowledge_patch`: the patch is ended in the state the device reported.
public struct AcknowledgeAnswer: Codable, Sendable, Equatable {
    public let patchID: Int64
    public let state: PatchResult

    public init(patchID: Int64, state: PatchResult) {
        self.patchID = patchID
        self.state = state
    }

    enum CodingKeys: String, CodingKey {
        case patchID = "patch_id"
        case state
    }
}
