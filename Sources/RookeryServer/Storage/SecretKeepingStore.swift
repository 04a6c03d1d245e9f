import Foundation
import RookeryCore

/// What secret keeping keeps: the public key and how it was split, the selected paths, and the
/// append-only log of everything done with the secrets.
public protocol SecretKeepingStore: Sendable {
    func secretKeepingRecord() async throws -> SecretKeepingRecord?
    /// Replaces the record.
    func saveSecretKeepingRecord(_ record: SecretKeepingRecord) async throws
    func secretSelectors() async throws -> [SecretSelector]
    func changeSecretSelectors(adding: [SecretSelector], removing: [SecretSelector], at: Date) async throws
    /// What devices are told in update answers: the key while enabled, and the selectors; nil when
    /// nothing is selected.
    func secretKeepingPolicy() async throws -> SecretKeepingPolicy?

    func appendSecretAccess(_ entry: SecretAccessEntry) async throws
    /// The newest `limit` entries, oldest first.
    func secretAccessLog(limit: Int) async throws -> [SecretAccessEntry]

    /// Rewrites latest documents, one short transaction per device, so submissions arriving
    /// meanwhile are neither lost nor overwritten: `transform` gets the document as stored at that
    /// moment and returns its replacement, or nil to leave it. History rows at or below
    /// `redactingHistory` lose every clear value. Freed bytes are overwritten (SQLite's
    /// secure_delete) and the write-ahead log is emptied at the end. Returns how many documents changed.
    func rewriteDocuments(
        of devices: [Device], redactingHistory: [SecretSelector],
        _ transform: @Sendable (Device, JSONValue) throws -> JSONValue?
    ) async throws -> Int
}
