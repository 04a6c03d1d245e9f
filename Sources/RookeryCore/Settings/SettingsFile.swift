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
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("cannot read settings file \(path); create it from the .template beside it")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SettingsError("invalid settings in \(path): not UTF-8 text")
        }
        return try decode(type, text: text, source: path, userInfo: userInfo)
    }

    /// Settings from `text`, as if read from the file `source` (which errors name). Errors say
    /// where and what, never what the file holds (see `SettingsProblem`).
    public static func decode<T: Decodable>(_ type: T.Type, text: String, source: String,
                                            userInfo: [CodingUserInfoKey: Any] = [:]) throws -> T {
        // A file of nothing but comments (as the templates are) means "all defaults".
        let hasContent = text.split(separator: "\n").contains { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("#")
        }
        // Parsed and decoded in two steps, as YAMLDecoder does (with its resolver), so each error
        // keeps its kind.
        let parser: Parser, root: Node
        do {
            parser = try Parser(yaml: hasContent ? text : "{}", resolver: Resolver.basic.appending(.merge))
            root = try parser.singleRoot() ?? Node("")
        } catch {
            throw SettingsError(SettingsProblem.message(parsing: error, text: text, source: source))
        }
        do {
            // The parser owns the anchors that the nodes refer to weakly.
            return try withExtendedLifetime(parser) { try YAMLDecoder().decode(type, from: root, userInfo: userInfo) }
        } catch {
            throw SettingsError(SettingsProblem.message(decoding: error, root: root, source: source))
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
