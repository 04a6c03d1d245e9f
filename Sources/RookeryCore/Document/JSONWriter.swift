/// Writes `JSONValue`s compactly with sorted keys, so equal values always give equal bytes.
/// Non-ASCII text is written as UTF-8; only `"`, `\` and control characters are escaped.
enum JSONWriter {
    static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let integer): out.append(contentsOf: String(integer).utf8)
        case .number(let double):
            // Not representable in JSON; they cannot come from parsing, only from code.
            out.append(contentsOf: (double.isFinite ? "\(double)" : "null").utf8)
        case .string(let text): writeString(text, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (position, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Escapes C0 and C1 control characters and DEL as well as `"` and `\`: documents come from
    /// devices and end up on admins' terminals, where such characters would be commands. Works on
    /// the UTF-8 bytes, copying the runs between escapes whole: a C1 control is the only
    /// multi-byte character escaped, and it is 0xC2 followed by 0x80...0x9F.
    private static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var copiedUpTo = 0
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                let escaped: (value: UInt8, length: Int)
                if byte == 0x22 || byte == 0x5C || byte < 0x20 || byte == 0x7F {
                    escaped = (byte, 1)
                } else if byte == 0xC2, index + 1 < bytes.count, (0x80...0x9F).contains(bytes[index + 1]) {
                    escaped = (bytes[index + 1], 2)
                } else {
                    index += 1
                    continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copiedUpTo..<index]))
                appendEscape(of: escaped.value, into: &out)
                index += escaped.length
                copiedUpTo = index
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copiedUpTo...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `value` is the code point (below 0xA0) of the character escaped.
    private static func appendEscape(of value: UInt8, into out: inout [UInt8]) {
        switch value {
        case 0x22: out.append(contentsOf: #"\""#.utf8)
        case 0x5C: out.append(contentsOf: #"\\"#.utf8)
        case 0x0A: out.append(contentsOf: #"\n"#.utf8)
        case 0x0D: out.append(contentsOf: #"\r"#.utf8)
        case 0x09: out.append(contentsOf: #"\t"#.utf8)
        default:
            out.append(contentsOf: #"\u00"#.utf8)
            out.append(hexDigits[Int(value >> 4)])
            out.append(hexDigits[Int(value & 0x0F)])
        }
    }
}
