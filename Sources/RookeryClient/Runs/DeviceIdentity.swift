import FoundationEssentials
import RookeryCore

/// The device's own key and machine id. The private key is made on the device and never leaves it.
public struct DeviceIdentity: Sendable {
    public let fingerprint: String
    public let machineID: String

    /// Loads the identity, making the key on first use.
    public static func loadOrCreate(_ context: ClientContext) throws -> DeviceIdentity {
        try context.openPGP.prepareHome()
        // Only here, not when the context opens: it runs `gpg --version`, and cron's
        // nothing-due path must not pay for that.
        context.openPGP.makeProcessDefault()
        var state = context.loadState()
        let fingerprint: String
        let secretKeys = try context.openPGP.secretKeyFingerprints()
        if let known = state.fingerprint, secretKeys.contains(known) {
            fingerprint = known
        } else if let existing = secretKeys.first {
            fingerprint = existing
        } else {
            fingerprint = try context.openPGP.generateSigningKey(userID: "rookery device \(context.hostname)")
            context.log.info("generated device key \(fingerprint)")
        }
        if state.fingerprint != fingerprint {
            state.fingerprint = fingerprint
            try context.save(state)
        }
        return DeviceIdentity(fingerprint: fingerprint, machineID: try machineID(context))
    }

    /// `/etc/machine-id` under the system root; without one, an id made once and kept in var/.
    static func machineID(_ context: ClientContext) throws -> String {
        let system = context.settings.systemRoot + "/etc/machine-id"
        if let text = try? String(contentsOfFile: system, encoding: .utf8) {
            let id = text.trimmingWhitespace()
            if InputValidation.isIdentifier(id) { return id }
        }
        let own = context.root.clientState + "/machine-id"
        if let text = try? String(contentsOfFile: own, encoding: .utf8), InputValidation.isIdentifier(text) {
            return text
        }
        let made = UUID().uuidString.lowercased().filter { $0 != "-" }
        try AtomicFile.write(Data(made.utf8), to: own)
        return made
    }
}
