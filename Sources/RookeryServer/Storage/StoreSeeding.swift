import Foundation
import RookeryCore

/// What `bin/bench audit` needs of a store to build a large fleet in seconds: accepted devices
/// and their latest documents written straight in, and the database's size. Real devices arrive
/// through enrollment and signed submissions.
package protocol StoreSeeding: Store {
    /// Writes `fleet` in one transaction.
    func seed(_ fleet: [(device: Device, document: JSONValue)]) async throws
    /// Bytes the database takes on disk.
    func databaseBytes() async throws -> Int
    /// Refreshes the planner's statistics (ANALYZE) after the fleet is written.
    func updateStatistics() async throws
}
