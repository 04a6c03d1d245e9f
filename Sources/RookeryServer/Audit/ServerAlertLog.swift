import Foundation
import RookeryCore

/// When each finding of a server check was last alerted by `audit --cron`: a JSON object of
/// finding key to RFC 3339 time in `var/server/server-alerts.json`. Written under the audit lock.
struct ServerAlertLog {
    let path: String

    /// A missing or garbled file reads as empty: at worst a finding is alerted once more.
    func load() -> [String: Date] {
        guard let data = FileManager.default.contents(atPath: path),
            let object = (try? JSONValue.parse(data))?.objectValue
        else { return [:] }
        return object.compactMapValues { $0.stringValue.flatMap(RFC3339.date(from:)) }
    }

    /// Whole or not at all: a crash mid-write must not forget every alert (and repeat them all).
    /// World-readable like the audit's lock: it holds only file paths and times.
    func save(_ alerted: [String: Date]) throws {
        let data = JSONValue.object(alerted.mapValues { .string(RFC3339.string(from: $0)) }).serialized()
        try AtomicFile.write(data, to: path, mode: 0o644)
    }
}
