import Foundation
import Yams

/// A settings file could not be used; the message says which file and what to fix.
public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Loads YAML settings files into Codable types whose fields all have defaults.
public enum SettingsFile {
    public static func load<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SettingsError("cannot read settings file \(path); create it from the .template beside it")
        }
        do {
            // An empty file means "all defaults".
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return try YAMLDecoder().decode(type, from: trimmed.isEmpty ? "{}" : text)
        } catch {
            throw SettingsError("invalid settings in \(path): \(error)")
        }
    }
}
