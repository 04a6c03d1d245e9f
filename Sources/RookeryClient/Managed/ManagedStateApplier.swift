import FoundationEssentials
import Glibc
import RookeryCore
import RookeryPlugins

/// Takes on the state the server manages on this device (`UpdateAnswer.managed`): the fleet's
/// settings, the firewall table and the authorized_keys of managed accounts, each part on its
/// own, so one part refused leaves the others applied. What happened is kept in
/// `var/client/managed.json` (`ManagedStateRecord`), which the next collection reports and whose
/// digest the next `update` sends back.
public struct ManagedStateApplier: Sendable {
    let context: ClientContext

    public init(context: ClientContext) { self.context = context }

    public func apply(_ state: ManagedState, now: Date = Date()) -> ManagedStateRecord {
        var record = ManagedStateRecord(sha256: state.sha256, receivedAt: now)
        guard state.isIntact else {
            // Signed by the server but not what it says: take nothing of it, and ask again.
            record.sha256 = nil
            record.settings = .object(["status": .string("refused"), "reason": .string("the state's sha256 does not match its parts")])
            return save(record)
        }
        record.settings = adoptSettings(state.settings ?? [:])
        let settings = context.settings
        if settings.manageFirewall {
            let firewall = FirewallApplier(context: context)
            record.firewall = (state.firewall.map { firewall.apply($0) } ?? firewall.remove()).reportValue
        } else if state.firewall != nil {
            record.firewall = .object(["status": .string("refused"), "reason": .string("the device owner set manage_firewall: false")])
        }
        if settings.manageSSHKeys {
            let writer = AuthorizedKeysWriter(
                systemRoot: SystemRoot(path: settings.systemRoot), stateDirectory: context.root.clientState + "/authorized-keys")
            record.authorizedKeys = .object(writer.apply(state.authorizedKeys ?? [:]).mapValues { $0.reportValue })
        } else if state.authorizedKeys != nil {
            record.authorizedKeys = .object(["status": .string("refused"), "reason": .string("the device owner set manage_ssh_keys: false")])
        }
        for (part, value) in [("settings", record.settings), ("firewall", record.firewall)] {
            if case .string(let status)? = value?["status"], status == "refused" || status == "failed" {
                context.log.warning("managed \(part) not taken: \(value?["reason"]?.stringValue ?? status)")
            }
        }
        // A part that failed (a full disk, nft that did not answer) is tried again: without the
        // digest the next update brings the state back. A refusal would only be refused again.
        if record.hasFailure { record.sha256 = nil }
        return save(record)
    }

    /// Writes the fleet's settings where `ClientSettingsFile` reads them, after checking every
    /// value: one value refused refuses the set, and the settings adopted before stay.
    func adoptSettings(_ values: [String: String]) -> JSONValue {
        let path = context.root.clientFleetSettings
        var refused: [String: JSONValue] = [:]
        for (key, value) in values {
            if let problem = FleetSettings.problem(key: key, value: value) { refused[key] = .string(problem) }
        }
        let text = FleetSettings.text(values)
        if refused.isEmpty {
            do {
                _ = try ClientSettingsFile.decode(text, source: path)
            } catch {
                refused["*"] = .string("\(error)")
            }
        }
        guard refused.isEmpty else { return .object(["status": .string("refused"), "refused": .object(refused)]) }
        do {
            if values.isEmpty {
                if unlink(path) != 0 && errno != ENOENT { throw AtomicFile.posixError("remove \(path)") }
            } else {
                try AtomicFile.write(Data(text.utf8), to: path, mode: 0o644)
            }
        } catch {
            return .object(["status": .string("failed"), "reason": .string(SystemCallError.reason(error))])
        }
        return .object(["status": .string("adopted"), "values": .object(values.mapValues(JSONValue.string))])
    }

    private func save(_ record: ManagedStateRecord) -> ManagedStateRecord {
        do {
            try record.save(context.root)
        } catch {
            context.log.warning("cannot keep the managed state's record: \(SystemCallError.reason(error))")
        }
        return record
    }
}
