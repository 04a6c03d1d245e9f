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

    /// A path that stays inside the directory it is resolved against: relative, not empty, at most
    /// 255 bytes, components neither empty nor "." nor "..", no NUL, backslash or control characters.
    public static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, path.utf8.count <= 255 else { return false }
        // Backslash is refused in case anything on the way treats it as a separator.
        let hasBadCharacter = path.unicodeScalars.contains { scalar in
            scalar == "\\" || scalar.properties.generalCategory == .control
        }
        if hasBadCharacter { return false }
        // A leading '/' makes an empty first component, so absolute paths fail here as well.
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }

    /// Why `target` may not be patched, or nil when it may: patches change files under the
    /// device's `client/` tree only, and never the owner's own `client/settings.yml` (which is
    /// where the owner turns remote commands off).
    public static func patchTargetProblem(_ target: String) -> String? {
        guard isSafeRelativePath(target) else {
            return "\(target) is not a safe relative path (no leading /, no . or .. components)"
        }
        guard target.hasPrefix("client/"), target.count > "client/".count else {
            return "\(target) is not under client/"
        }
        guard target != "client/settings.yml" else {
            return "client/settings.yml belongs to the device's owner and is never patched"
        }
        return nil
    }

    /// A command's name: an identifier that is also a file name in client/commands/.
    public static func isCommandName(_ text: String) -> Bool {
        isIdentifier(text) && text.first != "." && text.count <= 64
    }
}
