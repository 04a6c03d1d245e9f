/// How large a stored document may be, in the terms the history pays for: every leaf becomes a
/// dotted path, and every changed leaf a history row. A device whose document breaks one of
/// these is refused (`400 malformed`) with the limit named, before anything is stored.
public struct DocumentLimits: Sendable, Equatable {
    /// Bytes of one key (UTF-8).
    public var maxKeyBytes = 256
    /// Bytes of one leaf's dotted path, its keys and separators together.
    public var maxPathBytes = 1024
    /// Leaves (values that are not objects, and empty objects) in one document.
    public var maxLeaves = 20_000

    public init() {}

    public struct Violation: KindedError, Sendable {
        public let description: String
        public var kind: ErrorKind { .input }
    }

    /// Walks `document` once, throwing at the first limit it breaks; returns the leaf count.
    @discardableResult
    public func check(_ document: JSONValue) throws -> Int {
        var leaves = 0
        try walk(document, pathBytes: 0, isRoot: true, leaves: &leaves)
        return leaves
    }

    private func walk(_ value: JSONValue, pathBytes: Int, isRoot: Bool, leaves: inout Int) throws {
        guard case .object(let members) = value, !members.isEmpty || isRoot else {
            leaves += 1
            guard leaves <= maxLeaves else {
                throw Violation(description: "the document has more than \(maxLeaves) leaves (max_document_leaves)")
            }
            return
        }
        for (key, child) in members {
            let keyBytes = DocumentDiff.escapeSegment(key).utf8.count
            guard keyBytes <= maxKeyBytes else {
                throw Violation(description: "a key of \(keyBytes) bytes is over the limit of \(maxKeyBytes) (max_key_bytes)")
            }
            let childPath = isRoot ? keyBytes : pathBytes + 1 + keyBytes
            guard childPath <= maxPathBytes else {
                throw Violation(description: "a path of more than \(maxPathBytes) bytes (keys joined by dots) is too long")
            }
            try walk(child, pathBytes: childPath, isRoot: false, leaves: &leaves)
        }
    }
}
