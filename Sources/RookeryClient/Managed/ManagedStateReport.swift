import FoundationEssentials
import RookeryCore

/// What a collection says of the state the server manages here, as `managed` in the document:
/// the last state received and each part's outcome (`ManagedStateRecord`), whether the firewall
/// table is still the one loaded (`firewall_live`: drift opens an audit issue), and the value and
/// source of every setting a fleet may set, as the device runs them now.
///
/// A drifted table is reported first and then loaded again from the last good set (its outcome
/// under `firewall_live.restored`): managed state is enforced, so a table flushed by hand or
/// lost in a reboot comes back, and the drift is on record in the document and the audit.
struct ManagedStateReport {
    let context: ClientContext

    func collect() -> JSONValue {
        var fields: [String: JSONValue] = [:]
        if case .object(let record)? = ManagedStateRecord.load(context.root)?.json { fields = record }
        if context.settings.manageFirewall {
            let firewall = FirewallApplier(context: context)
            var live = firewall.liveState().reportValue
            if live["state"] == .string("drifted"), case .object(var state) = live {
                let restored = firewall.restore()
                context.log.warning("the firewall table inet rookery drifted (\(live["reason"]?.stringValue ?? "")); loaded the last good set again")
                state["restored"] = restored.reportValue
                live = .object(state)
            }
            fields["firewall_live"] = live
        }
        fields["running_settings"] = runningSettings
        return .object(fields)
    }

    private var runningSettings: JSONValue {
        let settings = context.settings
        let values: [String: String] = [
            "collect_interval": "\(settings.collectInterval)", "submit_interval": "\(settings.submitInterval)",
            "update_interval": "\(settings.updateInterval)", "plugin_timeout": "\(settings.pluginTimeout)",
            "plugin_parallelism": "\(settings.pluginParallelism)", "request_timeout": "\(settings.requestTimeout)",
            "command_timeout": "\(settings.commandTimeout)", "command_max_failures": "\(settings.commandMaxFailures)",
            "queue_max_items": "\(settings.queueMaxItems)", "queue_max_age_days": "\(settings.queueMaxAgeDays)",
            "disabled_plugins": settings.disabledPlugins.joined(separator: " ")
        ]
        return .object(
            values.reduce(into: [:]) { running, entry in
                running[entry.key] = .object([
                    "value": .string(entry.value), "source": .string(context.settingSources.source(of: entry.key).kind)
                ])
            })
    }
}
