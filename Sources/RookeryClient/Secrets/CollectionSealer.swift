import FoundationEssentials
import RookeryCore

/// Encrypts the selected values of a collection before it is queued (see `SecretSealer`): each
/// becomes an OpenPGP message to the secret-keeping key with its HMAC, or `{"secret": null}`
/// when no usable key is known or encrypting it failed. Never a value in clear.
struct CollectionSealer {
    let context: ClientContext
    /// The policy as the device last learned it; nil when nothing is selected.
    let policy: SecretKeepingPolicy?

    /// Reads the policy now, so that a damaged policy file stops a collection before its plugins
    /// and one-time commands run, not after.
    init(context: ClientContext) throws {
        self.context = context
        policy = try SecretKeepingState(context: context).load()
    }

    /// With nothing selected the collection is returned as it is, for the price of one
    /// file-exists check. Each selected value present costs one gpg run.
    func seal(_ collection: [String: JSONValue]) throws -> [String: JSONValue] {
        guard let policy else { return collection }
        let selectors = policy.parsedSelectors()
        guard !selectors.isEmpty else { return collection }
        let sealer: SecretSealer
        if let key = policy.key {
            // As for the device's own key: skips a `gpg --version` run per value.
            context.openPGP.makeProcessDefault()
            let openPGP = context.openPGP
            sealer = SecretSealer(
                selectors: selectors, encrypt: { try openPGP.encrypt($0, to: key.fingerprint) },
                hashKey: try DeviceHashKey.loadOrCreate(at: context.root.clientSecretHashKey))
        } else {
            context.log.info("secret keeping: no usable key known yet, so selected values are withheld")
            sealer = SecretSealer(selectors: selectors, encrypt: nil, hashKey: nil)
        }
        let (sealed, failed) = sealer.seal(.object(collection))
        for selector in failed {
            context.log.warning("secret keeping: \(selector) could not be encrypted and is withheld")
        }
        // Never fall back to the collection as it came: it holds the values in clear.
        guard let members = sealed.objectValue else { throw NotAnObject() }
        return members
    }

    /// Sealing an object gave something else: a fault of this code, so no kind of its own (`failed`).
    private struct NotAnObject: Error, CustomStringConvertible {
        var description: String { "secret keeping: the sealed collection is not an object" }
    }
}
