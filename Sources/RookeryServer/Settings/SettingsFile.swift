import Foundation
import RookeryCore
import Yams

/// Loads YAML settings files (the server's `server/settings.yml`) into Codable types whose fields
/// all have defaults. The client reads its own flat files with `ClientSettingsFile` instead: Yams
/// needs full Foundation, which the client does without.
public enum SettingsFile {
    /// `userInfo` reaches the type's decoder.
    public static func load<T: Decodable>(
        _ type: T.Type, from path: String,
        userInfo: [CodingUserInfoKey: Any] = [:]
    ) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("cannot read settings file \(path); create it from the .template beside it")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SettingsError("invalid settings in \(path): not UTF-8 text")
        }
        return try decode(type, text: text, source: path, userInfo: userInfo)
    }

    /// `error` with the file, line and column of the setting it names (`SettingsError.setting`), for
    /// checks made after the file was read; unchanged when it names none, or none that is in the file.
    public static func placed(_ error: SettingsError, file path: String) -> SettingsError {
        guard !error.setting.isEmpty, let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8),
            let root = try? Parser(yaml: text, resolver: Resolver.basic.appending(.merge)).singleRoot(),
            let message = SettingsProblem.message(error.description, setting: error.setting, root: root, source: path)
        else { return error }
        return SettingsError(message)
    }

    /// Settings from `text`, as if read from the file `source` (which errors name). Errors say
    /// where and what, never what the file holds (see `SettingsProblem`).
    public static func decode<T: Decodable>(
        _ type: T.Type, text: String, source: String,
        userInfo: [CodingUserInfoKey: Any] = [:]
    ) throws -> T {
        // A file of nothing but comments (as the templates are) means "all defaults".
        let hasContent = text.split(separator: "\n").contains { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("#")
        }
        // Parsed and decoded in two steps, as YAMLDecoder does (with its resolver), so each error
        // keeps its kind.
        let parser: Parser
        let root: Node
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
}
