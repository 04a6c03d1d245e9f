import FoundationEssentials

/// An account whose authorized_keys Rookery may manage: `^[a-z_][a-z0-9_-]{0,31}$`, useradd's
/// default NAME_REGEX without the trailing `$` of machine accounts. The server checks access.yml's
/// grants with it; the device checks again before it looks the account up.
public enum ManagedAccountName {
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...32).contains(bytes.count)
            && (bytes[0] == UInt8(ascii: "_") || (0x61...0x7A).contains(bytes[0]))
            && bytes.dropFirst().allSatisfy {
                (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
    }
}
