/// A settings file could not be used; the message says which file and what to fix.
public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
    /// The keys leading to the setting of server/settings.yml refused, from the top of the file
    /// (`["users", "alice"]`; a list entry by its index from 0), when a check made after the file
    /// was read refuses one: `SettingsFile.placed` then adds the file, line and column.
    public let setting: [String]

    public init(_ description: String, setting: [String] = []) {
        self.description = description
        self.setting = setting
    }
}
