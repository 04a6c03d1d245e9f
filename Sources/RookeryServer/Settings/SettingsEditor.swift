/// Sets one value in a YAML settings file by editing its lines, so the admin's comments, order and
/// other keys stay as they were. It understands block mappings (`key:` with indented children),
/// which is how the templates are written; callers parse the result to make sure the edit took.
public enum SettingsEditor {
    /// `text` with `path` (keys from the top) set to `value`, a YAML scalar written as given.
    /// Missing mappings on the way are added at the end of their parent.
    public static func setting(_ path: [String], to value: String, in text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var block = 0..<lines.count
        var indent = 0
        for (depth, key) in path.enumerated() {
            let isLeaf = depth == path.count - 1
            guard let row = block.first(where: { isKey(key, at: indent, in: lines[$0]) }) else {
                let insertAt = lastContentLine(in: block, of: lines).map { $0 + 1 } ?? block.lowerBound
                lines.insert(contentsOf: nested(Array(path[depth...]), value: value, indent: indent), at: insertAt)
                break
            }
            let children = childRows(after: row, indent: indent, in: lines)
            if isLeaf {
                lines.replaceSubrange(row..<children.upperBound, with: [pad(indent) + key + ": " + value])
                break
            }
            // `key: {}` or `key: ~` written inline becomes a block that can take children.
            lines[row] = pad(indent) + key + ":"
            block = children
            indent = children.compactMap { indentation(of: lines[$0]) }.first ?? indent + 2
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` with the top-level `key` and everything under it replaced by `block` (whole lines,
    /// the first normally `key:`); an empty `block` removes the key. A key not in the file is
    /// added at the end. Comments among the replaced lines go with them.
    public static func replacingTopLevel(_ key: String, with block: [String], in text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if let row = lines.indices.first(where: { isKey(key, at: 0, in: lines[$0]) }) {
            lines.replaceSubrange(row..<childRows(after: row, indent: 0, in: lines).upperBound, with: block)
        } else {
            lines += block
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func isKey(_ key: String, at indent: Int, in line: String) -> Bool {
        indentation(of: line) == indent && line.dropFirst(indent).hasPrefix(key + ":")
    }

    /// The rows below `row` that belong to it: more indented, or blank, or comments, up to the
    /// next line at `indent` or less (trailing blanks and comments are left to what follows).
    private static func childRows(after row: Int, indent: Int, in lines: [String]) -> Range<Int> {
        var end = row + 1
        var lastChild = row
        while end < lines.count {
            if let level = indentation(of: lines[end]) {
                guard level > indent else { break }
                lastChild = end
            }
            end += 1
        }
        return (row + 1)..<(lastChild + 1)
    }

    private static func lastContentLine(in block: Range<Int>, of lines: [String]) -> Int? {
        block.last { indentation(of: lines[$0]) != nil }
    }

    private static func nested(_ keys: [String], value: String, indent: Int) -> [String] {
        keys.enumerated().map { offset, key in
            pad(indent + 2 * offset) + key + ":" + (offset == keys.count - 1 ? " " + value : "")
        }
    }

    /// Leading spaces of a line with content; nil for blank lines and comments.
    private static func indentation(of line: String) -> Int? {
        let spaces = line.prefix { $0 == " " }.count
        let rest = line.dropFirst(spaces)
        return rest.isEmpty || rest.hasPrefix("#") ? nil : spaces
    }

    private static func pad(_ count: Int) -> String { String(repeating: " ", count: count) }
}
