import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// Checks that read a secret value: not evaluable (unknown, with the path named), whatever the
/// check's `missing:` policy, while the rest of a condition still decides where it can. No detail
/// ever quotes a secret's ciphertext or hash.
@Suite struct SecretEvaluationTests {
    typealias T = CheckEvaluatorTests
    static let ciphertext = Data((0..<48).map { UInt8($0 * 7 % 256) }).base64EncodedString()
    static let hash = String(repeating: "ab12", count: 16)
    static let secret = JSONValue.object(["secret": .string(ciphertext), "hash": .string(hash)])
    static let serial = DocumentPath("plugins.hardware.serial")!
    static let serialSelector = try! SecretSelector("plugins.hardware.serial")
    static let policies: [Check.MissingPolicy] = [.pass, .fail, .unknown]

    /// A document whose serial is `serial` and whose firewall is on or off.
    static func document(serial: JSONValue?, firewallActive: Bool) -> JSONValue {
        var hardware: [String: JSONValue] = ["model": .string("X1")]
        hardware["serial"] = serial
        return .object([
            "plugins": .object([
                "hardware": .object(hardware),
                "firewall": .object(["active": .bool(firewallActive)])
            ])
        ])
    }

    static func evaluate(
        _ condition: Condition, missing: Check.MissingPolicy, on document: JSONValue,
        selectors: [SecretSelector] = []
    ) -> Evaluation {
        CheckEvaluator(secretSelectors: selectors).evaluate(
            T.check(.condition(condition), missing: missing),
            on: T.subject(document: document), now: T.now)
    }

    static func expectNoSecretText(_ evaluation: Evaluation, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!evaluation.detail.contains(ciphertext), sourceLocation: sourceLocation)
        #expect(!evaluation.detail.contains(hash), sourceLocation: sourceLocation)
    }

    static let tests: [Condition.Test] = [
        .equals(.string("ABC123")), .notEquals(.string("ABC123")), .exists(true),
        .exists(false), .matches(try! Pattern(".")), .isIn([.string("unknown")])
    ]

    @Test(arguments: policies)
    func everyTestOfASecretValueIsNotEvaluable(_ policy: Check.MissingPolicy) {
        for test in Self.tests {
            let evaluation = Self.evaluate(
                .test(path: Self.serial, test), missing: policy,
                on: Self.document(serial: Self.secret, firewallActive: true))
            #expect(evaluation.verdict == .unknown, "\(test) under missing: \(policy)")
            #expect(evaluation.detail == "not evaluable: plugins.hardware.serial is secret")
        }
    }

    @Test(arguments: policies)
    func aSelectedPathIsSecretWithNoValueOrAClearOne(_ policy: Check.MissingPolicy) {
        // Nothing stored (json_extract finds nothing below an encrypted value), or a clear value
        // that came in before its selector: secret either way.
        for stored in [nil, JSONValue.string("ABC123")] {
            let document = Self.document(serial: stored, firewallActive: true)
            for path in ["plugins.hardware.serial", "plugins.hardware.serial.vendor"] {
                let evaluation = Self.evaluate(
                    .test(path: DocumentPath(path)!, .exists(false)), missing: policy,
                    on: document, selectors: [Self.serialSelector])
                #expect(evaluation.verdict == .unknown)
                #expect(evaluation.detail == "not evaluable: \(path) is secret")
            }
        }
    }

    @Test func withoutTheSelectorTheSamePathsAreData() {
        let document = Self.document(serial: .string("ABC123"), firewallActive: true)
        let evaluation = Self.evaluate(.test(path: Self.serial, .equals(.string("ABC123"))), missing: .unknown, on: document)
        #expect(evaluation.verdict == .holds)
        #expect(evaluation.detail == #"plugins.hardware.serial = "ABC123""#)
    }

    @Test func aPathBelowASecretValueReadsAsTheSecret() {
        let vendor = Condition.test(path: DocumentPath("plugins.hardware.serial.vendor")!, .exists(false))
        #expect(vendor.evaluate(Self.document(serial: Self.secret, firewallActive: true)) == .unknown)
        #expect(vendor.evaluate(Self.document(serial: .object([:]), firewallActive: true)) == .holds)
    }

    @Test(arguments: policies)
    func theOtherPartOfAnAnyOrAnAllStillDecides(_ policy: Check.MissingPolicy) {
        let serialKnown = Condition.test(path: Self.serial, .equals(.string("ABC123")))
        for selectors in [[], [Self.serialSelector]] {
            let off = Self.document(serial: Self.secret, firewallActive: false)
            let on = Self.document(serial: Self.secret, firewallActive: true)

            let anyHolds = Self.evaluate(.any([serialKnown, T.firewallOff]), missing: policy, on: off, selectors: selectors)
            #expect(anyHolds.verdict == .holds)
            #expect(anyHolds.detail == "plugins.firewall.active = false; plugins.hardware.serial = [secret]")
            Self.expectNoSecretText(anyHolds)
            let anyTurnsOnTheSecret = Self.evaluate(.any([serialKnown, T.firewallOff]), missing: policy, on: on, selectors: selectors)
            #expect(anyTurnsOnTheSecret.verdict == .unknown)
            #expect(anyTurnsOnTheSecret.detail == "not evaluable: plugins.hardware.serial is secret")

            let allClear = Self.evaluate(.all([serialKnown, T.firewallOff]), missing: policy, on: on, selectors: selectors)
            #expect(allClear.verdict == .clear)
            let allTurnsOnTheSecret = Self.evaluate(.all([serialKnown, T.firewallOff]), missing: policy, on: off, selectors: selectors)
            #expect(allTurnsOnTheSecret.verdict == .unknown)
            #expect(allTurnsOnTheSecret.detail == "not evaluable: plugins.hardware.serial is secret")

            let noneTurnsOnTheSecret = Self.evaluate(.none([serialKnown, T.firewallOff]), missing: policy, on: on, selectors: selectors)
            #expect(noneTurnsOnTheSecret.verdict == .unknown)
        }
    }

    @Test func anyItemNeitherTestsNorQuotesASecretsParts() {
        // Every text in plugins.hardware matches ".": the model does, the secret's ciphertext
        // and hash must not.
        let anyText = Condition.anyItem(path: DocumentPath("plugins.hardware")!, .test(path: DocumentPath("")!, .matches(try! Pattern("."))))
        let matched = Self.evaluate(anyText, missing: .fail, on: Self.document(serial: Self.secret, firewallActive: true))
        #expect(matched.verdict == .holds)
        #expect(matched.detail == #"matching: "X1""#)

        let onlyTheSecret = JSONValue.object(["plugins": .object(["hardware": .object(["serial": Self.secret])])])
        let secretOnly = Self.evaluate(anyText, missing: .fail, on: onlyTheSecret)
        #expect(secretOnly.verdict == .unknown)
        #expect(secretOnly.detail == "not evaluable: plugins.hardware.serial is secret")

        let inTheSecret = Condition.anyItem(path: Self.serial, .test(path: DocumentPath("")!, .matches(try! Pattern("."))))
        let secretContainer = Self.evaluate(inTheSecret, missing: .fail, on: Self.document(serial: Self.secret, firewallActive: true))
        #expect(secretContainer.verdict == .unknown)
        #expect(secretContainer.detail == "not evaluable: plugins.hardware.serial is secret")
        let container = Self.evaluate(
            .any([inTheSecret, T.firewallOff]), missing: .pass,
            on: Self.document(serial: Self.secret, firewallActive: false))
        #expect(container.verdict == .holds)
        Self.expectNoSecretText(container)
    }

    @Test func aMatchingItemShowsItsSecretsAsPlaceholders() {
        let disks = JSONValue.object([
            "plugins": .object([
                "disks": .array([
                    .object(["name": .string("sda"), "encrypted": .bool(false), "serial": Self.secret]),
                    .object(["name": .string("sdb"), "encrypted": .bool(true), "serial": Self.secret])
                ])
            ])
        ])
        let unencrypted = Condition.anyItem(
            path: DocumentPath("plugins.disks")!,
            .test(path: DocumentPath("encrypted")!, .equals(.bool(false))))
        let evaluation = Self.evaluate(unencrypted, missing: .unknown, on: disks)
        #expect(evaluation.verdict == .holds)
        #expect(evaluation.detail == #"matching: {"encrypted":false,"name":"sda","serial":"[secret]"}"#)
        Self.expectNoSecretText(evaluation)
    }

    @Test func aSelectedFieldInsideAReadValueIsMasked() {
        // A clear serial stored before its selector, read through the object that holds it.
        let anyABC = Condition.anyItem(path: DocumentPath("plugins.hardware")!, .test(path: DocumentPath("")!, .matches(try! Pattern("ABC"))))
        let evaluation = Self.evaluate(
            anyABC, missing: .fail, on: Self.document(serial: .string("ABC123"), firewallActive: true),
            selectors: [Self.serialSelector])
        #expect(evaluation.verdict == .unknown)
        #expect(evaluation.detail == "not evaluable: plugins.hardware.serial is secret")
    }
}
