import Foundation
import RookeryCore

/// What would change on one device between the state it was sent and a new one, part by part.
public struct ManagedStateDiff: Sendable, Equatable {
    /// Setting name to (old value, new value); nil where the fleet sets none.
    public var settings: [String: (from: String?, to: String?)] = [:]
    /// Lines of the firewall table that go and that come.
    public var firewall = LineChange()
    /// Per account, lines of its authorized_keys that go and that come.
    public var authorizedKeys: [String: LineChange] = [:]

    public struct LineChange: Sendable, Equatable {
        public var removed: [String] = []
        public var added: [String] = []
        public var isEmpty: Bool { removed.isEmpty && added.isEmpty }

        init() {}

        init(from old: String?, to new: String?) {
            let before = Self.lines(old)
            let after = Self.lines(new)
            removed = before.filter { !after.contains($0) }
            added = after.filter { !before.contains($0) }
        }

        private static func lines(_ text: String?) -> [String] {
            (text ?? "").split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        }
    }

    public init(from old: ManagedState?, to new: ManagedState) {
        let (before, after) = (old?.settings ?? [:], new.settings ?? [:])
        for key in Set(before.keys).union(after.keys) where before[key] != after[key] { settings[key] = (before[key], after[key]) }
        firewall = LineChange(from: old?.firewall, to: new.firewall)
        let (oldKeys, newKeys) = (old?.authorizedKeys ?? [:], new.authorizedKeys ?? [:])
        for account in Set(oldKeys.keys).union(newKeys.keys) {
            let change = LineChange(from: oldKeys[account], to: newKeys[account])
            if !change.isEmpty || (oldKeys[account] == nil) != (newKeys[account] == nil) { authorizedKeys[account] = change }
        }
    }

    public var isEmpty: Bool { settings.isEmpty && firewall.isEmpty && authorizedKeys.isEmpty }

    public static func == (a: ManagedStateDiff, b: ManagedStateDiff) -> Bool {
        a.firewall == b.firewall && a.authorizedKeys == b.authorizedKeys && a.settings.keys == b.settings.keys
            && a.settings.allSatisfy { key, value in b.settings[key].map { $0.from == value.from && $0.to == value.to } ?? false }
    }
}
