import FoundationEssentials
import RookeryCore

/// What the device already has from the server, for the agent's `poll`: the highest patch id an
/// update answer gave it, and the newest release it installed or refused. The server answers a
/// poll at once only for something newer.
public enum PollMarks {
    static func file(_ root: InstallRoot) -> String { root.clientState + "/poll-marks.json" }
    /// Updater's record of the release it refused for good (see `Updater.refusedFile`).
    static func refusedFile(_ root: InstallRoot) -> String { root.clientState + "/refused-release.json" }

    /// Remembers the highest of `patchIDs` when it is above the one kept.
    public static func note(patchIDs: [Int64], root: InstallRoot) {
        guard let highest = patchIDs.max(), highest > patch(root) else { return }
        let marks: JSONValue = .object(["patch": .integer(highest)])
        try? AtomicFile.write(marks.serialized(), to: file(root))
    }

    /// The poll request this device sends now.
    public static func request(_ root: InstallRoot) -> PollRequest {
        let refused =
            FileManager.default.contents(atPath: refusedFile(root))
            .flatMap { try? JSONValue.parse($0) }?["number"]?.integerValue ?? 0
        let installed = Int64(ReleaseInstaller.installedNumber(root))
        let release = max(installed, min(refused, Int64(Int32.max)), 0)
        return PollRequest(release: Int(release), patch: patch(root))
    }

    static func patch(_ root: InstallRoot) -> Int64 {
        let noted = FileManager.default.contents(atPath: file(root)).flatMap { try? JSONValue.parse($0) }
        return max(0, noted?["patch"]?.integerValue ?? 0)
    }
}
