import ArgumentParser
import Foundation

/// The question a command that changes every device (or wipes one) asks before it does: on a
/// terminal the admin types the answer; without one (cron, scripts) the command refuses, and
/// `--yes` is how a script says it means it. The question goes to stderr, so --json output stays
/// clean.
enum Confirmation {
    /// Returns when `yes` was given or the admin typed `answer`; otherwise throws, and nothing
    /// may have changed yet. `change` says what would happen, as in "publishing a release changes
    /// every device"; `undone` what did not happen, as in "nothing was published".
    static func require(yes: Bool, change: String, question: String, answer: String = "yes", undone: String) throws {
        if yes { return }
        guard isatty(STDIN_FILENO) == 1 else {
            throw ValidationError("\(change) and no terminal is here to ask: add --yes")
        }
        FileHandle.standardError.write(Data("\(question)\nType \(answer) to confirm: ".utf8))
        guard readLine()?.trimmingCharacters(in: .whitespaces) == answer else {
            throw CommandFailure.failed("not confirmed; \(undone)")
        }
    }
}
