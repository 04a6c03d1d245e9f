/// Text that came from a device or a stranger, made safe for one log line: control characters
/// (newlines that would forge a second line, terminal escapes) are written as `\u{..}`, and
/// anything past `limit` characters is cut, so a peer can neither forge lines nor flood the log.
public enum LogText {
    public static func escaped(_ text: String, limit: Int = 300) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator:
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > limit ? out + "..." : out
    }
}
