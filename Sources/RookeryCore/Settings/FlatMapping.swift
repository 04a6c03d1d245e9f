/// A YAML file that is one flat mapping of scalars: comments, blank lines and `key: value` lines,
/// each value plain, 'single-quoted' or "double-quoted" on its own line. The client's settings files
/// are written this way, and the client reads them with this instead of a YAML library (Yams needs
/// full Foundation, which made the client's binary 60 % larger). It reads what YAML reads, and refuses
/// the rest of YAML (nesting, lists, anchors, tags, flow collections, block scalars, tabs outside
/// comments) rather than guess, as well as a key given twice. `quoted` writes a value so that this
/// reads it back exactly.
struct FlatMapping {
    /// A line and a column, from 1; columns count Unicode scalars, as libyaml's do.
    struct Place: Equatable {
        let line: Int, column: Int
    }

    /// A value as written: plain values are read by type (`true`, `300`), quoted ones are text.
    struct Scalar {
        let text: String
        let isPlain: Bool

        /// YAML's null, which leaves a setting as it was (an empty value, `~`, `null`).
        var isNull: Bool { isPlain && ["", "~", "null", "Null", "NULL"].contains(text) }
    }

    struct Entry {
        let key: String
        let value: Scalar
        let keyPlace: Place
        let valuePlace: Place
    }

    /// Where the file stops being what this reads, and why, in words that never quote the file.
    struct Problem: Error {
        let place: Place
        let reason: String
    }

    let entries: [Entry]

    init(text: String) throws(Problem) {
        var entries: [Entry] = []
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        if let first = lines.first, first.first == "\u{FEFF}" { lines[0] = first.dropFirst() }
        for (index, rawLine) in lines.enumerated() {
            // A CR before the LF (a file saved with DOS line ends) and blanks at the end of a line
            // are YAML's line break and nothing, as for any YAML reader.
            var line = Array(rawLine)
            if line.last == "\r" { line.removeLast() }
            while line.last == " " || line.last == "\t" { line.removeLast() }
            // The start of the one document, as YAML files often begin; before any setting only.
            if entries.isEmpty && (line == ["-", "-", "-"]) { continue }
            guard let entry = try Self.entry(in: line, line: index + 1) else { continue }
            if let earlier = entries.first(where: { $0.key == entry.key }) {
                throw Problem(
                    place: entry.keyPlace,
                    reason: "this key is given already on line \(earlier.keyPlace.line); give each key once")
            }
            entries.append(entry)
        }
        self.entries = entries
    }

    /// The entry on one line, nil for a blank or comment line.
    private static func entry(in line: [Unicode.Scalar], line number: Int) throws(Problem) -> Entry? {
        func problem(_ column: Int, _ reason: String) -> Problem {
            Problem(place: Place(line: number, column: column + 1), reason: reason)
        }
        let start = line.firstIndex { $0 != " " }
        // A comment may hold tabs, as YAML allows; nothing else that a value may not.
        let isComment = start.map { line[$0] == "#" } ?? false
        if let bad = line.firstIndex(where: { !isAllowed($0) && !(isComment && $0 == "\t") }) {
            throw problem(bad, reason(forCharacter: line[bad]))
        }
        guard let start, !isComment else { return nil }
        guard start == 0 else {
            throw problem(start, "an indented line; these settings are key: value lines that start at the line's beginning, with no nesting")
        }
        if let refusal = refusal(atStartOf: line[...], where: "a line") { throw problem(0, refusal) }
        if ["---", "..."].contains(String(String.UnicodeScalarView(line.prefix(3)))) && (line.count == 3 || line[3] == " ") {
            throw problem(0, "a document marker; these settings are one document: remove the line")
        }
        guard let colon = line.indices.first(where: { line[$0] == ":" && (($0 + 1) == line.count || line[$0 + 1] == " ") }) else {
            throw problem(0, "not a setting; write one setting per line, like key: value")
        }
        var keyEnd = colon
        while keyEnd > 0 && line[keyEnd - 1] == " " { keyEnd -= 1 }
        let key = line[..<keyEnd]
        guard key.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0) }) else {
            throw problem(0, "not a plain key; keys are letters, digits, '_', '-' and '.'")
        }
        var valueStart = colon + 1
        while valueStart < line.count && line[valueStart] == " " { valueStart += 1 }
        let value: Scalar
        do {
            value = try scalar(line[valueStart...])
        } catch let refusal {
            throw problem(valueStart + refusal.offset, refusal.reason)
        }
        return Entry(
            key: String(String.UnicodeScalarView(key)), value: value,
            keyPlace: Place(line: number, column: 1), valuePlace: Place(line: number, column: valueStart + 1))
    }

    /// Why a value cannot be read, `offset` scalars into it.
    private struct ValueRefusal: Error {
        let offset: Int
        let reason: String
    }

    /// The value that starts at `text`'s beginning and runs to the end of the line or a comment.
    private static func scalar(_ text: ArraySlice<Unicode.Scalar>) throws(ValueRefusal) -> Scalar {
        let start = text.startIndex
        guard let first = text.first, first != "#" else { return Scalar(text: "", isPlain: true) }
        let end: Int
        let value: String
        switch first {
        case "\"":
            (value, end) = try doubleQuoted(text)
        case "'":
            (value, end) = try singleQuoted(text)
        default:
            if let refusal = refusal(atStartOf: text, where: "a value") { throw ValueRefusal(offset: 0, reason: refusal) }
            let comment = text.indices.first { text[$0] == "#" && text[$0 - 1] == " " } ?? text.endIndex
            var plainEnd = comment
            while text[plainEnd - 1] == " " { plainEnd -= 1 }
            let plain = text[start..<plainEnd]
            if let colon = plain.indices.first(where: { plain[$0] == ":" && ($0 + 1 == plainEnd || plain[$0 + 1] == " ") }) {
                throw ValueRefusal(offset: colon - start, reason: "a second ': ' on the line; put a value holding ': ' in double quotes")
            }
            return Scalar(text: String(String.UnicodeScalarView(plain)), isPlain: true)
        }
        let rest = text[end...]
        if let after = rest.firstIndex(where: { $0 != " " }), !(rest[after] == "#" && after > end) {
            throw ValueRefusal(offset: after - start, reason: "something after the quoted value; only a comment (after a space and #) may follow it")
        }
        return Scalar(text: value, isPlain: false)
    }

    /// A 'single-quoted' value (where '' is one ') and the index after its closing quote.
    private static func singleQuoted(_ text: ArraySlice<Unicode.Scalar>) throws(ValueRefusal) -> (String, Int) {
        var value = String.UnicodeScalarView()
        var index = text.startIndex + 1
        while index < text.endIndex {
            if text[index] == "'" {
                guard index + 1 < text.endIndex, text[index + 1] == "'" else { return (String(value), index + 1) }
                index += 1
            }
            value.append(text[index])
            index += 1
        }
        throw ValueRefusal(offset: 0, reason: "a quoted value that does not end on its line; close it with ' (a value is one line)")
    }

    /// A "double-quoted" value with its backslash escapes and the index after its closing quote.
    private static func doubleQuoted(_ text: ArraySlice<Unicode.Scalar>) throws(ValueRefusal) -> (String, Int) {
        var value = String.UnicodeScalarView()
        var index = text.startIndex + 1
        while index < text.endIndex {
            switch text[index] {
            case "\"":
                return (String(value), index + 1)
            case "\\":
                let escape = index
                guard index + 1 < text.endIndex else { break }
                index += 1
                if let simple = simpleEscapes[text[index]] {
                    value.append(simple)
                } else if let digits = hexEscapeLengths[text[index]] {
                    let hex = text[(index + 1)...].prefix(digits)
                    // Digits only: UInt32(_:radix:) would also take a sign ("\x+1").
                    guard hex.count == digits, hex.allSatisfy(\.properties.isASCIIHexDigit),
                        let code = UInt32(String(String.UnicodeScalarView(hex)), radix: 16),
                        let scalar = Unicode.Scalar(code)
                    else {
                        throw ValueRefusal(
                            offset: escape - text.startIndex,
                            reason: "a \\\(text[index]) escape needs \(digits) hex digits of a Unicode character")
                    }
                    value.append(scalar)
                    index += digits
                } else {
                    throw ValueRefusal(offset: escape - text.startIndex, reason: "an unknown escape; write \\\\ for a backslash")
                }
            default:
                value.append(text[index])
            }
            index += 1
        }
        throw ValueRefusal(offset: 0, reason: "a quoted value that does not end on its line; close it with \" (a value is one line)")
    }

    /// YAML's one-character escapes in double quotes.
    private static let simpleEscapes: [Unicode.Scalar: Unicode.Scalar] = [
        "0": "\0", "a": "\u{07}", "b": "\u{08}", "t": "\t", "n": "\n", "v": "\u{0B}", "f": "\u{0C}", "r": "\r",
        "e": "\u{1B}", " ": " ", "\"": "\"", "/": "/", "\\": "\\", "N": "\u{85}", "_": "\u{A0}",
        "L": "\u{2028}", "P": "\u{2029}"
    ]
    private static let hexEscapeLengths: [Unicode.Scalar: Int] = ["x": 2, "u": 4, "U": 8]

    /// Why a line or value cannot start as it does: YAML gives these characters meanings that a flat
    /// mapping of scalars does not have. Nil when it can.
    private static func refusal(atStartOf text: ArraySlice<Unicode.Scalar>, where what: String) -> String? {
        guard let first = text.first else { return nil }
        let next = text.dropFirst().first
        let blankNext = next == nil || next == " "
        switch first {
        case "-" where blankNext: return "a list item; these settings are key: value lines"
        case "?" where blankNext, ":" where blankNext: return "a complex key (? or :); these settings are key: value lines"
        case "[", "{", "]", "}", ",": return "a flow collection ([...] or {...}); write one key: value per line"
        case "&", "*": return "an anchor or alias (& or *); write the value itself"
        case "!": return "a tag (!); write the value itself"
        case "|", ">": return "a block scalar (| or >); a value is one line, in double quotes if need be"
        case "%", "@", "`": return "\(what) cannot start with %, @ or `; put the value in double quotes"
        case "'", "\"": return what == "a line" ? "a quoted key; write keys without quotes" : nil
        default: return nil
        }
    }

    /// `value` as a double-quoted scalar that `FlatMapping` (and any YAML reader) reads back as
    /// exactly `value`: what may stand in a value as itself does, the rest is escaped.
    static func quoted(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case _ where isAllowed(scalar): text.unicodeScalars.append(scalar)
            case _ where scalar.value <= 0xFFFF: text += "\\u" + hexDigits(scalar.value, count: 4)
            default: text += "\\U" + hexDigits(scalar.value, count: 8)
            }
        }
        return text + "\""
    }

    private static func hexDigits(_ value: UInt32, count: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, count - digits.count)) + digits
    }

    /// Printable characters as YAML counts them, less the line breaks and tabs that this does not
    /// read (YAML would, with meanings a flat mapping does not have).
    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20...0x7E, 0xA0...0x2027, 0x202A...0xD7FF, 0xE000...0xFEFE, 0xFF00...0xFFFD, 0x10000...: true
        default: false
        }
    }

    private static func reason(forCharacter scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\t": "a tab: YAML indents with spaces only, and a value with a tab goes in double quotes (\\t)"
        case "\r": "a carriage return; save the file with Unix line ends"
        default: "a control character or line separator; remove it, or write it as an escape in double quotes"
        }
    }
}
