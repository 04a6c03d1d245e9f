import FoundationEssentials
import RookeryCore

/// The settings a device runs on. When its files cannot be used (a misspelt key, a tab, a key
/// given twice), it runs on the last settings that could be, and says so in its log and in its
/// next collection. Stopping would leave the device silent, and defaults in their place could
/// undo what the owner set: a misspelt `allow_commands: false` would turn remote commands on.
struct DeviceSettings {
    let settings: SourcedClientSettings
    /// Why the files were refused (file, line, column and reason, never their content); nil when
    /// they were used.
    let problem: String?

    /// The files' settings, remembered as the last good ones; else the last good ones.
    static func load(_ root: InstallRoot, log: ClientLog) throws -> DeviceSettings {
        let files = Files(root)
        do {
            let settings = try ClientSettingsFile.load(root)
            files.remember(settings.settings, log: log)
            return DeviceSettings(settings: settings, problem: nil)
        } catch let refusal as SettingsError {
            guard let lastGood = files.lastGood() else {
                throw SettingsError("\(refusal); there are no earlier settings to run on, so nothing runs until it is fixed")
            }
            files.note(refusal.description, log: log)
            return DeviceSettings(
                settings: SourcedClientSettings(settings: lastGood, allFrom: .lastGood(file: files.lastGoodPath)),
                problem: refusal.description)
        }
    }

    /// The copy of the last good settings and the note of the refusal last logged, in var/client/.
    private struct Files {
        /// The merged settings of both files, so mode 0600: they may hold the enrollment token.
        let lastGoodPath: String
        let refusalPath: String

        init(_ root: InstallRoot) {
            lastGoodPath = root.clientState + "/settings.last-good.json"
            refusalPath = root.clientState + "/settings-refused.txt"
        }

        func lastGood() -> ClientSettings? {
            FileManager.default.contents(atPath: lastGoodPath).flatMap { try? JSONDecoder().decode(ClientSettings.self, from: $0) }
        }

        /// Written only when it changed: cron opens the settings every minute.
        func remember(_ settings: ClientSettings, log: ClientLog) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            do {
                let data = try encoder.encode(settings)
                if FileManager.default.contents(atPath: lastGoodPath) != data {
                    try AtomicFile.write(data, to: lastGoodPath, mode: 0o600)
                }
            } catch {
                log.warning("cannot keep a copy of the settings in \(lastGoodPath): \(error)")
            }
            if FileManager.default.fileExists(atPath: refusalPath) {
                try? FileManager.default.removeItem(atPath: refusalPath)
                log.info("settings read again; the last good copy is no longer in use")
            }
        }

        /// Logs the refusal when it is new (cron would otherwise log it every minute), and always
        /// when a person runs the command, who then sees it on stderr too.
        func note(_ refusal: String, log: ClientLog) {
            let known = FileManager.default.contents(atPath: refusalPath).map { String(decoding: $0, as: UTF8.self) }
            guard log.echoWarnings || known != refusal else { return }
            log.warning("\(refusal); running on the last good settings until it is fixed")
            try? AtomicFile.write(Data(refusal.utf8), to: refusalPath, mode: 0o600)
        }
    }
}
