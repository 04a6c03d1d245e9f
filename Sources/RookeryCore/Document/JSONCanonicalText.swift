/// JSON text that is exactly what `JSONWriter` writes for the value it holds: compact, keys in
/// order, escapes only where the writer escapes. Such text can be stored as it came, instead of
/// parsing it into a value and writing that again (a device's own writer makes this text, so
/// its submissions arrive this way).
///
/// Every check errs toward "not canonical": a key that is not ASCII (whose order `String`
/// decides by Unicode rules), any number but a plain 64-bit integer, any escape the writer would
/// not make. Text found not canonical is written again from its value, as before.
public enum JSONCanonicalText {
    /// Whether `bytes`, text the parser accepted, is what `JSONWriter` writes for its value.
    public static func isCanonical(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var scanner = Scanner(bytes: bytes)
        return scanner.value() && scanner.index == bytes.count
    }

    /// Writes an object of `members` and `verbatim`, whose texts are canonical already (see
    /// `isCanonical`), as `JSONWriter` writes objects: compact, keys in order. A key in both
    /// takes the verbatim text.
    public static func object(_ members: [String: JSONValue], verbatim: [String: [UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(verbatim.values.reduce(64) { $0 + $1.count })
        out.append(UInt8(ascii: "{"))
        let keys = Set(members.keys).union(verbatim.keys).sorted()
        for (position, key) in keys.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.write(.string(key), into: &out)
            out.append(UInt8(ascii: ":"))
            if let text = verbatim[key] {
                out.append(contentsOf: text)
            } else if let value = members[key] {
                JSONWriter.write(value, into: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Walks text the parser accepted, so it checks the canonical form only, not the syntax.
    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        mutating func value() -> Bool {
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object()
            case UInt8(ascii: "["): return array()
            case UInt8(ascii: "\""): return string() != nil
            case UInt8(ascii: "t"): return word(4)
            case UInt8(ascii: "f"): return word(5)
            case UInt8(ascii: "n"): return word(4)
            default: return integer()
            }
        }

        private mutating func word(_ length: Int) -> Bool {
            index += length
            return index <= bytes.count
        }

        /// Members in strictly increasing order of their keys, all ASCII; no whitespace.
        private mutating func object() -> Bool {
            index += 1
            if next(is: "}") { return true }
            var previous: Range<Int>?
            repeat {
                guard let key = string(), key.ascii else { return false }
                if let previous, !Self.ascending(bytes, previous, key.range) { return false }
                previous = key.range
                guard next(is: ":"), value() else { return false }
            } while next(is: ",")
            return next(is: "}")
        }

        private mutating func array() -> Bool {
            index += 1
            if next(is: "]") { return true }
            repeat {
                guard value() else { return false }
            } while next(is: ",")
            return next(is: "]")
        }

        private mutating func next(is character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        /// A string's content range and whether it is all ASCII, or nil when the writer would
        /// write it otherwise: an escape it does not make, or a character it escapes left raw.
        private mutating func string() -> (range: Range<Int>, ascii: Bool)? {
            index += 1
            let start = index
            var ascii = true
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return (start..<index - 1, ascii)
                case UInt8(ascii: "\\"):
                    guard escapeIsTheWriters() else { return nil }
                    ascii = false  // a key with an escape is compared by what it means: leave it to the writer
                case 0x7F:
                    return nil
                case 0xC2 where index + 1 < bytes.count && (0x80...0x9F).contains(bytes[index + 1]):
                    return nil  // a C1 control, which the writer escapes
                default:
                    if byte >= 0x80 { ascii = false }
                    index += 1
                }
            }
            return nil
        }

        /// `\"`, `\\`, `\n`, `\r`, `\t`, or `\u00XX` in lower-case hex for the other characters
        /// the writer escapes (C0 controls, DEL, C1 controls). Moves past it.
        private mutating func escapeIsTheWriters() -> Bool {
            guard index + 1 < bytes.count else { return false }
            switch bytes[index + 1] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                index += 2
                return true
            case UInt8(ascii: "u"):
                guard index + 6 <= bytes.count, bytes[index + 2] == UInt8(ascii: "0"), bytes[index + 3] == UInt8(ascii: "0"),
                    let high = Self.lowerHex(bytes[index + 4]), let low = Self.lowerHex(bytes[index + 5])
                else { return false }
                let code = high << 4 | low
                index += 6
                return (code < 0x20 && code != 0x09 && code != 0x0A && code != 0x0D) || code == 0x7F || (0x80...0x9F).contains(code)
            default:
                return false
            }
        }

        /// `-?(0|[1-9][0-9]*)` that fits in 64 bits, and not `-0`: what the writer writes for an
        /// integer. A fraction or exponent after it is left unread, and what reads next refuses it.
        private mutating func integer() -> Bool {
            let negative = next(is: "-")
            let digitsStart = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            let digits = index - digitsStart
            guard digits > 0 else { return false }
            if negative && digits == 1 && bytes[digitsStart] == UInt8(ascii: "0") { return false }
            // Up to 18 digits always fit; 19 digits may not, and are left to the writer.
            return digits <= 18
        }

        private static func lowerHex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }

        /// ASCII keys: byte order is `String`'s order.
        private static func ascending(_ bytes: UnsafeBufferPointer<UInt8>, _ first: Range<Int>, _ second: Range<Int>) -> Bool {
            let common = min(first.count, second.count)
            for offset in 0..<common where bytes[first.lowerBound + offset] != bytes[second.lowerBound + offset] {
                return bytes[first.lowerBound + offset] < bytes[second.lowerBound + offset]
            }
            return first.count < second.count
        }
    }
}
