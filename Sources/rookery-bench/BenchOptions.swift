import ArgumentParser

/// `--concurrency 1,16,64`: one or more levels, each run in turn.
struct ConcurrencyLevels: ExpressibleByArgument {
    let levels: [Int]

    init(_ levels: [Int]) { self.levels = levels }

    init?(argument: String) {
        let levels = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !levels.isEmpty, levels.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        self.levels = levels.compactMap { $0 }
    }

    var defaultValueDescription: String { levels.map(String.init).joined(separator: ",") }
}

/// The server's `verify_with` setting: its own signature checks, or GPGME's.
enum VerifyWith: String, ExpressibleByArgument, CaseIterable {
    case native, gpgme
}
