import ArgumentParser
import RookeryCore

/// An error a command finds itself (the libraries' errors carry their own kind): a message, its
/// kind (which decides the exit code, see `ErrorKind`) and what to do next.
/// `RookeryCommand.report` prints it like any other error, without a usage line.
struct CommandFailure: KindedError {
    let kind: ErrorKind
    let description: String
    let hint: String?

    init(_ kind: ErrorKind, _ description: String, hint: String? = nil) {
        self.kind = kind
        self.description = description
        self.hint = hint
    }

    /// The command could not do what was asked, for no more particular reason.
    static func failed(_ message: String, hint: String? = nil) -> CommandFailure { CommandFailure(.failed, message, hint: hint) }

    /// Runs `body`, which opens what a command needs (settings, database, keyring): an error
    /// without a kind of its own is said as the settings kind (exit 64), since what the install
    /// holds must be mended before anything runs; errors with a kind keep it.
    static func opening<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw settingsUnlessKinded(error)
        }
    }

    /// As above, for what opens asynchronously (the store, which may be a database server).
    static func openingAsynchronously<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw settingsUnlessKinded(error)
        }
    }

    private static func settingsUnlessKinded(_ error: any Error) -> any Error {
        if error is any KindedError || error is ValidationError { return error }
        return CommandFailure(.settings, "\(error)")
    }
}

extension ExitCode {
    /// The exit code of `kind`, for a command that has said what went wrong already.
    init(_ kind: ErrorKind) { self.init(kind.exitCode) }
}
