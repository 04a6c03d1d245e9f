import FoundationEssentials

/// Reads the client's settings files, which are flat `key: value` YAML (see `FlatMapping`). A file
/// that cannot be used is refused with its path, line, column and a reason: never a line, value or
/// excerpt of it, since these files hold the enrollment token and the messages reach cron mail and
/// the client's log.
public enum ClientSettingsFile {
    /// A device's settings: the release-managed `client/release.yml` (the installed release's,
    /// or before the first release the install root's), then the fleet's settings the server
    /// manages (`var/client/fleet-settings.yml`, written by the device from a signed `update`
    /// answer), then the device owner's `client/settings.yml` over both, which neither releases nor
    /// the server touch: where the owner set a value, the owner's wins. The release's file and the
    /// owner's may not both be missing.
    ///
    /// The owner's file wins for every key but `server_url` and `server_urls`: where the server is
    /// belongs to the release, so the admin can move every device with a new release, and an
    /// owner's server URLs count only while no release names any, or with `keep_server_url: true`.
    /// Devices set up before client-setup.sh wrote the URL into `client/release.yml` carry it in
    /// `client/settings.yml`; this is what moves them with the next release (docs/ports.md).
    public static func load(_ root: InstallRoot) throws -> SourcedClientSettings {
        let fm = FileManager.default
        let releaseFile = root.clientReleaseSettings
        let ownFile = root.clientSettings
        guard fm.fileExists(atPath: releaseFile) || fm.fileExists(atPath: ownFile) else {
            throw SettingsError("cannot read settings file \(ownFile); create it from the .template beside it")
        }
        var sourced = SourcedClientSettings()
        var releaseServers: (url: String, list: [String])?
        if fm.fileExists(atPath: releaseFile) {
            let (settings, keys) = try layer(from: releaseFile, over: sourced.settings)
            sourced.settings = settings
            sourced.record(keys, from: .release(file: releaseFile))
            if keys.contains(where: serverKeys.contains) { releaseServers = (settings.serverURL, settings.serverURLList) }
        }
        let fleetFile = root.clientFleetSettings
        if fm.fileExists(atPath: fleetFile) {
            let (settings, keys) = try layer(from: fleetFile, over: sourced.settings)
            // The device wrote it from checked values; a key a fleet may not set is not read from it.
            if let stranger = keys.first(where: { !FleetSettings.keys.contains($0) }) {
                throw SettingsError("invalid settings in \(fleetFile): \(stranger) cannot be set for a fleet")
            }
            sourced.settings = settings
            sourced.record(keys, from: .fleet(file: fleetFile))
        }
        if fm.fileExists(atPath: ownFile) {
            let (settings, keys) = try layer(from: ownFile, over: sourced.settings)
            sourced.settings = settings
            let ownerWins = releaseServers == nil || settings.keepServerURL
            sourced.record(keys.filter { ownerWins || !serverKeys.contains($0) }, from: .owner(file: ownFile))
            if let releaseServers, !ownerWins {
                sourced.settings.serverURL = releaseServers.url
                sourced.settings.serverURLList = releaseServers.list
                for key in keys where serverKeys.contains(key) { sourced.markSetAside(key) }
            } else if keys.contains(ClientSettings.CodingKeys.serverURL.rawValue),
                !keys.contains(ClientSettings.CodingKeys.serverURLList.rawValue)
            {
                // The two go together: an owner's server_url that wins is not overridden by a
                // release's server_urls.
                sourced.settings.serverURLList = []
            }
        }
        return sourced
    }

    /// Where the server is: the release's to say (see `load`).
    static let serverKeys: Set<String> = [
        ClientSettings.CodingKeys.serverURL.rawValue, ClientSettings.CodingKeys.serverURLList.rawValue
    ]

    /// A setting's line as releases write it (`client/release.yml`): `key: "value"`, quoted and
    /// escaped so that the client reads back exactly `value`, whatever characters it holds.
    public static func line(_ key: String, _ value: String) -> String {
        "\(key): \(FlatMapping.quoted(value))"
    }

    /// The settings in the file at `path`; what it leaves out keeps its value in `base`.
    public static func load(from path: String, over base: ClientSettings = ClientSettings()) throws -> ClientSettings {
        try layer(from: path, over: base).settings
    }

    /// The settings in the file at `path` over `base`, and the keys the file sets.
    private static func layer(from path: String, over base: ClientSettings) throws -> (settings: ClientSettings, keys: [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("cannot read settings file \(path); create it from the .template beside it")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw SettingsError("invalid settings in \(path): not UTF-8 text")
        }
        return try decodeLayer(text, source: path, over: base)
    }

    /// The settings in `text`, as if read from the file `source` (which errors name).
    public static func decode(_ text: String, source: String, over base: ClientSettings = ClientSettings()) throws -> ClientSettings {
        try decodeLayer(text, source: source, over: base).settings
    }

    private static func decodeLayer(_ text: String, source: String, over base: ClientSettings) throws -> (settings: ClientSettings, keys: [String]) {
        let mapping: FlatMapping
        do {
            mapping = try FlatMapping(text: text)
        } catch {
            throw refusal(source, error.place, error.reason)
        }
        do {
            let settings = try ClientSettings(from: FlatMappingDecoder(mapping: mapping, userInfo: [ClientSettings.baseKey: base]))
            return (settings, mapping.entries.map(\.key))
        } catch let refused as SettingRefusal {
            let entry = mapping.entries.first { $0.key == refused.codingPath.last?.stringValue }
            throw refusal(source, entry?.keyPlace, refused.reason)
        } catch DecodingError.typeMismatch(let type, let context) {
            // The key is one ClientSettings knows (unknown ones are refused first), so it may be named.
            let entry = mapping.entries.first { $0.key == context.codingPath.last?.stringValue }
            throw refusal(source, entry?.valuePlace, (entry.map { "\($0.key): " } ?? "") + "expected \(kind(type))")
        }
    }

    private static func refusal(_ source: String, _ place: FlatMapping.Place?, _ reason: String) -> SettingsError {
        guard let place else { return SettingsError("invalid settings in \(source): \(reason)") }
        return SettingsError("invalid settings in \(source) at line \(place.line), column \(place.column): \(reason)")
    }

    /// What a value of the wrong type should have been, in the words of the settings template.
    private static func kind(_ type: Any.Type) -> String {
        if type == Bool.self { return "true or false" }
        if type == Int.self { return "a whole number, in decimal digits" }
        return "a single value"
    }
}
