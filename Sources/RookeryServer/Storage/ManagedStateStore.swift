import Foundation
import RookeryCore

/// What the server manages on devices: the configuration as last applied (`bin/groups apply`,
/// kept with who applied it; earlier ones stay as history) and the state rendered from it for each
/// device, which `update` answers carry. Part of `Store`.
public protocol ManagedStateStore: Sendable {
    func recordManagedConfig(_ config: AppliedManagedConfig) async throws
    /// The newest applied configuration; nil before the first `apply`.
    func managedConfig() async throws -> AppliedManagedConfig?
    /// Every device's rendered state's digest, by fingerprint.
    func managedStateDigests() async throws -> [String: String]
    /// One device's rendered state (the JSON of a `ManagedState`).
    func managedState(fingerprint: String) async throws -> String?
    /// Replaces the states of the devices named (one transaction).
    func writeManagedStates(_ states: [String: ManagedState], at: Date) async throws
}
