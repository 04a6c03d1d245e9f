import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// Requests that fail before their signature verifies are budgeted per address; past the
/// budget the address is answered 429 with Retry-After before its body is read.
@Suite struct UnverifiedBudgetTests {
    @Test func anAddressPastItsBudgetIsAnswered429WithRetryAfter() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) { $0.unverifiedFailuresPerMinute = 5 }
        let device = try TestDevice(sandbox, name: "dev")
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.live) { client in
            #expect(try await post(client, try device.sign(.enroll, try device.enrollFields())).status == .ok)
            try await context.store.setState(.accepted, fingerprint: device.fingerprint, at: Date())
            // Good requests spend nothing.
            for _ in 0..<8 {
                let good = try device.sign(.submit, TestDevice.submitFields(plugins: ["n": .integer(1)]))
                #expect(try await post(client, good).status == .ok)
            }
            for _ in 0..<5 {
                let tampered = try device.sign(.submit, TestDevice.submitFields(plugins: ["n": .integer(1)]))
                let body = Data(String(decoding: tampered.body, as: UTF8.self).replacingOccurrences(of: "\"n\":1", with: "\"n\":2").utf8)
                try expectRefusal(
                    try await post(
                        client, endpoint: "submit", body: body,
                        signature: tampered.signatureHeaderValue), .badSignature)
            }
            // Now even a good request from this address waits: its body is not even read.
            let good = try device.sign(.submit, TestDevice.submitFields(id: "after", plugins: ["n": .integer(3)]))
            let throttled = try await post(client, good)
            try expectRefusal(throttled, .tooManyFailures)
            let retryAfter = throttled.headers[.retryAfter].flatMap(Int.init)
            #expect(retryAfter != nil && retryAfter! >= 1 && retryAfter! <= 12)
            #expect(try await context.store.latestDocument(fingerprint: device.fingerprint)?["plugins"]?["n"] == .integer(1))
        }
    }

    @Test func theBudgetRefillsAtItsRate() {
        let budget = UnverifiedRequestBudget(perMinute: 6)
        let start = Date()
        for _ in 0..<6 {
            #expect(budget.wait("192.0.2.1", now: start) == nil)
            budget.charge("192.0.2.1", now: start)
        }
        #expect(budget.wait("192.0.2.1", now: start) == 10)
        #expect(budget.wait("192.0.2.2", now: start) == nil)
        // One failure drains every 10 s.
        #expect(budget.wait("192.0.2.1", now: start.addingTimeInterval(9)) != nil)
        #expect(budget.wait("192.0.2.1", now: start.addingTimeInterval(10.5)) == nil)
        budget.charge("192.0.2.1", now: start.addingTimeInterval(10.5))
        #expect(budget.wait("192.0.2.1", now: start.addingTimeInterval(10.5)) != nil)
    }

    /// Requests let in cost nothing until they fail: any number may be in flight at once.
    @Test func onlyFailuresAreCharged() {
        let budget = UnverifiedRequestBudget(perMinute: 3)
        let now = Date()
        for _ in 0..<100 { #expect(budget.wait("2001:db8::/64", now: now) == nil) }
        #expect(budget.trackedAddresses == 0)
    }

    /// Requests let in together may all fail: the bucket goes past the budget by as many, and
    /// the address waits until it has drained below the budget again.
    @Test func aBurstOfFailuresIsPaidBackByWaiting() {
        let budget = UnverifiedRequestBudget(perMinute: 6)
        let start = Date()
        for _ in 0..<20 { #expect(budget.wait("192.0.2.1", now: start) == nil) }
        for _ in 0..<20 { budget.charge("192.0.2.1", now: start) }
        // 15 failures must drain (20 + 1 - 6), one every 10 s.
        #expect(budget.wait("192.0.2.1", now: start) == 150)
        #expect(budget.wait("192.0.2.1", now: start.addingTimeInterval(140)) == 10)
        #expect(budget.wait("192.0.2.1", now: start.addingTimeInterval(150.5)) == nil)
    }

    @Test func aFloodOfAddressesKeepsTheTableBounded() {
        let budget = UnverifiedRequestBudget(perMinute: 3)
        let now = Date()
        for index in 0..<(3 * UnverifiedRequestBudget.maxAddresses) {
            budget.charge("10.\(index >> 16).\(index >> 8 & 255).\(index & 255)", now: now)
        }
        #expect(budget.trackedAddresses <= UnverifiedRequestBudget.maxAddresses)
        #expect(budget.trackedAddresses > 0)
    }
}

/// Every enrollment costs a gpg run, for whoever asks: one address may send
/// `enrollments_per_minute`, whatever their outcome, and is then answered 429 before the body
/// is read; its devices' other requests are not affected.
@Suite struct EnrollmentBudgetTests {
    @Test func anAddressPastItsEnrollmentsIsAnswered429WithRetryAfter() async throws {
        let sandbox = try Sandbox()
        // One a minute, spent by a request that is refused at once (no gpg run), so the test
        // does not depend on how fast a loaded machine checks an enrollment.
        let context = try await makeServerContext(sandbox) { $0.enrollmentsPerMinute = 1 }
        let (enrolled, newcomer) = (try TestDevice(sandbox, name: "old"), try TestDevice(sandbox, name: "new"))
        let key = try enrolled.enrollFields()["public_key"]!.stringValue!
        _ = try await context.store.enroll(
            Device(
                fingerprint: enrolled.fingerprint, publicKey: key, hostname: enrolled.host,
                machineID: "m-old", state: .pending, enrolledAt: Date()),
            acceptUnlessFlagged: true)
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.live) { client in
            try expectRefusal(try await post(client, endpoint: "enroll", body: Data("{".utf8), signature: "AAAA"), .malformed)
            let refused = try await post(client, try newcomer.sign(.enroll, try newcomer.enrollFields()))
            try expectRefusal(refused, .tooManyFailures)
            let retryAfter = refused.headers[.retryAfter].flatMap(Int.init)
            #expect(retryAfter != nil && retryAfter! >= 1 && retryAfter! <= 60)
            #expect(try await context.store.device(fingerprint: newcomer.fingerprint) == nil)
            // An enrolled device at the same address goes on submitting.
            let submit = try enrolled.sign(.submit, TestDevice.submitFields(plugins: ["n": .integer(1)]))
            #expect(try await post(client, submit).status == .ok)
        }
    }
}
