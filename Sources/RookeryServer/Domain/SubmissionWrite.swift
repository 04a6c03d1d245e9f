import Foundation
import RookeryCore

/// What storing a submission writes, worked out against the document it replaces: the new
/// document's text, its failed plugins and the history rows of the leaves that changed.
///
/// Working it out (parsing the old document, the diff, serializing the new one) is most of a
/// submission's storing cost. The group commit's one writer would do it for every request in
/// turn, so each request works out its own beforehand, on any thread, against the document as
/// last read; the writer uses it only if the stored document is still that one (`basis`), and
/// works it out again otherwise (another submission of the same device came first).
public struct SubmissionWrite: Sendable {
    /// The stored document text this was worked out against; nil when the device had none.
    public let basis: String?
    public let documentText: String
    /// The names of the plugins whose whole output is "unknown", as a JSON array.
    public let failedPlugins: String
    public let changes: [Row]

    /// One history row: a changed leaf, its values as history keeps them (nil where absent).
    public struct Row: Sendable, Equatable {
        public let path: String
        public let old: String?
        public let new: String?
    }

    /// Throws when `basis` is not a document this server could have stored.
    public init(_ submission: Submission, replacing basis: String?) throws {
        // Compared part by part, two levels deep (the document's members and each plugin's
        // output): only the parts of the old document that changed are parsed.
        let old = try basis.map { try JSONText($0, levels: Self.comparedLevels, limits: .storedData) }
        let earlierCommands = try old.flatMap { old in
            try old.layout.members["commands"].flatMap { $0.range.count <= Self.keptCommandsBytes ? try old.value(at: $0.range) : nil }
        }
        let document = submission.document(keepingCommands: earlierCommands)
        self.basis = basis
        documentText = Self.text(of: document, pluginsText: submission.pluginsText)
        failedPlugins = Self.failedPlugins(of: document)
        let new = try JSONText(documentText, levels: Self.comparedLevels, limits: .storedData)
        changes = try DocumentDiff.changes(from: old, to: new, newValue: document).filter { $0.path != "submitted_at" }.map { change in
            Row(
                path: change.path, old: change.old.map(Self.historyValue)?.serializedString,
                new: change.new.map(Self.historyValue)?.serializedString)
        }
    }

    /// The document's text: its plugins' text as it came, when it came as this server would
    /// write it (most of a document, and most of writing it), the rest written here.
    static func text(of document: JSONValue, pluginsText: [UInt8]?) -> String {
        guard let pluginsText, var members = document.objectValue else { return document.serializedString }
        members["plugins"] = nil
        return String(decoding: JSONCanonicalText.object(members, verbatim: ["plugins": pluginsText]), as: UTF8.self)
    }

    /// Earlier command results are kept under the new ones while their text is at most this
    /// long; past it only the new ones are, so that a device reporting ever new command names
    /// cannot grow its stored document without bound (each submission is bounded by itself).
    static let keptCommandsBytes = 256 * 1024

    /// How deep the old and new documents are compared by their bytes (see `JSONText`).
    static let comparedLevels = 2

    /// This, if it was worked out against `stored`; nil when the document changed since.
    /// Compared byte for byte: Swift's `==` on strings would take another text whose
    /// characters are only canonically equivalent (NFC against NFD) for the same.
    public func ifStill(_ stored: String?) -> SubmissionWrite? {
        guard var basis, var stored else { return basis == nil && stored == nil ? self : nil }
        let same = basis.withUTF8 { old in stored.withUTF8 { now in JSONText.sameBytes(old, now) } }
        return same ? self : nil
    }

    /// A leaf as history keeps it: a secret value without its ciphertext (see `SecretValue.historyForm`).
    static func historyValue(_ value: JSONValue) -> JSONValue {
        SecretValue(value)?.historyForm ?? value
    }

    /// The names of the plugins whose whole output is "unknown", as a JSON array.
    public static func failedPlugins(of document: JSONValue) -> String {
        let names = document["plugins"]?.objectValue?.filter { $0.value == .string("unknown") }.keys.sorted() ?? []
        return JSONValue.array(names.map(JSONValue.string)).serializedString
    }
}
