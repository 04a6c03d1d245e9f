import FoundationEssentials
import RookeryCore

/// What a collection says of the state the server manages here, as `managed` in the document:
/// the last state received and each part's outcome (`ManagedStateRecord`), whether the firewall
/// table is still the one loaded (`firewall_live`: drift opens an audit issue), and the value and
/// source of every setting a fleet may set, as the device runs them now.
struct ManagedStateReport {
    let context: ClientContext

    var json: JSONValue {
        var fields: [String: JSONValue] = [:]
        if case .object(let record)? = ManagedStateRecord.load(context.root)?.json { fields = record }
        if context.settings.manageFirewall {
            let firewall = FirewallApplier(nft: context.settings.nftPath, stateDirectory: context.root.clientState + "/firewall")
            fields["firewall_live"] = firewall.liveState().reportValue
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
