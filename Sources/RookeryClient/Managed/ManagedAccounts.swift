import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// The accounts whose authorized_keys Rookery wrote, remembered in `managed-accounts.json`
/// (`{"accounts": [NAME, ...]}`) so that an account the server stops listing can be emptied:
/// a person removed loses access everywhere at the next update.
struct ManagedAccounts {
    let path: String

    init(stateDirectory: String) {
        path = stateDirectory + "/managed-accounts.json"
    }

    /// The remembered names; empty when none were saved yet.
    func load() throws -> Set<String> {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DamagedFile(path, "it cannot be read")
        }
        guard let names = (try? JSONValue.parse(data))?["accounts"]?.arrayValue?.compactMap(\.stringValue) else {
            throw DamagedFile(path, "it is not {\"accounts\": [NAME, ...]}")
        }
        return Set(names)
    }

    /// Saves `names` atomically (0600), making the state directory (0700) when missing.
    func save(_ names: Set<String>) throws {
        let directory = PathText.parent(path)
        if !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: PathText.parent(directory), withIntermediateDirectories: true)
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else { throw AtomicFile.posixError("make \(directory)") }
            guard chmod(directory, 0o700) == 0 else { throw AtomicFile.posixError("chmod \(directory)") }
        }
        let value = JSONValue.object(["accounts": .array(names.sorted().map(JSONValue.string))])
        try AtomicFile.write(Data((value.serializedString + "\n").utf8), to: path)
    }
}
