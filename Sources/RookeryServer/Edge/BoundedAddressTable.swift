import Foundation

/// Something remembered per address (or IPv6 /64) that a flood of addresses must not grow
/// without bound: at most `capacity` addresses. Making room for a new one first forgets the
/// entries that no longer hold anything (`isSpent`), then, if that is not enough, the half used
/// longest ago (`lastUsed`).
struct BoundedAddressTable<Entry>: Sendable where Entry: Sendable {
    let capacity: Int
    private let isSpent: @Sendable (Entry, Date) -> Bool
    private let lastUsed: @Sendable (Entry) -> Date
    private var entries: [String: Entry] = [:]

    init(
        capacity: Int, isSpent: @escaping @Sendable (Entry, Date) -> Bool,
        lastUsed: @escaping @Sendable (Entry) -> Date
    ) {
        self.capacity = max(2, capacity)
        self.isSpent = isSpent
        self.lastUsed = lastUsed
    }

    subscript(key: String) -> Entry? { entries[key] }

    /// How many addresses the table holds now.
    var count: Int { entries.count }

    /// Remembers `entry` for `key` (nil: forgets `key`), making room first when `key` is new and
    /// the table is full.
    mutating func set(_ entry: Entry?, for key: String, now: Date) {
        if entry != nil, entries[key] == nil, entries.count >= capacity { forgetOld(now: now) }
        entries[key] = entry
    }

    private mutating func forgetOld(now: Date) {
        entries = entries.filter { !isSpent($0.value, now) }
        if entries.count >= capacity {
            let newest = entries.sorted { lastUsed($0.value) > lastUsed($1.value) }.prefix(capacity / 2)
            entries = Dictionary(uniqueKeysWithValues: newest.map { ($0.key, $0.value) })
        }
    }
}
