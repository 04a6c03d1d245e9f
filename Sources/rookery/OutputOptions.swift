import ArgumentParser

/// `--json`, the same for every command that has it: a table or text for people, JSON for
/// scripts (each kind of output has its `*Formatter`).
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON for scripts instead of text.") var json = false
}
