import Foundation

/// The per-address budgets of work a stranger can ask for, shared by every port of one process:
/// requests that fail before their signature verifies, and enrollments. An enrollment verifies
/// only against the key it brings (anyone can make a key), so each costs a gpg run in
/// `rookery enroll-check` however honest it looks; the budget counts every one let in.
public struct AddressBudgets: Sendable {
    public let unverifiedFailures: UnverifiedRequestBudget
    public let enrollments: UnverifiedRequestBudget

    public init(unverifiedFailuresPerMinute: Int, enrollmentsPerMinute: Int) {
        unverifiedFailures = UnverifiedRequestBudget(perMinute: unverifiedFailuresPerMinute)
        enrollments = UnverifiedRequestBudget(perMinute: enrollmentsPerMinute)
    }

    public init(settings: ServerSettings) {
        self.init(
            unverifiedFailuresPerMinute: settings.unverifiedFailuresPerMinute,
            enrollmentsPerMinute: settings.enrollmentsPerMinute)
    }
}
