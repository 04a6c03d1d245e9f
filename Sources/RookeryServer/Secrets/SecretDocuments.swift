import Foundation
import RookeryCore

/// Finds and replaces secret values in stored documents.
enum SecretDocuments {
    /// One encrypted value and where it is.
    struct Found {
        let path: [String]
        let value: SecretValue
        let message: Data
        /// The dotted form, as history and selectors write it.
        var dotted: String { path.map(DocumentDiff.escapeSegment).joined(separator: ".") }
    }

    /// Every encrypted value in a document (withheld ones hold nothing to decrypt).
    static func secrets(in document: JSONValue) -> [Found] {
        var found: [Found] = []
        walk(document, path: []) { path, value in
            if let message = value.message { found.append(Found(path: path, value: value, message: message)) }
        }
        return found
    }

    /// Calls `visit` for every secret value, encrypted or withheld; does not look inside them.
    static func walk(_ value: JSONValue, path: [String], _ visit: ([String], SecretValue) -> Void) {
        if let secret = SecretValue(value) { return visit(path, secret) }
        guard case .object(let members) = value else { return }
        for (key, child) in members { walk(child, path: path + [key], visit) }
    }

    /// How many stored values are encrypted, and how many were withheld, fleet-wide.
    static func count(in store: any Store) async throws -> (encrypted: Int, withheld: Int) {
        var counts = (encrypted: 0, withheld: 0)
        try await forEachDocument(in: store) { document in
            walk(document, path: []) { _, value in
                if value.message == nil { counts.withheld += 1 } else { counts.encrypted += 1 }
            }
        }
        return counts
    }

    /// How many stored values at the selectors are still in clear.
    static func clearValues(at selectors: [SecretSelector], in store: any Store) async throws -> Int {
        var count = 0
        try await forEachDocument(in: store) { document in
            count +=
                selectors.filter { selector in
                    selector.value(in: document).map { !SecretValue.isSecret($0) } ?? false
                }.count
        }
        return count
    }

    private static func forEachDocument(in store: any Store, _ body: (JSONValue) -> Void) async throws {
        for device in try await store.devices(in: nil) {
            if let document = try await store.latestDocument(fingerprint: device.fingerprint) { body(document) }
        }
    }
}
