import Foundation
import RookeryCore
import Yams

/// server/settings.yml changed by an admin command (save-password, configure-ports): one edit at
/// a time under a lock, the result written whole beside the old file with its mode, owner and
/// group, and renamed into place, so the server never reads half a file.
public struct SettingsFileUpdate: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Runs `edit` on the file's text under the lock and writes what it returns. `edit` checks
    /// its own result (parse it, compare) and throws to leave the file alone.
    public func apply(_ edit: (String) throws -> String) throws {
        // Two runs at once must not each write the file without the other's change.
        let lock = try FileLock(path: (path as NSString).deletingLastPathComponent + "/.settings.lock")
        defer { lock.release() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SettingsError("cannot read \(path); create it from server/settings.yml.template first")
        }
        let edited = try edit(text)
        if edited != text { try replace(with: edited) }
    }

    /// Whether `after` reads as `before` does once `change` is made to `before`'s settings, the
    /// top-level keys in `ignoring` left out of both: the check every edit passes before it is
    /// written, so a line edit that YAML reads otherwise than meant never reaches the server.
    static func reads(
        _ after: String, as before: String, ignoring: Swift.Set<String> = [],
        with change: (inout [String: Any]) -> Void = { _ in }
    ) -> Bool {
        guard var expected = tree(before), var actual = tree(after) else { return false }
        change(&expected)
        for key in ignoring {
            expected[key] = nil
            actual[key] = nil
        }
        // Wrapped one level down: Foundation then compares nested mappings whatever their key
        // type (the change writes [String: Any], Yams reads [AnyHashable: Any]).
        return NSDictionary(dictionary: ["": expected]).isEqual(to: ["": actual])
    }

    /// The YAML of `text` as plain dictionaries.
    /// An empty file is an empty mapping; YAML that does not parse, or is not a mapping, is nil.
    private static func tree(_ text: String) -> [String: Any]? {
        do {
            guard let node = try Yams.load(yaml: text) else { return [:] }
            return node as? [String: Any]
        } catch {
            return nil
        }
    }

    /// Keeps the old file's mode, and its owner and group when run as root: server-setup.sh makes
    /// it root:rookery 0640 so the server can read it, and root runs the admin commands.
    private func replace(with text: String) throws {
        let old = try FileManager.default.attributesOfItem(atPath: path)
        let mode = mode_t((old[.posixPermissions] as? Int) ?? 0o640)
        let owner = getuid() == 0 ? Self.owner(old) : nil
        do { try AtomicFile.write(Data(text.utf8), to: path, mode: mode, owner: owner) } catch {
            throw AdminError(.io, "cannot replace \(path): \(error.localizedDescription)")
        }
    }

    /// The (uid, gid) of a file's attributes.
    static func owner(_ attributes: [FileAttributeKey: Any]) -> (uid_t, gid_t)? {
        guard let uid = attributes[.ownerAccountID] as? Int, let gid = attributes[.groupOwnerAccountID] as? Int else { return nil }
        return (uid_t(uid), gid_t(gid))
    }
}
