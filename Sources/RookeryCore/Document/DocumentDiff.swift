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
/// full copies. Objects are walked with dotted paths; arrays, scalars and secret values are leaves,
/// because a list that shifts by one would otherwise show as a change at every index.
public enum DocumentDiff {
    public static func changes(from old: JSONValue?, to new: JSONValue) -> [DocumentChange] {
        var changes: [DocumentChange] = []
        compare(old ?? .object([:]), new, path: nil, into: &changes)
        return changes.sorted { $0.path < $1.path }
    }

    /// The changes `changes(from:to:)` finds between the values of these texts, found by
    /// comparing their bytes member by member, as deep as their layouts go: only the members
    /// whose bytes differ are parsed and compared as values. Equal bytes are equal values; in
    /// canonical text (`JSONValue.serializedString`) equal values are also equal bytes, so for a
    /// document that barely changed, most of the old one is never parsed. `newValue` is `new`'s
    /// value.
    public static func changes(from old: JSONText?, to new: JSONText, newValue: JSONValue) throws -> [DocumentChange] {
        guard let old, case .object(let members) = newValue else {
            return changes(from: try old.map { try $0.value(at: $0.bytes.indices) }, to: newValue)
        }
        var changes: [DocumentChange] = []
        try compare(old, old.layout, new, new.layout, members, path: nil, into: &changes)
        return changes.sorted { $0.path < $1.path }
    }

    /// `compare` for two objects given by their layouts (`newMembers` being the new one's).
    private static func compare(
        _ old: JSONText, _ oldLayout: JSONLayout, _ new: JSONText, _ newLayout: JSONLayout,
        _ newMembers: [String: JSONValue], path: String?,
        into changes: inout [DocumentChange]
    ) throws {
        for (key, member) in newLayout.members {
            let childPath = childPath(path, key)
            guard let before = oldLayout.members[key] else {
                compare(nil, newMembers[key], path: childPath, into: &changes)
                continue
            }
            if old.same(before.range, as: new, at: member.range) { continue }
            if let oldInner = before.layout, let newInner = member.layout, walksInto(oldInner), walksInto(newInner),
                case .object(let members)? = newMembers[key]
            {
                try compare(old, oldInner, new, newInner, members, path: childPath, into: &changes)
            } else {
                compare(try old.value(at: before.range), newMembers[key], path: childPath, into: &changes)
            }
        }
        for (key, before) in oldLayout.members where newLayout.members[key] == nil {
            compare(try old.value(at: before.range), nil, path: childPath(path, key), into: &changes)
        }
    }

    /// Whether `members(of:at:)` walks into an object of this layout below the root: not when it
    /// is empty, nor when it may be a secret value (every secret value has a `secret` member; an
    /// object that has one is compared as a value, which decides).
    private static func walksInto(_ layout: JSONLayout) -> Bool {
        !layout.members.isEmpty && layout.members["secret"] == nil
    }

    /// Walks both sides at once, so the common case, a document that barely changed, builds no
    /// path but those of its changed leaves (and of the objects above them). `path` is nil at the
    /// root (a top-level key `""` has the path `""`).
    private static func compare(_ old: JSONValue?, _ new: JSONValue?, path: String?, into changes: inout [DocumentChange]) {
        switch (members(of: old, at: path), members(of: new, at: path)) {
        case (let before?, let after?):
            for (key, child) in after {
                compare(before[key], child, path: childPath(path, key), into: &changes)
            }
            for (key, child) in before where after[key] == nil {
                compare(child, nil, path: childPath(path, key), into: &changes)
            }
        case (let before?, nil):
            appendLeaves(of: before, path: path, asOld: true, into: &changes)
            if let new, let path { changes.append(DocumentChange(path: path, old: nil, new: new)) }
        case (nil, let after?):
            if let old, let path { changes.append(DocumentChange(path: path, old: old, new: nil)) }
            appendLeaves(of: after, path: path, asOld: false, into: &changes)
        case (nil, nil):
            if let path, !same(old, new) { changes.append(DocumentChange(path: path, old: old, new: new)) }
        }
    }

    /// The members of a value `flatten` walks into; nil for a leaf (or nothing).
    private static func members(of value: JSONValue?, at path: String?) -> [String: JSONValue]? {
        guard case .object(let members)? = value, !members.isEmpty || path == nil,
            path == nil || !SecretValue.isSecret(.object(members))
        else { return nil }
        return members
    }

    /// Every leaf below `path` on one side, as added or as removed.
    private static func appendLeaves(
        of members: [String: JSONValue], path: String?, asOld: Bool,
        into changes: inout [DocumentChange]
    ) {
        var leaves: [String: JSONValue] = [:]
        for (key, child) in members { collect(child, path: childPath(path, key), into: &leaves) }
        for (leafPath, value) in leaves {
            changes.append(DocumentChange(path: leafPath, old: asOld ? value : nil, new: asOld ? nil : value))
        }
    }

    private static func childPath(_ path: String?, _ key: String) -> String {
        path.map { $0 + "." + escapeSegment(key) } ?? escapeSegment(key)
    }

    /// Secret values are equal when their hashes say so: their ciphertexts differ on every collection.
    private static func same(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        if let a, let b, let secretA = SecretValue(a), let secretB = SecretValue(b) {
            return secretA.sameValue(as: secretB)
        }
        return a == b
    }

    /// Maps every leaf of `value` to its dotted path, in one pass: each path is built once.
    public static func flatten(_ value: JSONValue) -> [String: JSONValue] {
        var leaves: [String: JSONValue] = [:]
        collect(value, path: nil, into: &leaves)
        return leaves
    }

    /// `path` is nil at the root.
    private static func collect(_ value: JSONValue, path: String?, into leaves: inout [String: JSONValue]) {
        // A secret value is one leaf: its parts mean nothing apart.
        guard case .object(let members) = value, !members.isEmpty || path == nil,
            path == nil || !SecretValue.isSecret(value)
        else {
            if let path { leaves[path] = value }
            return
        }
        for (key, child) in members { collect(child, path: childPath(path, key), into: &leaves) }
    }

    /// A key as one path segment: `\` and `.` are escaped, so `{"a.b": 1}` and `{"a": {"b": 1}}`
    /// have different paths, and control characters are written as `\u{..}` so a path is safe to
    /// print on a terminal.
    public static func escapeSegment(_ key: String) -> String {
        var segment = ""
        for scalar in key.unicodeScalars {
            switch scalar.value {
            case 0x5C: segment += "\\\\"
            case 0x2E: segment += "\\."
            case 0..<0x20, 0x7F...0x9F: segment += "\\u{\(String(scalar.value, radix: 16))}"
            default: segment.unicodeScalars.append(scalar)
            }
        }
        return segment
    }
}
