import Foundation

/// One request's share of a group commit (see `GroupCommitWriter` and `Store.commit`): its nonce,
/// and for a submission the document to store with it.
public struct CommitItem: Sendable {
    public let nonce: String
    /// When the request was verified; nonces are kept from then on for twice the clock skew.
    public let seenAt: Date
    /// The submission stored in the same transaction as the nonce; nil for the nonce alone
    /// (every endpoint but `submit` records its nonce before it acts).
    public let submission: Submission?
    /// How much history the submission may add, and how much its device keeps.
    public let history: HistoryPolicy
    /// The submission's writes as worked out before it reached the writer; the writer works
    /// them out itself when this is nil or was worked out against another stored document.
    public let prepared: SubmissionWrite?

    public init(
        nonce: String, seenAt: Date, submission: Submission? = nil, history: HistoryPolicy = HistoryPolicy(),
        prepared: SubmissionWrite? = nil
    ) {
        self.nonce = nonce
        self.seenAt = seenAt
        self.submission = submission
        self.history = history
        self.prepared = prepared
    }
}

/// What became of one item of a committed batch. Each item keeps its own outcome: a replayed
/// nonce or a refused submission changes nothing of the others.
public enum CommitOutcome: Sendable, Equatable {
    /// The nonce was recorded before, in an earlier transaction or by an earlier item of the same
    /// batch: nothing of this item was kept.
    case replay
    /// The nonce is recorded, and with it what became of the submission (nil: the nonce alone).
    /// A refused submission (too many changes, a device no longer accepted) keeps nothing but
    /// the nonce, as a request answered with an error does. The exception: a submission checked
    /// against selectors that changed since (`secretSelectorsChanged`) keeps nothing at all, not
    /// even the nonce, so that it can be checked again and sent again.
    case recorded(SubmissionOutcome?)
}
