import Crypto
import FoundationEssentials

/// Replaces the values at the selected paths of a document with `SecretValue`s, before the
/// document goes anywhere: a value is encrypted (OpenPGP, to the secret-keeping key) or withheld,
/// never passed on in clear.
public struct SecretSealer: Sendable {
    let selectors: [SecretSelector]
    /// Encrypts a value's JSON; nil when no key is known, and every selected value is withheld.
    let encrypt: (@Sendable (Data) throws -> Data)?
    /// Keys the hash of each value; nil where there is no device key to keep hashes comparable
    /// (the server encrypting values that arrived in clear).
    let hashKey: SymmetricKey?

    public init(selectors: [SecretSelector], encrypt: (@Sendable (Data) throws -> Data)?, hashKey: SymmetricKey?) {
        self.selectors = selectors
        self.encrypt = encrypt
        self.hashKey = hashKey
    }

    /// The sealed document, and the selectors whose value had to be withheld because encrypting
    /// it failed (to log; the values themselves never appear in messages).
    public func seal(_ document: JSONValue) -> (document: JSONValue, failed: [SecretSelector]) {
        var failed: [SecretSelector] = []
        let sealed = selectors.reduce(document) { current, selector in
            selector.replacing(in: current) { value in
                if SecretValue.isSecret(value) { return value }
                do {
                    return try sealValue(value).json
                } catch {
                    failed.append(selector)
                    return SecretValue.withheld.json
                }
            }
        }
        return (sealed, failed)
    }

    /// One value as a `SecretValue`: the OpenPGP message of its compact JSON, and that JSON's HMAC.
    public func sealValue(_ value: JSONValue) throws -> SecretValue {
        guard let encrypt else { return .withheld }
        let plain = value.serialized()
        let hash = hashKey.map { key in
            Hex.string(HMAC<SHA256>.authenticationCode(for: plain, using: key))
        }
        return SecretValue(message: try encrypt(plain), hash: hash)
    }
}
