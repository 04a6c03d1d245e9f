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
    static func message(decoding error: Error, root: Node, source: String) -> String {
        let (path, reason, pointsAtKey): ([any CodingKey], String, Bool) = switch error {
        case let refusal as SettingRefusal: (refusal.codingPath, refusal.reason, true)
        case DecodingError.typeMismatch(let type, let context): (context.codingPath, "expected \(kind(type))", false)
        case DecodingError.valueNotFound(_, let context): (context.codingPath, "a value is missing", false)
        // The key is one of Rookery's own names.
        case DecodingError.keyNotFound(let key, let context): (context.codingPath, "\(key.stringValue) is required here", false)
        case DecodingError.dataCorrupted(let context): (context.codingPath, "a value that cannot be read here", false)
        default: ([], "cannot be read as settings", false)
        }
        return at(source, place(of: path, in: root, pointsAtKey: pointsAtKey), reason)
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

    /// Where `path` leads in `root`, followed as far as it goes: the key of its last step when
    /// `pointsAtKey` (an unknown key), else the value (a value of the wrong type).
    private static func place(of path: [any CodingKey], in root: Node, pointsAtKey: Bool) -> Place? {
        var node = root, key: Node?
        for step in path {
            if let pair = node.mapping?.first(where: { $0.key.string == step.stringValue }) {
                (key, node) = (pair.key, pair.value)
            } else if let items = node.sequence.map(Array.init), let index = step.intValue, items.indices.contains(index) {
                (key, node) = (nil, items[index])
            } else {
                break
            }
        }
        return ((pointsAtKey ? key?.mark : nil) ?? node.mark).map(Place.init)
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
