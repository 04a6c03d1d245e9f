/// One leaf that changed between two versions of a document. `old` or `new` is nil where the
/// path did not exist on that side.
public struct DocumentChange: Equatable, Sendable {
    public let path: String
    public let old: JSONValue?
    public let new: JSONValue?

    public init(path: String, old: JSONValue?, new: JSONValue?) {
        self.path = path
        self.old = old
        self.new = new
    }
}

/// Compares documents leaf by leaf, so history can be kept as a trail of small changes instead of
/// full copies. Objects are walked with dotted paths; arrays and scalars are leaves, because a
/// list that shifts by one would otherwise show as a change at every index.
public enum DocumentDiff {
    public static func changes(from old: JSONValue?, to new: JSONValue) -> [DocumentChange] {
        let before = flatten(old ?? .object([:]))
        let after = flatten(new)
        var changes: [DocumentChange] = []
        for path in Set(before.keys).union(after.keys).sorted() where before[path] != after[path] {
            changes.append(DocumentChange(path: path, old: before[path], new: after[path]))
        }
        return changes
    }

    /// Maps every leaf of `value` to its dotted path.
    public static func flatten(_ value: JSONValue, prefix: String = "") -> [String: JSONValue] {
        guard case .object(let members) = value, !members.isEmpty || prefix.isEmpty else {
            return prefix.isEmpty ? [:] : [prefix: value]
        }
        var leaves: [String: JSONValue] = [:]
        for (key, child) in members {
            let path = prefix.isEmpty ? key : prefix + "." + key
            leaves.merge(flatten(child, prefix: path)) { _, new in new }
        }
        return leaves
    }
}
