import Foundation

/// The checks accepted as not applicable (`CheckException`). Part of `Store`. Exceptions are made
/// by admins, one at a time, so there are few: the audit reads the running ones whole.
public protocol ExceptionStore: Sendable {
    /// Records a new exception, ending any running one of the same device and check at its start.
    func addException(_ exception: CheckException) async throws -> CheckException
    /// Ends the running exceptions of the device and check at `at`; how many it ended.
    func endExceptions(fingerprint: String, check: String, at: Date) async throws -> Int
    /// Exceptions still running at `at` (or ending after it), of one device or all, by device and check.
    func exceptions(fingerprint: String?, runningAt: Date?) async throws -> [CheckException]
}
