import FoundationEssentials
import RookeryCore

/// GLib-style key files ("INI"): /etc/lightdm/lightdm.conf, /etc/gdm3/custom.conf.
///
///     [Seat:*]
///     allow-guest=false
///
/// Lines starting with "#" or ";" are comments. Keys before any section header belong to the
/// section "".
struct IniFile {
    struct Entry {
        let section: String
        let key: String
        let value: String
    }

    /// Every assignment in file order, so a caller can apply "last one wins" across several files.
    private(set) var entries: [Entry] = []

    /// Several files read as one, later ones winning; each starts outside any section, as it would
    /// if read alone.
    init(merging texts: [String]) {
        entries = texts.flatMap { IniFile($0).entries }
    }

    init(_ text: String) {
        var section = ""
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmingWhitespace()
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            entries.append(
                Entry(
                    section: section,
                    key: line[..<equals].trimmingWhitespace(),
                    value: line[line.index(after: equals)...].trimmingWhitespace()
                ))
        }
    }

    /// The last value of `key` in any of `sections`.
    func value(of key: String, inSections sections: Set<String>) -> String? {
        entries.last { $0.key == key && sections.contains($0.section) }?.value
    }
}

/// A GLib key-file boolean ("true", "false", "1", "0"); nil for anything else.
func parseKeyFileBoolean(_ value: String?) -> Bool? {
    switch value?.lowercased() {
    case "true", "1": return true
    case "false", "0": return false
    default: return nil
    }
}
