import FoundationEssentials
import RookeryCore

/// One collection waiting for the server.
public struct QueuedItem: Sendable {
    public let id: String
    public let path: String
    public let bytes: Int
    public let queuedAt: Date
}

/// The on-disk queue of collections (`var/client/collected/`).
///
/// Every item is written to a temporary file, flushed and renamed into place, so a crash or
/// `kill -9` leaves either the whole item or none of it. Items stay until the server acknowledged
/// them; items the server refused for a reason that retrying cannot fix move to `rejected/` with
/// the reason beside them. Names sort by collection time, so delivery keeps collection order.
public struct SubmissionQueue: Sendable {
    public let directory: String
    public let rejectedDirectory: String

    public init(stateDirectory: String) throws {
        directory = stateDirectory + "/collected"
        rejectedDirectory = stateDirectory + "/rejected"
        for dir in [directory, rejectedDirectory] {
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        }
    }

    /// Writes a collection; returns its id (also its submission id).
    @discardableResult
    public func enqueue(_ document: [String: JSONValue], id: String, at date: Date = Date()) throws -> String {
        var item = document
        item["submission_id"] = .string(id)
        // Milliseconds in 13 digits, so names sort by time (until the year 2286).
        let milliseconds = String(Int64(date.timeIntervalSince1970 * 1000))
        let name = String(repeating: "0", count: max(0, 13 - milliseconds.count)) + milliseconds + "-" + id + ".json"
        try AtomicFile.write(JSONValue.object(item).serialized(), to: directory + "/" + name)
        return name
    }

    /// Items in delivery order (oldest first). Leftovers of interrupted writes are cleaned up once
    /// they are an hour old (a younger one may be a write in progress).
    public func items(now: Date = Date()) throws -> [QueuedItem] {
        let fm = FileManager.default
        var result: [QueuedItem] = []
        for name in try fm.contentsOfDirectory(atPath: directory).sorted() {
            let path = directory + "/" + name
            if name.hasPrefix(".tmp-") {
                let modified = (try? fm.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? now
                if now.timeIntervalSince(modified) > 3600 { try? fm.removeItem(atPath: path) }
                continue
            }
            guard name.hasSuffix(".json"), let millis = Int64(name.prefix(13)) else { continue }
            let size = (try? fm.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            result.append(
                QueuedItem(
                    id: name, path: path, bytes: size,
                    queuedAt: Date(timeIntervalSince1970: Double(millis) / 1000)))
        }
        return result
    }

    public func read(_ item: QueuedItem) throws -> [String: JSONValue] {
        guard case .object(let fields) = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: item.path))) else {
            throw DamagedFile(item.path, "not a JSON object")
        }
        return fields
    }

    /// The server acknowledged the item.
    public func remove(_ item: QueuedItem) throws {
        try FileManager.default.removeItem(atPath: item.path)
    }

    /// The server refused the item for good: keep it, with the reason, for inspection.
    public func reject(_ item: QueuedItem, reason: String) throws {
        try AtomicFile.write(Data((reason + "\n").utf8), to: rejectedDirectory + "/" + item.id + ".reason")
        try FileManager.default.moveItem(atPath: item.path, toPath: rejectedDirectory + "/" + item.id)
    }

    /// Drops the oldest items past the bounds; returns what was dropped (for the log).
    public func enforceBounds(maxItems: Int, maxBytes: Int, maxAge: TimeInterval, now: Date = Date()) throws -> [QueuedItem] {
        var remaining = try items(now: now)
        var dropped: [QueuedItem] = []
        var totalBytes = remaining.reduce(0) { $0 + $1.bytes }
        while let oldest = remaining.first,
            remaining.count > maxItems || totalBytes > maxBytes || now.timeIntervalSince(oldest.queuedAt) > maxAge
        {
            try remove(oldest)
            dropped.append(oldest)
            totalBytes -= oldest.bytes
            remaining.removeFirst()
        }
        return dropped
    }
}
