/// A settings file, or what it names (the database, the keyring, a certificate, issues.yml),
/// could not be used; the message says which file and what to fix. Other failures are not this:
/// a lock or a damaged file of Rookery's own is `SystemCallError` or `DamagedFile`.
public struct SettingsError: KindedError {
    public let description: String
    public var kind: ErrorKind { .settings }
    /// The keys leading to the setting of server/settings.yml refused, from the top of the file
    /// (`["users", "alice"]`; a list entry by its index from 0), when a check made after the file
    /// was read refuses one: `SettingsFile.placed` then adds the file, line and column.
    public let setting: [String]

    public init(_ description: String, setting: [String] = []) {
        self.description = description
        self.setting = setting
    }
}
