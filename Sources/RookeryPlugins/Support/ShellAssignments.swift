import FoundationEssentials
import RookeryCore

/// Files made of shell-style assignments, one per line: /etc/os-release, /etc/default/ufw,
/// /etc/ufw/ufw.conf.
///
///     # comment
///     ID=ubuntu
///     PRETTY_NAME="Ubuntu 24.04 LTS"
///
/// Quotes are removed as a shell would (only the simple cases these files use); a later assignment
/// of the same name replaces an earlier one, as it would in a shell.
struct ShellAssignments {
    private var values: [String: String] = [:]

    init(_ text: String) {
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingWhitespace()
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingWhitespace()
            guard !name.isEmpty else { continue }
            values[name] = Self.unquote(String(line[line.index(after: equals)...]))
        }
    }

    subscript(name: String) -> String? {
        values[name]
    }

    /// `"a \"b\""` is `a "b"`, `'a b'` is `a b`, anything else is taken as it is.
    private static func unquote(_ value: String) -> String {
        let value = value.trimmingWhitespace()
        guard value.count >= 2, let first = value.first, first == value.last, first == "\"" || first == "'" else {
            return value
        }
        let inner = value.dropFirst().dropLast()
        if first == "'" { return String(inner) }
        var result = ""
        var escaping = false
        for character in inner {
            if escaping {
                result.append(character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
