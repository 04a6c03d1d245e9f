/// How every command of `rookery` and `rookery-client` says what went wrong on stderr: lines that
/// start with `error: ` (ArgumentParser's own messages too, through `_errorPrefix`), then the hint.
public enum ErrorReport {
    public static let prefix = "error: "

    /// "error: MESSAGE", and "hint: HINT" under it when the error has one; ends with a newline.
    public static func text(_ error: any Error) -> String {
        let hint = (error as? any KindedError)?.hint.map { "hint: \($0)\n" } ?? ""
        return prefix + "\(error)\n" + hint
    }
}
