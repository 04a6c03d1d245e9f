import Foundation
import Yams

/// A settings file could not be used; the message says which file and what to fix.
public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Loads YAML settings files into Codable types whose fields all have defaults.
public enum SettingsFile {
    /// `userInfo` reaches the type's decoder (see `ClientSettings.baseKey`).
    public static func load<T: Decodable>(_ type: T.Type, from path: String,
                                          userInfo: [CodingUserInfoKey: Any] = [:]) throws -> T {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SettingsError("cannot read settings file \(path); create it from the .template beside it")
        }
        return try decode(type, text: text, source: path, userInfo: userInfo)
    }

    /// Settings from `text`, as if read from the file `source` (which errors name).
    public static func decode<T: Decodable>(_ type: T.Type, text: String, source: String,
                                            userInfo: [CodingUserInfoKey: Any] = [:]) throws -> T {
        do {
            // A file of nothing but comments (as the templates are) means "all defaults".
            let hasContent = text.split(separator: "\n").contains { line in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                return !trimmed.isEmpty && !trimmed.hasPrefix("#")
            }
            return try YAMLDecoder().decode(type, from: hasContent ? text : "{}", userInfo: userInfo)
        } catch {
            throw SettingsError("invalid settings in \(source): \(error)")
        }
    }

    /// A device's settings: the installed release's `client/release.yml` (server URL, enrollment
    /// token, ...), then the device's own `client/settings.yml` over it, which releases never
    /// touch. Either may be missing, not both.
    public static func loadClientSettings(_ root: InstallRoot) throws -> ClientSettings {
        let fm = FileManager.default
        let releaseFile = root.clientReleaseSettings, ownFile = root.clientSettings
        guard fm.fileExists(atPath: releaseFile) || fm.fileExists(atPath: ownFile) else {
            throw SettingsError("cannot read settings file \(ownFile); create it from the .template beside it")
        }
        var settings = ClientSettings()
        if fm.fileExists(atPath: releaseFile) {
            settings = try load(ClientSettings.self, from: releaseFile)
        }
        if fm.fileExists(atPath: ownFile) {
            settings = try load(ClientSettings.self, from: ownFile, userInfo: [ClientSettings.baseKey: settings])
        }
        return settings
    }
}
