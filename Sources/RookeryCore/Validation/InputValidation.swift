/// Checks for values that come from outside (the network, a settings file, a command line).
public enum InputValidation {
    /// A 40-hex OpenPGP v4 fingerprint, returned upper case.
    public static func fingerprint(_ text: String) -> String? {
        let upper = text.uppercased()
        guard upper.count == 40, upper.allSatisfy({ $0.isHexDigit }) else { return nil }
        return upper
    }

    /// A hostname: 1-253 characters of letters, digits, '-', '.', not starting with '-' or '.'.
    public static func isHostname(_ text: String) -> Bool {
        guard (1...253).contains(text.count), let first = text.first, first != "-", first != "." else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
    }

    /// 32 lowercase or uppercase hex characters.
    public static func isNonce(_ text: String) -> Bool {
        text.count == 32 && text.allSatisfy { $0.isHexDigit }
    }

    /// An identifier chosen by a client (submission ids, machine ids): 1-128 of [A-Za-z0-9._-].
    public static func isIdentifier(_ text: String) -> Bool {
        (1...128).contains(text.count)
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// A relative path that stays inside its base: no empty, absolute, "." or ".." components.
    public static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\0") else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }
}
