/// Checks for values that come from outside (the network, a settings file, a command line).
public enum InputValidation {
    /// A 40-hex OpenPGP v4 fingerprint, returned upper case.
    public static func fingerprint(_ text: String) -> String? {
        let upper = text.uppercased()
        guard upper.count == 40, upper.allSatisfy(isASCIIHex) else { return nil }
        return upper
    }

    /// A hostname: 1-253 characters of letters, digits, '-', '.', not starting with '-' or '.'.
    public static func isHostname(_ text: String) -> Bool {
        guard (1...253).contains(text.count), let first = text.first, first != "-", first != "." else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
    }

    /// 32 lowercase or uppercase hex characters.
    public static func isNonce(_ text: String) -> Bool {
        text.count == 32 && text.allSatisfy(isASCIIHex)
    }

    /// An identifier chosen by a client (submission ids, machine ids): 1-128 of [A-Za-z0-9._-].
    public static func isIdentifier(_ text: String) -> Bool {
        (1...128).contains(text.count)
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// 0-9, a-f, A-F only (`Character.isHexDigit` also takes fullwidth digits).
    public static func isASCIIHex(_ character: Character) -> Bool {
        character.isASCII && character.isHexDigit
    }
}
