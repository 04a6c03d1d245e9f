/// A device's effective settings and where each came from.
public struct SourcedClientSettings: Sendable {
    public var settings: ClientSettings
    private var sources: [String: SettingSource]
    /// What a key no file set came from: the default, or the last good copy for all of them.
    private let otherwise: SettingSource
    /// Keys the owner's file sets whose release-managed value won instead (`server_url` without
    /// `keep_server_url: true`).
    public private(set) var setAside: [String] = []

    public init(settings: ClientSettings = ClientSettings(), allFrom source: SettingSource = .builtIn) {
        self.settings = settings
        sources = [:]
        otherwise = source
    }

    /// `key` as the settings files spell it (`server_url`).
    public func source(of key: String) -> SettingSource { sources[key] ?? otherwise }

    mutating func record(_ keys: [String], from source: SettingSource) {
        for key in keys { sources[key] = source }
    }

    mutating func markSetAside(_ key: String) { setAside.append(key) }
}
