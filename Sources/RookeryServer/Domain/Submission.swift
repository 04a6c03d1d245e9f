import Foundation
import RookeryCore

/// One verified submission, ready to store.
public struct Submission: Sendable {
    public let fingerprint: String
    public let submissionID: String
    /// The document as it will be stored: `plugins`, `commands`, `collected_at`, `submitted_at`.
    public let document: JSONValue
    public let receivedAt: Date
    /// The client release that made the collection, when the device said.
    public let clientRelease: Int?
    /// The server port it came in on (the deprecated-port check reads it).
    public let port: ServerPort?
    /// The secret-keeping selectors the document was checked against (values in clear at a
    /// selected path withheld). The store refuses it when the selectors changed since
    /// (`SubmissionOutcome.secretSelectorsChanged`), in the transaction that would store it.
    public let secretSelectors: [SecretSelector]
    /// The text of `document`'s plugins as the device sent it, when that is exactly the text
    /// this server writes for them (see `JSONCanonicalText`): stored as it came, not written again.
    public let pluginsText: [UInt8]?

    public init(
        fingerprint: String, submissionID: String, document: JSONValue, receivedAt: Date,
        clientRelease: Int? = nil, port: ServerPort? = nil, secretSelectors: [SecretSelector] = [],
        pluginsText: [UInt8]? = nil
    ) {
        self.fingerprint = fingerprint
        self.submissionID = submissionID
        self.document = document
        self.receivedAt = receivedAt
        self.clientRelease = clientRelease
        self.port = port
        self.secretSelectors = secretSelectors
        self.pluginsText = pluginsText
    }

    /// The document to store in place of one whose `commands` were `earlierCommands`: command
    /// results arrive once, in the collection after the command ran, so earlier results are
    /// kept (a newer one of the same name replaces its predecessor) and `bin/clients show`
    /// still has them later.
    public func document(keepingCommands earlierCommands: JSONValue?) -> JSONValue {
        guard let earlier = earlierCommands?.objectValue, !earlier.isEmpty,
            var merged = document.objectValue
        else { return document }
        merged["commands"] = .object(earlier.merging(document["commands"]?.objectValue ?? [:]) { $1 })
        return .object(merged)
    }
}

/// A port the server listens on. Deprecated ports still serve devices, and the audit's
/// deprecated-port check names the devices still using them.
public struct ServerPort: Sendable, Equatable {
    public var number: Int
    public var deprecated: Bool

    public init(number: Int, deprecated: Bool = false) {
        self.number = number
        self.deprecated = deprecated
    }
}

/// How much history a submission may add, and how much a device keeps.
public struct HistoryPolicy: Sendable, Equatable {
    /// A submission that would change more leaves than this is refused, and nothing is stored.
    public var maxRowsPerSubmission: Int
    /// The newest rows kept per device; older ones are pruned as new ones arrive.
    public var rowsPerDevice: Int

    public init(maxRowsPerSubmission: Int = 40_000, rowsPerDevice: Int = 50_000) {
        self.maxRowsPerSubmission = maxRowsPerSubmission
        self.rowsPerDevice = rowsPerDevice
    }

    /// Rows a device may add before its history is pruned again: a tenth of what it keeps.
    /// Finding the rows beyond `rowsPerDevice` walks all of the device's rows, so it is not done
    /// for every submission; between prunes a device keeps up to `rowsPerDevice + pruneStep` rows,
    /// and the walk costs a tenth of a row per row added.
    var pruneStep: Int { max(1, rowsPerDevice / 10) }
}

public enum SubmissionOutcome: Sendable, Equatable {
    case stored, duplicate
    /// Refused: it would add `rows` history rows, more than the policy allows.
    case tooManyChanges(rows: Int)
    /// The device is no longer accepted (its state now, nil if it was forgotten).
    case deviceNotAccepted(DeviceState?)
    /// Not stored: the secret-keeping selectors are these now, not those the document was checked
    /// against. Check it again and send it again (a group-commit item's nonce stays unused).
    case secretSelectorsChanged([SecretSelector])
}

/// One entry of a device's history: a leaf of its document that changed.
public struct ChangeRecord: Sendable, Equatable {
    public let fingerprint: String
    public let path: String
    public let old: JSONValue?
    public let new: JSONValue?
    public let changedAt: Date
}
