import FoundationEssentials

/// Reads the client's settings files, which are flat `key: value` YAML (see `FlatMapping`). A file
/// that cannot be used is refused with its path, line, column and a reason: never a line, value or
/// excerpt of it, since these files hold the enrollment token and the messages reach cron mail and
/// the client's log.
public enum ClientSettingsFile {
    /// A device's settings: the installed release's `client/release.yml` (server URL, enrollment
    /// token, ...), then the device's own `client/settings.yml` over it, which releases never
    /// touch. Either may be missing, not both.
    public static func load(_ root: InstallRoot) throws -> ClientSettings {
        let fm = FileManager.default
        let releaseFile = root.clientReleaseSettings, ownFile = root.clientSettings
        guard fm.fileExists(atPath: releaseFile) || fm.fileExists(atPath: ownFile) else {
            throw SettingsError("cannot read settings file \(ownFile); create it from the .template beside it")
        }
        var settings = ClientSettings()
        for file in [releaseFile, ownFile] where fm.fileExists(atPath: file) {
            settings = try load(from: file, over: settings)
        }
        return settings
    }

    /// A setting's line as releases write it (`client/release.yml`): `key: "value"`, quoted and
    /// escaped so that the client reads back exactly `value`, whatever characters it holds.
    public static func line(_ key: String, _ value: String) -> String {
        "\(key): \(FlatMapping.quoted(value))"
    }

    /// The settings in the file at `path`; what it leaves out keeps its value in `base`.
    public static func load(from path: String, over base: ClientSettings = ClientSettings()) throws -> ClientSettings {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("cannot read settings file \(path); create it from the .template beside it")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw SettingsError("invalid settings in \(path): not UTF-8 text")
        }
        return try decode(text, source: path, over: base)
    }

    /// The settings in `text`, as if read from the file `source` (which errors name).
    public static func decode(_ text: String, source: String, over base: ClientSettings = ClientSettings()) throws -> ClientSettings {
        let mapping: FlatMapping
        do {
            mapping = try FlatMapping(text: text)
        } catch {
            throw refusal(source, error.place, error.reason)
        }
        do {
            return try ClientSettings(from: FlatMappingDecoder(mapping: mapping, userInfo: [ClientSettings.baseKey: base]))
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
