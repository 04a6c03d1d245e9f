import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// Applies one patch from a signed update answer to the device's own `client/` tree. The server
/// checked the target when it was queued; the device checks it again, because what arrives over
/// the network is never trusted: the path must be a safe one under `client/`, no directory on the
/// way may be a symlink, and writes are atomic.
public struct PatchApplier: Sendable {
    let root: InstallRoot
    let allowCommands: Bool

    public init(root: InstallRoot, allowCommands: Bool) {
        self.root = root
        self.allowCommands = allowCommands
    }

    public static let commandsOffMessage = "remote commands are turned off on this device (allow_commands in client/settings.yml)"

    /// What happened, and a message for the server.
    public func apply(_ patch: PatchInstruction) -> (PatchResult, String) {
        if let problem = InputValidation.patchTargetProblem(patch.target) { return (.refused, problem) }
        if !allowCommands && Self.isCommand(patch.target) { return (.refused, Self.commandsOffMessage) }
        do {
            let path = try safeParent(of: patch.target) + "/" + PathText.lastComponent(patch.target)
            switch patch.action {
            case .write:
                // Root runs what lands here: nobody else may write it, and no set-id bits.
                let mode = mode_t(patch.mode & 0o755)
                try AtomicFile.write(patch.content, to: path, mode: mode)
            case .remove:
                if unlink(path) != 0 && errno != ENOENT { throw AtomicFile.posixError("remove \(patch.target)") }
            }
            return (.applied, "")
        } catch let refused as UpdateRefused {
            return (.refused, refused.description)
        } catch {
            return (.failed, "\(error)")
        }
    }

    /// Whether a target is a one-time command (the owner can turn those off).
    public static func isCommand(_ target: String) -> Bool {
        target.hasPrefix("client/commands/")
    }

    /// The target's directory, made if missing, with every step from the install root checked
    /// to be a real directory: a symlink planted on the way must not redirect the write.
    func safeParent(of target: String) throws -> String {
        var path = root.path
        for component in target.split(separator: "/").dropLast() {
            path += "/" + component
            var info = stat()
            if lstat(path, &info) != 0 {
                guard errno == ENOENT, mkdir(path, Self.isCommand(target) ? 0o700 : 0o755) == 0 else {
                    throw AtomicFile.posixError("make \(path)")
                }
                continue
            }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw UpdateRefused("\(path) is not a plain directory (a symlink?); the patch is not applied")
            }
        }
        return path
    }
}
