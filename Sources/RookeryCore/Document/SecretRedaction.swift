import FoundationEssentials

/// How everything that shows documents to people or scripts (`bin/clients show`, history, audit
/// details) prints secret values: as `[secret]`. Never the ciphertext, which would let whoever
/// holds enough shares read a value from a terminal log or a mail, and never the hash, which
/// only history and the audit need in order to tell that a value changed.
public enum SecretRedaction {
    /// `value` with every secret value in it, at any depth, replaced by the string "[secret]".
    public static func redacted(_ value: JSONValue) -> JSONValue {
        if SecretValue.isSecret(value) { return .string(SecretValue.placeholder) }
        switch value {
        case .object(let members): return .object(members.mapValues(redacted))
        case .array(let items): return .array(items.map(redacted))
        default: return value
        }
    }

    /// One value on a line of text: a secret as `[secret]` (no quotes), anything else as its JSON
    /// with the secrets inside it redacted.
    public static func text(_ value: JSONValue) -> String {
        SecretValue.isSecret(value) ? SecretValue.placeholder : redacted(value).serializedString
    }

    /// The dotted paths of the secret values in `value`, which sits at `path`. A secret inside an
    /// array is named by the array's path: dotted paths do not index arrays.
    public static func secretPaths(in value: JSONValue, at path: String) -> [String] {
        if SecretValue.isSecret(value) { return [path] }
        switch value {
        case .object(let members):
            return members.keys.sorted().flatMap { key in
                secretPaths(in: members[key]!, at: path.isEmpty ? key : path + "." + key)
            }
        case .array(let items):
            return items.contains { !secretPaths(in: $0, at: path).isEmpty } ? [path] : []
        default:
            return []
        }
    }
}
