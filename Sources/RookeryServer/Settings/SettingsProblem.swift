import RookeryCore
import Yams

/// What is wrong with a settings file, said with its path, line and column and a reason in
/// Rookery's or libyaml's own words: never a line, value or excerpt of the file. Settings files
/// hold secrets (the SMTP password, password hashes, enrollment tokens), and these messages reach
/// cron mail, journald and the client's log. Yams's own descriptions quote the offending line,
/// and for a key given twice the whole file, so they are never printed.
public enum SettingsProblem {
    /// For text that is not YAML. `text` is looked at only to say where the problem is.
    public static func message(parsing error: Error, text: String, source: String) -> String {
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            // libyaml's words are fixed phrases ("found unexpected end of stream", "while scanning
            // a quoted scalar"); where the context began can be far from the problem.
            let started = context.map { " (\($0.text) that starts at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            let tab = character(at: mark, in: text) == "\t"
            return at(source, Place(mark), tab ? "a tab: YAML indents with spaces only" : problem + started)
        case .duplicatedKeysInMapping(_, let context):
            // The context's text is the whole file; only its mark is used.
            return at(source, Place(context.mark), "this key is given again later in the same mapping; give each key once")
        case .reader(let problem, let offset?, _, _):
            return at(source, place(ofCharacter: offset, in: text), problem)
        default:
            return "invalid settings in \(source): not YAML"
        }
    }

    /// For YAML that does not read as the settings it should hold; `root` is the parsed file.
    /// Decoding errors name the setting (`audit.smtp.port`); a refusal's reason is Rookery's own
    /// and names it already, or points at an unknown key, which is not repeated (see `SettingRefusal`).
    static func message(decoding error: Error, root: Node, source: String) -> String {
        let (path, reason, pointsAtKey): ([any CodingKey], String, Bool) =
            switch error {
            case let refusal as SettingRefusal: (refusal.codingPath, refusal.reason, true)
            case DecodingError.typeMismatch(let type, let context): (context.codingPath, "expected \(kind(type))", false)
            case DecodingError.valueNotFound(_, let context): (context.codingPath, "a value is missing", false)
            // The key is one of Rookery's own names.
            case DecodingError.keyNotFound(let key, let context): (context.codingPath, "\(key.stringValue) is required here", false)
            case DecodingError.dataCorrupted(let context): (context.codingPath, "a value that cannot be read here", false)
            default: ([], "cannot be read as settings", false)
            }
        let found = Setting(path, in: root)
        let named = error is SettingRefusal || found.name.isEmpty ? reason : "\(found.name): \(reason)"
        return at(source, (pointsAtKey ? found.keyMark : nil) ?? found.valueMark, named)
    }

    /// For a setting refused after the file was read; nil when the file does not hold it (a default).
    static func message(_ reason: String, setting keys: [String], root: Node, source: String) -> String? {
        let found = Setting(keys.compactMap { AnyKey(stringValue: $0) }, in: root)
        guard found.reachedAll else { return nil }
        return at(source, found.keyMark ?? found.valueMark, reason)
    }

    /// Where a coding path leads in the parsed file, followed as far as it goes, and the name of
    /// the setting it reached in the words of the templates: keys joined with dots, list entries
    /// counted from 1 (`enrollment_tokens (entry 2)`).
    private struct Setting {
        var name = ""
        var keyMark: Place?
        var valueMark: Place?
        /// Whether every step of the path was found.
        var reachedAll = true

        init(_ path: [any CodingKey], in root: Node) {
            var node = root
            for step in path {
                if let pair = node.mapping?.first(where: { $0.key.string == step.stringValue }) {
                    name += (name.isEmpty ? "" : ".") + Self.printable(step.stringValue)
                    (keyMark, node) = (pair.key.mark.map(Place.init), pair.value)
                } else if let items = node.sequence.map(Array.init), let index = step.intValue ?? Int(step.stringValue),
                    items.indices.contains(index)
                {
                    name += " (entry \(index + 1))"
                    (keyMark, node) = (nil, items[index])
                } else {
                    reachedAll = false
                    break
                }
            }
            valueMark = node.mark.map(Place.init)
        }

        /// Keys are Rookery's names, or names under users, groups and endpoint_auth: a key of
        /// anything else might be a value typed on the wrong line (a password), so it is not shown.
        private static func printable(_ key: String) -> String {
            let plain =
                !key.isEmpty && key.count <= 64
                && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.@".contains($0)) }
            return plain ? key : "(a key)"
        }
    }

    /// A line and a column, from 1 (Yams's Mark cannot be made outside Yams).
    private struct Place {
        let line: Int, column: Int

        init(line: Int, column: Int) { (self.line, self.column) = (line, column) }
        init(_ mark: Mark) { self.init(line: mark.line, column: mark.column) }
    }

    private static func at(_ source: String, _ place: Place?, _ reason: String) -> String {
        guard let place else { return "invalid settings in \(source): \(reason)" }
        return "invalid settings in \(source) at line \(place.line), column \(place.column): \(reason)"
    }

    /// What a type mismatch expected, in the words of the settings templates.
    private static func kind(_ type: Any.Type) -> String {
        if type == Bool.self { return "true or false" }
        if type == Int.self { return "a whole number" }
        if type == Double.self { return "a number" }
        if type == String.self || type == Node.Scalar.self { return "a single value" }
        if type == Node.Sequence.self { return "a list" }
        if type == Node.Mapping.self { return "a mapping (key: value lines)" }
        return "a value of another type"
    }

    /// The character libyaml's mark points at (columns count Unicode scalars from 1).
    private static func character(at mark: Mark, in text: String) -> Unicode.Scalar? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        let scalars = Array(lines[mark.line - 1].unicodeScalars)
        return scalars.indices.contains(mark.column - 1) ? scalars[mark.column - 1] : nil
    }

    /// The line and column of the character at `offset` (Yams counts reader offsets in Characters).
    private static func place(ofCharacter offset: Int, in text: String) -> Place {
        let before = text.prefix(offset)
        let line = before.filter { $0 == "\n" }.count + 1
        let column = before.reversed().prefix { $0 != "\n" }.count + 1
        return Place(line: line, column: column)
    }
}
