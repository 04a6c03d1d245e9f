import Foundation
import Testing

@testable import RookeryServer

/// The per-address table under the budgets: a flood of new addresses makes it forget, spent
/// entries first, then the older half; it never holds more than its capacity.
@Suite struct BoundedAddressTableTests {
    /// An entry that is spent once its `until` has passed.
    struct Entry: Sendable {
        let at: Date
        let until: Date
    }

    static func table(capacity: Int) -> BoundedAddressTable<Entry> {
        BoundedAddressTable(capacity: capacity, isSpent: { $0.until <= $1 }, lastUsed: { $0.at })
    }

    let start = Date()

    func entry(at seconds: TimeInterval, lasting: TimeInterval = 1000) -> Entry {
        Entry(at: start.addingTimeInterval(seconds), until: start.addingTimeInterval(seconds + lasting))
    }

    @Test func aFullTableForgetsTheOlderHalfForANewAddress() {
        var table = Self.table(capacity: 4)
        for index in 0..<4 { table.set(entry(at: Double(index)), for: "10.0.0.\(index)", now: start.addingTimeInterval(10)) }
        #expect(table.count == 4)
        table.set(entry(at: 10), for: "10.0.0.9", now: start.addingTimeInterval(10))
        #expect(table.count == 3)
        #expect(table["10.0.0.0"] == nil && table["10.0.0.1"] == nil)
        #expect(table["10.0.0.2"] != nil && table["10.0.0.3"] != nil && table["10.0.0.9"] != nil)
    }

    @Test func spentEntriesAreForgottenFirst() {
        var table = Self.table(capacity: 4)
        // The two newest are spent by now; the two oldest still hold something.
        table.set(entry(at: 0), for: "old-1", now: start)
        table.set(entry(at: 1), for: "old-2", now: start)
        table.set(entry(at: 2, lasting: 1), for: "spent-1", now: start)
        table.set(entry(at: 3, lasting: 1), for: "spent-2", now: start)
        table.set(entry(at: 10), for: "new", now: start.addingTimeInterval(10))
        #expect(table.count == 3)
        #expect(table["old-1"] != nil && table["old-2"] != nil && table["new"] != nil)
        #expect(table["spent-1"] == nil && table["spent-2"] == nil)
    }

    @Test func anAddressAlreadyHeldIsUpdatedWithoutForgettingOthers() {
        var table = Self.table(capacity: 2)
        table.set(entry(at: 0), for: "a", now: start)
        table.set(entry(at: 1), for: "b", now: start)
        table.set(entry(at: 5), for: "a", now: start.addingTimeInterval(5))
        #expect(table.count == 2)
        #expect(table["a"]?.at == start.addingTimeInterval(5))
        table.set(nil, for: "a", now: start.addingTimeInterval(5))
        #expect(table.count == 1 && table["a"] == nil)
    }

    @Test func aFloodOfAddressesNeverPassesTheCapacity() {
        var table = Self.table(capacity: 100)
        for index in 0..<10_000 {
            table.set(entry(at: Double(index)), for: "addr-\(index)", now: start.addingTimeInterval(Double(index)))
            #expect(table.count <= 100)
        }
        #expect(table["addr-9999"] != nil)
    }
}
