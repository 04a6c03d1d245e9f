import FoundationEssentials

/// What a device accepts as its firewall: the text of exactly one nftables table, its own
/// `table inet rookery { ... }`, and nothing that could reach past it.
///
/// The text comes from the server, and nft runs it as root, so the check is a strict allow-list
/// of the shape, not a parser of nft's language: at the top level only the one table block may
/// stand, and nowhere may a word appear that could touch another table, the whole rule set or a
/// file (`include`, `ruleset`, `table`, `flush`, `delete`, `destroy`, `define`). Those words
/// are looked for in every run of letters, digits and underscores outside comments and quoted
/// strings: a superset of where nft's scanner can see a keyword, so nothing it would read as one
/// goes unseen (a set named `old_table` is refused too; the server does not render such names).
public enum FirewallRuleset {
    /// The one table a device manages: its family and name. Every other table is never touched.
    public static let family = "inet"
    public static let name = "rookery"
    /// "inet rookery", as nft's commands name the table.
    public static var qualifiedName: String { "\(family) \(name)" }

    /// A device's rules are a few hundred lines; far larger text is a mistake or an attack.
    public static let maxBytes = 256 * 1024

    /// Words refused anywhere inside the table: they name other tables or the whole rule set,
    /// remove things, read files (`include`), or bring in text from elsewhere (`define`).
    static let refusedWords: Set<String> = [
        "include", "ruleset", "table", "flush", "delete", "destroy", "define", "redefine", "undefine"
    ]

    /// The rule set's text from raw bytes; nil when they are not UTF-8.
    public static func text(of data: Data) -> String? {
        String(validating: data, as: UTF8.self)
    }

    /// Why `text` is not acceptable as the device's table; nil when it is.
    public static func problem(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxBytes else { return "the rule set is \(bytes.count) bytes, over the limit of \(maxBytes)" }
        var scan = Scan()
        var index = 0
        while index < bytes.count {
            if let problem = scan.step(bytes, &index) { return problem }
        }
        return scan.finish()
    }

    /// The state of one pass over the text.
    private struct Scan {
        /// Braces open right now; 0 outside the table.
        var depth = 0
        /// The words before the table's opening brace (must be `table inet rookery`).
        var header: [String] = []
        var opened = false
        var closed = false
        var line = 1

        /// Looks at the token starting at `index` and moves past it.
        mutating func step(_ bytes: [UInt8], _ index: inout Int) -> String? {
            let byte = bytes[index]
            // Tabs and line ends are the only control characters any nft file needs.
            if byte < 0x20 && byte != 0x09 && byte != 0x0A || byte == 0x7F {
                return "line \(line) holds a control character (\(byte))"
            }
            switch byte {
            case 0x0A:
                line += 1
                index += 1
            case 0x09, 0x20:
                index += 1
            case UInt8(ascii: "#"):
                // A comment runs to the end of the line; nft reads nothing in it.
                while index < bytes.count && bytes[index] != 0x0A {
                    if bytes[index] < 0x20 && bytes[index] != 0x09 || bytes[index] == 0x7F {
                        return "line \(line) holds a control character (\(bytes[index]))"
                    }
                    index += 1
                }
            case UInt8(ascii: "\""):
                // nft's quoted strings have no escapes and end at the next quote; one kept to a
                // line cannot hide a brace or a keyword from this scan.
                index += 1
                while index < bytes.count && bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == 0x0A { return "line \(line): a quoted string runs past the end of the line" }
                    if bytes[index] < 0x20 && bytes[index] != 0x09 && bytes[index] != 0x0A || bytes[index] == 0x7F {
                        return "line \(line) holds a control character (\(bytes[index]))"
                    }
                    index += 1
                }
                guard index < bytes.count else { return "line \(line): a quoted string is never closed" }
                index += 1
                return outsideTable("a quoted string")
            case UInt8(ascii: "{"):
                index += 1
                if depth == 0 {
                    if closed { return "line \(line): something follows the table; only the table \(qualifiedName) may stand here" }
                    guard header == ["table", family, name] else {
                        return "line \(line): only table \(qualifiedName) may be declared (found \(header.joined(separator: " ").prefix(80)))"
                    }
                    opened = true
                }
                depth += 1
            case UInt8(ascii: "}"):
                index += 1
                guard depth > 0 else { return "line \(line): a closing brace without an opening one" }
                depth -= 1
                if depth == 0 { closed = true }
            case _ where isWordByte(byte):
                let start = index
                while index < bytes.count && isWordByte(bytes[index]) { index += 1 }
                return word(String(decoding: bytes[start..<index], as: UTF8.self))
            case _ where byte >= 0x80:
                return "line \(line) holds a non-ASCII character outside a comment or a quoted string"
            case UInt8(ascii: "'"), UInt8(ascii: "`"):
                return "line \(line) holds a \(Character(UnicodeScalar(byte))) (nft rule sets have no use for one)"
            default:
                index += 1
                return outsideTable("\(Character(UnicodeScalar(byte)))")
            }
            return nil
        }

        mutating func word(_ word: String) -> String? {
            if depth == 0 {
                if closed { return "line \(line): \(word.prefix(40)) follows the table; only the table \(qualifiedName) may stand here" }
                // Checked at the opening brace: "table inet rookery" and nothing else.
                header.append(word)
                return nil
            }
            let lowered = word.lowercased()
            if refusedWords.contains(lowered) {
                return "line \(line): \(lowered) is not allowed in the device's table (it could reach past table \(qualifiedName))"
            }
            return nil
        }

        /// Anything but the table's own words and braces is refused at the top level.
        func outsideTable(_ what: String) -> String? {
            depth == 0 ? "line \(line): \(what) outside table \(qualifiedName)" : nil
        }

        func finish() -> String? {
            guard opened else { return "the text declares no table \(qualifiedName)" }
            guard depth == 0 else { return "the table's braces are not balanced (\(depth) left open)" }
            return nil
        }

        func isWordByte(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F
        }
    }
}
