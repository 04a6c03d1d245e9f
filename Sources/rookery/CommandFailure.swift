import ArgumentParser
import RookeryCore
import RookeryServer

/// An error a command reports as a message and an exit code, without a usage line: only mistakes
/// in the command line (ArgumentParser's own, and `ValidationError`) are followed by one.
/// `RookeryCommand.report` prints it; the exit codes are listed in docs/operations.md.
struct CommandFailure: Error {
    enum Kind {
        /// The command could not do what was asked: an unknown host, an impossible change (exit 1).
        case failed
        /// What the command needs cannot be used: settings, database, keyring, a file to read (exit 64).
        case unusable
    }

    let kind: Kind
    let message: String

    static func failed(_ message: String) -> CommandFailure { CommandFailure(kind: .failed, message: message) }
    static func unusable(_ message: String) -> CommandFailure { CommandFailure(kind: .unusable, message: message) }

    /// Settings that cannot be used, said at the line of the setting of server/settings.yml they name.
    static func unusable(_ error: SettingsError) -> CommandFailure {
        unusable(SettingsFile.placed(error, file: InstallRoot.fromEnvironment().serverSettings).description)
    }

    var exitCode: ExitCode {
        switch kind {
        case .failed: .failure
        case .unusable: .validationFailure
        }
    }

    /// Runs `body`, which opens what a command needs: any error but a usage error or a failure
    /// already said becomes `unusable`; one about a setting of server/settings.yml says its line.
    static func opening<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ValidationError {
            throw error
        } catch let error as CommandFailure {
            throw error
        } catch let error as SettingsError {
            throw unusable(error)
        } catch {
            throw unusable("\(error)")
        }
    }
}
