import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// One check on one device: conditions under each missing policy, and the computed checks.
@Suite struct CheckEvaluatorTests {
    static let hour: TimeInterval = 3600
    static let day: TimeInterval = 86_400
    /// 2025-06-15T15:06:40Z.
    static let now = Date(timeIntervalSince1970: 1_750_000_000)
    static let evaluator = CheckEvaluator()

    static func device(
        lastReport: Date?, acceptedAt: Date? = nil,
        enrolledAt: Date = now.addingTimeInterval(-100 * day)
    ) -> Device {
        Device(
            fingerprint: "ABCDEF0123456789ABCDEF0123456789ABCDEF01", publicKey: "key", hostname: "laptop-7",
            machineID: "m-7", state: .accepted, enrolledAt: enrolledAt, acceptedAt: acceptedAt,
            lastSubmissionAt: lastReport)
    }

    static func subject(
        lastReport: Date? = now.addingTimeInterval(-hour), document: JSONValue = .object([:]),
        failedPlugins: [String] = [], oldestPendingPatchAt: Date? = nil, clashes: KeyClashes = KeyClashes(),
        linkedLastReportAt: Date? = nil
    ) -> AuditSubject {
        AuditSubject(
            device: device(lastReport: lastReport), projection: projection(document), failedPlugins: failedPlugins,
            facts: DeviceFacts(
                oldestPendingPatchAt: oldestPendingPatchAt, clashes: clashes,
                linkedLastReportAt: linkedLastReportAt))
    }

    /// What a store hands over: the value at every path of the document that is not null
    /// (this test projects all object paths, not only those a check reads).
    static func projection(_ document: JSONValue) -> Projection {
        var projection = Projection()
        func walk(_ value: JSONValue, _ prefix: [String]) {
            if !prefix.isEmpty, value != .null, let path = DocumentPath(prefix.joined(separator: ".")) {
                projection.values[path] = value
            }
            if case .object(let fields) = value {
                for (key, child) in fields { walk(child, prefix + [key]) }
            }
        }
        walk(document, [])
        return projection
    }

    static func check(_ kind: Check.Kind, missing: Check.MissingPolicy = .unknown) -> Check {
        var check = Check(name: "test-check", description: "A test check", kind: kind)
        check.missing = missing
        return check
    }

    static func evaluate(_ check: Check, _ subject: AuditSubject, now: Date = now) -> Evaluation {
        evaluator.evaluate(check, on: subject, now: now)
    }

    static func doc(_ json: String) throws -> JSONValue { try JSONValue.parse(Data(json.utf8)) }

    static let firewallOff = Condition.test(path: DocumentPath("plugins.firewall.active")!, .equals(.bool(false)))

    // MARK: - Conditions and missing policies

    @Test(arguments: [Check.MissingPolicy.pass, .fail, .unknown])
    func presentDataDecidesWhateverThePolicy(_ policy: Check.MissingPolicy) throws {
        let check = Self.check(.condition(Self.firewallOff), missing: policy)
        let reported = Self.now.addingTimeInterval(-2 * Self.hour)
        let off = Self.evaluate(check, Self.subject(lastReport: reported, document: try Self.doc(#"{"plugins": {"firewall": {"active": false}}}"#)))
        #expect(off.verdict == .holds)
        #expect(off.since == reported)
        #expect(off.detail == "plugins.firewall.active = false")
        let on = Self.evaluate(check, Self.subject(lastReport: reported, document: try Self.doc(#"{"plugins": {"firewall": {"active": true}}}"#)))
        #expect(on.verdict == .clear)
        // Passing checks carry no detail.
        #expect(on.detail == "")
    }

    @Test func missingDataFollowsThePolicy() throws {
        let reported = Self.now.addingTimeInterval(-2 * Self.hour)
        let documents = [
            try Self.doc(#"{"plugins": {"firewall": {"active": "unknown"}}}"#),
            try Self.doc(#"{"plugins": {"firewall": {"active": null}}}"#),
            try Self.doc(#"{"plugins": {}}"#)
        ]
        for document in documents {
            let subject = Self.subject(lastReport: reported, document: document)
            let expected: [(Check.MissingPolicy, Verdict)] = [(.pass, .clear), (.fail, .holds), (.unknown, .unknown)]
            for (policy, verdict) in expected {
                let evaluation = Self.evaluate(Self.check(.condition(Self.firewallOff), missing: policy), subject)
                #expect(evaluation.verdict == verdict, "\(policy) on \(document.serializedString)")
                #expect(evaluation.since == reported)
                #expect(evaluation.detail == (verdict == .clear ? "" : "no data at plugins.firewall.active"), "\(policy)")
            }
        }
    }

    @Test func missingDetailNamesOnlyTheMissingPaths() throws {
        let condition = Condition.all([
            .test(path: DocumentPath("plugins.sshd.running")!, .equals(.bool(true))),
            .test(path: DocumentPath("plugins.sshd.password_authentication")!, .equals(.bool(true)))
        ])
        let document = try Self.doc(#"{"plugins": {"sshd": {"running": true, "password_authentication": "unknown"}}}"#)
        let evaluation = Self.evaluate(Self.check(.condition(condition)), Self.subject(document: document))
        #expect(evaluation.verdict == .unknown)
        #expect(evaluation.detail == "no data at plugins.sshd.password_authentication")
    }

    /// An any_item whose list is there but whose items lack data still says where to look.
    @Test func missingDetailInsideAListNamesTheList() throws {
        let condition = Condition.anyItem(
            path: DocumentPath("plugins.ports")!,
            .test(path: DocumentPath("address")!, .equals(.string("0.0.0.0"))))
        let document = try Self.doc(#"{"plugins": {"ports": [{"port": 22}, {"port": 80, "address": "unknown"}]}}"#)
        let evaluation = Self.evaluate(Self.check(.condition(condition)), Self.subject(document: document))
        #expect(evaluation.verdict == .unknown)
        #expect(evaluation.detail == "no data at plugins.ports")
    }

    @Test func evidenceShowsTheMatchingItems() throws {
        let condition = Condition.anyItem(
            path: DocumentPath("plugins.ports")!,
            .all([
                .test(path: DocumentPath("port")!, .isIn([.integer(22), .integer(3306)])),
                .test(path: DocumentPath("address")!, .notEquals(.string("127.0.0.1")))
            ]))
        let document = try Self.doc(
            #"{"plugins": {"ports": [{"port": 22, "address": "0.0.0.0"}, {"port": 80, "address": "0.0.0.0"}, {"port": 3306, "address": "127.0.0.1"}]}}"#)
        let evaluation = Self.evaluate(Self.check(.condition(condition)), Self.subject(document: document))
        #expect(evaluation.verdict == .holds)
        #expect(evaluation.detail == #"matching: {"address":"0.0.0.0","port":22}"#)
    }

    @Test func evidenceDescribesListsAndObjectsAndStaysShort() throws {
        let condition = Condition.all([
            .test(path: DocumentPath("plugins.ports")!, .exists(true)),
            .test(path: DocumentPath("plugins.os")!, .exists(true)),
            .test(path: DocumentPath("plugins.one")!, .exists(true))
        ])
        let document = try Self.doc(#"{"plugins": {"ports": [{"port": 22}, {"port": 80}], "os": {"name": "x"}, "one": [1]}}"#)
        let evaluation = Self.evaluate(Self.check(.condition(condition)), Self.subject(document: document))
        #expect(evaluation.verdict == .holds)
        #expect(evaluation.detail == "plugins.one: 1 item; plugins.os: {...}; plugins.ports: 2 items")
        let long = String(repeating: "x", count: 500)
        let wordy = Self.evaluate(
            Self.check(.condition(.test(path: DocumentPath("v")!, .exists(true)))),
            Self.subject(document: .object(["v": .string(long)])))
        #expect(wordy.detail.count == 200)
        #expect(wordy.detail.hasPrefix("v = \"xxx"))
        #expect(wordy.detail.hasSuffix("..."))
    }

    @Test func aDeviceThatNeverReportedIsJudgedAsOfNow() {
        let evaluation = Self.evaluate(
            Self.check(.condition(Self.firewallOff), missing: .fail),
            Self.subject(lastReport: nil))
        #expect(evaluation.verdict == .holds)
        #expect(evaluation.since == Self.now)
    }

    // MARK: - not-reporting

    static let notReporting = check(.notReporting(after: 2 * day))

    @Test func notReportingHoldsOnlyAfterTheThreshold() {
        let longAgo = Self.now.addingTimeInterval(-2 * Self.day - 1)
        let silent = Self.evaluate(Self.notReporting, Self.subject(lastReport: longAgo))
        #expect(silent.verdict == .holds)
        #expect(silent.since == longAgo.addingTimeInterval(2 * Self.day))
        #expect(silent.detail == "last report \(RFC3339.string(from: longAgo))")

        let recent = Self.evaluate(Self.notReporting, Self.subject(lastReport: Self.now.addingTimeInterval(-2 * Self.day + 1)))
        #expect(recent.verdict == .clear)
        #expect(recent.detail == "")
        // Exactly the threshold is not yet past it.
        #expect(Self.evaluate(Self.notReporting, Self.subject(lastReport: Self.now.addingTimeInterval(-2 * Self.day))).verdict == .clear)
        // The same device, judged a day later.
        let recentReport = Self.now.addingTimeInterval(-Self.day)
        let later = Self.evaluate(Self.notReporting, Self.subject(lastReport: recentReport), now: Self.now.addingTimeInterval(2 * Self.day))
        #expect(later.verdict == .holds)
        #expect(later.since == recentReport.addingTimeInterval(2 * Self.day))
    }

    @Test func aDeviceThatNeverReportedCountsFromAcceptance() {
        let accepted = Self.now.addingTimeInterval(-3 * Self.day)
        var subject = Self.subject(lastReport: nil)
        subject.device = Self.device(lastReport: nil, acceptedAt: accepted)
        let evaluation = Self.evaluate(Self.notReporting, subject)
        #expect(evaluation.verdict == .holds)
        #expect(evaluation.since == accepted.addingTimeInterval(2 * Self.day))
        #expect(evaluation.detail == "never reported")

        // Accepted yesterday after enrolling long ago: not yet overdue.
        subject.device = Self.device(lastReport: nil, acceptedAt: Self.now.addingTimeInterval(-Self.day))
        #expect(Self.evaluate(Self.notReporting, subject).verdict == .clear)

        // Without an acceptance time, enrollment counts.
        let enrolled = Self.now.addingTimeInterval(-5 * Self.day)
        subject.device = Self.device(lastReport: nil, acceptedAt: nil, enrolledAt: enrolled)
        let byEnrollment = Self.evaluate(Self.notReporting, subject)
        #expect(byEnrollment.verdict == .holds)
        #expect(byEnrollment.since == enrolled.addingTimeInterval(2 * Self.day))
    }

    @Test func aLinkedDeviceThatReportedKeepsItClear() {
        let away = Self.now.addingTimeInterval(-10 * Self.day)
        let covered = Self.evaluate(Self.notReporting, Self.subject(lastReport: away, linkedLastReportAt: Self.now.addingTimeInterval(-Self.hour)))
        #expect(covered.verdict == .clear)
        #expect(covered.detail == "a linked device reported")
        // The linked device is silent too.
        let bothSilent = Self.evaluate(Self.notReporting, Self.subject(lastReport: away, linkedLastReportAt: Self.now.addingTimeInterval(-3 * Self.day)))
        #expect(bothSilent.verdict == .holds)
        #expect(bothSilent.since == away.addingTimeInterval(2 * Self.day))
        // No linked device at all.
        #expect(Self.evaluate(Self.notReporting, Self.subject(lastReport: away)).verdict == .holds)
    }

    @Test func aLinkedDeviceCoversForAtMost31Days() {
        #expect(CheckEvaluator.linkedCoverLimit == 31 * Self.day)
        let linked = Self.now.addingTimeInterval(-Self.hour)
        let edge = Self.now.addingTimeInterval(-31 * Self.day)
        #expect(Self.evaluate(Self.notReporting, Self.subject(lastReport: edge, linkedLastReportAt: linked)).verdict == .clear)
        let tooLong = Self.now.addingTimeInterval(-31 * Self.day - 1)
        let evaluation = Self.evaluate(Self.notReporting, Self.subject(lastReport: tooLong, linkedLastReportAt: linked))
        #expect(evaluation.verdict == .holds)
        #expect(evaluation.since == tooLong.addingTimeInterval(2 * Self.day))
        #expect(evaluation.detail == "last report \(RFC3339.string(from: tooLong))")
        let ancient = Self.now.addingTimeInterval(-90 * Self.day)
        #expect(Self.evaluate(Self.notReporting, Self.subject(lastReport: ancient, linkedLastReportAt: linked)).verdict == .holds)
    }

    // MARK: - pending-patches

    @Test func pendingPatchesHoldAfterTheirWait() {
        let patches = Self.check(.pendingPatches(after: Self.day))
        let oldest = Self.now.addingTimeInterval(-25 * Self.hour)
        let late = Self.evaluate(patches, Self.subject(oldestPendingPatchAt: oldest))
        #expect(late.verdict == .holds)
        #expect(late.since == oldest.addingTimeInterval(Self.day))
        #expect(late.detail == "a patch has waited since \(RFC3339.string(from: oldest))")
        #expect(Self.evaluate(patches, Self.subject(oldestPendingPatchAt: Self.now.addingTimeInterval(-23 * Self.hour))).verdict == .clear)
        #expect(Self.evaluate(patches, Self.subject(oldestPendingPatchAt: Self.now.addingTimeInterval(-Self.day))).verdict == .clear)
        let none = Self.evaluate(patches, Self.subject(oldestPendingPatchAt: nil))
        #expect(none.verdict == .clear)
        #expect(none.detail == "")
    }

    // MARK: - plugin-failed and duplicate-host

    @Test func detailsQuoteDeviceTextWithoutItsControlCharacters() {
        // A device names its plugins: a line break or an escape sequence must not reach a report.
        let failed = Self.evaluate(
            Self.check(.pluginFailed),
            Self.subject(failedPlugins: ["x\n  forged: line", "y\u{1B}[2J", "z\u{85}"]))
        #expect(failed.verdict == .holds)
        #expect(failed.detail == "failed: x?  forged: line, y?[2J, z?")
    }

    @Test func pluginFailedListsThePlugins() {
        let reported = Self.now.addingTimeInterval(-3 * Self.hour)
        let failed = Self.evaluate(Self.check(.pluginFailed), Self.subject(lastReport: reported, failedPlugins: ["sshd", "firewall"]))
        #expect(failed.verdict == .holds)
        #expect(failed.since == reported)
        #expect(failed.detail == "failed: sshd, firewall")
        let fine = Self.evaluate(Self.check(.pluginFailed), Self.subject(lastReport: reported))
        #expect(fine.verdict == .clear)
        #expect(fine.detail == "")
    }

    @Test func duplicateHostSaysWhichClashesAndWithWhom() {
        let other = KeyClashes.Key(fingerprint: "1326", hostname: "doc-host")
        func detail(_ clashes: KeyClashes) -> Evaluation { Self.evaluate(Self.check(.duplicateHost), Self.subject(clashes: clashes)) }
        let byName = detail(KeyClashes(hostname: [other]))
        #expect(byName.verdict == .holds)
        #expect(byName.since == Self.now)
        #expect(byName.detail == "hostname laptop-7 is also used by key 1326")
        #expect(detail(KeyClashes(machineID: [other])).detail == "machine id is also used by key 1326 (doc-host)")
        #expect(
            detail(KeyClashes(hostname: [other], machineID: [other, KeyClashes.Key(fingerprint: "9A59", hostname: "x")])).detail
                == "hostname laptop-7 is also used by key 1326; machine id is also used by keys 1326 (doc-host), 9A59 (x)")
        let unique = detail(KeyClashes())
        #expect(unique.verdict == .clear)
        #expect(unique.detail == "")
    }

    /// Missing policies apply to conditions only: computed checks always decide.
    @Test func computedChecksIgnoreTheMissingPolicy() {
        var check = Self.check(.pluginFailed, missing: .fail)
        #expect(Self.evaluate(check, Self.subject()).verdict == .clear)
        check.kind = .duplicateHost
        #expect(Self.evaluate(check, Self.subject()).verdict == .clear)
        check.kind = .pendingPatches(after: Self.day)
        #expect(Self.evaluate(check, Self.subject()).verdict == .clear)
    }
}
