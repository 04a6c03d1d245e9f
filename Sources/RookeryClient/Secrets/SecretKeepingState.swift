import FoundationEssentials
import RookeryCore

/// The secret-keeping policy this device last learned from a signed `update` answer, kept in
/// `var/client/secret-keeping.json`: which values to encrypt, and the key to encrypt them to once
/// that key is in the device's GnuPG home and checked. Its own small file, so cron's every-minute
/// path (state.json) does not grow, and a collection with nothing selected pays one file-exists
/// check.
struct SecretKeepingState: Sendable {
    let context: ClientContext

    init(context: ClientContext) { self.context = context }

    private var path: String { context.root.clientSecretKeeping }

    /// The stored policy; nil when nothing is selected. Its `key` is nil while no usable key is
    /// known, and selected values are then withheld.
    func load() throws -> SecretKeepingPolicy? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(SecretKeepingPolicy.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            // Going on without it could send a selected value in clear.
            throw DamagedFile(
                path, "\(error); no collection is queued until the next update check writes it again",
                hint: "run: rookery-client update")
        }
    }

    /// Takes on what a verified update answer says: nil forgets any policy (nothing is selected
    /// any more). A key the device has not used before is imported and checked first; a key that
    /// fails the check is not kept, so selected values are withheld rather than sent in clear.
    func adopt(_ policy: SecretKeepingPolicy?) throws {
        guard var policy else {
            if FileManager.default.fileExists(atPath: path) {
                try FileManager.default.removeItem(atPath: path)
                context.log.info("secret keeping: no value is selected any more")
            }
            return
        }
        // A damaged file counts as none: the answer replaces it.
        let known = try? load()
        if let key = policy.key, known?.key != key {
            do {
                try SecretKeyImport(openPGP: context.openPGP).importChecked(key)
                context.log.info("secret keeping: encrypting selected values to key \(key.fingerprint)")
            } catch {
                context.log.warning("secret keeping: the server's key is not used (\(error)); selected values are withheld until a usable key arrives")
                policy.key = nil
            }
        }
        guard known != policy else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try AtomicFile.write(try encoder.encode(policy), to: path, mode: 0o600)
    }
}
