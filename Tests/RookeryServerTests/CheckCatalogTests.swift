import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// server/issues.yml: parsing, defaults, and errors that name the line of the mistake.
@Suite struct CheckCatalogTests {
    static func parse(_ yaml: String) throws -> CheckCatalog {
        try CheckCatalog.parse(yaml, source: "issues.yml")
    }

    /// The message of the SettingsError that parsing `yaml` throws, or nil when it parses.
    static func failure(_ yaml: String) -> String? {
        do {
            _ = try parse(yaml)
            return nil
        } catch let error as SettingsError {
            return error.description
        } catch {
            return "not a SettingsError: \(error)"
        }
    }

    /// Expects parsing to fail at `line` with a message containing `fragment`.
    static func expectFailure(
        _ yaml: String, line: Int, _ fragment: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let message = failure(yaml)
        #expect(
            message?.hasPrefix("issues.yml:\(line): ") == true, "\(message ?? "parsed")",
            sourceLocation: sourceLocation)
        #expect(message?.contains(fragment) == true, "\(message ?? "parsed")", sourceLocation: sourceLocation)
    }

    static func condition(_ check: Check?, sourceLocation: SourceLocation = #_sourceLocation) -> Condition? {
        guard case .condition(let condition)? = check?.kind else {
            Issue.record("not a condition check: \(String(describing: check?.kind))", sourceLocation: sourceLocation)
            return nil
        }
        return condition
    }

    static func path(_ text: String) -> DocumentPath { DocumentPath(text)! }

    // MARK: - A realistic file

    static let realistic = #"""
        # Checks for the test fleet.
        checks:
          - name: disk-not-encrypted
            description: Not every disk is encrypted
            condition:
              path: plugins.hd_encryption.all_encrypted
              equals: false

          - name: dangerous-port-open
            description: A database listens on a network address
            condition:
              path: plugins.listening_ports.ports
              any_item:
                all:
                  - path: port
                    in: &db_ports [3306, 5432, 6379, 27017]
                  - path: address
                    regex: '^(?!127\.|::1$)'
            grace: 30m
            alert_every: 12h
            missing: pass
            remediation: Bind the service to 127.0.0.1.
            webhook: https://hooks.example.com/ports

          - name: firewall-allows-db
            description: The firewall lets database ports in
            condition:
              path: plugins.firewall.allowed_ports
              any_item:
                in: *db_ports
            missing: fail
            grace: 1d12h

          - name: os-outdated
            condition:
              any:
                - path: plugins.os.kernel_major
                  less_than: 5
                - none:
                    - path: plugins.os.supported
                      exists: true
                - path: plugins.os.distro
                  not_in: [ubuntu, debian]
                - path: plugins.os.load
                  greater_than: 0.5
                - path: plugins.os.channel
                  not_equals: "stable"
                - path: plugins.os.release
                  equals: "24.04"

          - name: not-reporting
            description: The device has not reported
            computed: not-reporting
            after: 3d
            alert_every: 1w

          - name: silent-default
            computed: not-reporting

          - name: pending-patches
            computed: pending-patches

          - name: slow-patches
            computed: pending-patches
            after: 12h

          - name: duplicate-host
            computed: duplicate-host

          - name: plugin-failed
            computed: plugin-failed
            grace: 1d
        """#

    @Test func realisticFileParsesInOrder() throws {
        let catalog = try Self.parse(Self.realistic)
        #expect(
            catalog.checks.map(\.name) == [
                "disk-not-encrypted", "dangerous-port-open", "firewall-allows-db", "os-outdated", "not-reporting",
                "silent-default", "pending-patches", "slow-patches", "duplicate-host", "plugin-failed"
            ])
        #expect(catalog.check(named: "nope") == nil)
        #expect(catalog.check(named: "plugin-failed")?.grace == 86_400)
    }

    @Test func defaultsApplyWhenFieldsAreLeftOut() throws {
        let check = try #require(try Self.parse(Self.realistic).check(named: "disk-not-encrypted"))
        #expect(check.description == "Not every disk is encrypted")
        #expect(check.grace == 0)
        #expect(check.alertEvery == 86_400)
        #expect(check.missing == .unknown)
        #expect(check.remediation == nil)
        #expect(check.webhook == nil)
        #expect(Self.condition(check) == .test(path: Self.path("plugins.hd_encryption.all_encrypted"), .equals(.bool(false))))
        // Without a description, the name stands in.
        #expect(try Self.parse(Self.realistic).check(named: "os-outdated")?.description == "os-outdated")
    }

    @Test func everyFieldOfACheckIsRead() throws {
        let check = try #require(try Self.parse(Self.realistic).check(named: "dangerous-port-open"))
        #expect(check.grace == 1800)
        #expect(check.alertEvery == 12 * 3600)
        #expect(check.missing == .pass)
        #expect(check.remediation == "Bind the service to 127.0.0.1.")
        #expect(check.webhook == "https://hooks.example.com/ports")
        let ports: [JSONValue] = [.integer(3306), .integer(5432), .integer(6379), .integer(27017)]
        #expect(
            Self.condition(check)
                == .anyItem(
                    path: Self.path("plugins.listening_ports.ports"),
                    .all([
                        .test(path: Self.path("port"), .isIn(ports)),
                        .test(path: Self.path("address"), .matches(try Pattern(#"^(?!127\.|::1$)"#)))
                    ])))
    }

    @Test func anAliasReusesTheAnchoredPortList() throws {
        let check = try #require(try Self.parse(Self.realistic).check(named: "firewall-allows-db"))
        #expect(check.missing == .fail)
        #expect(check.grace == 86_400 + 12 * 3600)
        let ports: [JSONValue] = [.integer(3306), .integer(5432), .integer(6379), .integer(27017)]
        // No path inside any_item: the item itself is tested.
        #expect(
            Self.condition(check)
                == .anyItem(
                    path: Self.path("plugins.firewall.allowed_ports"),
                    .test(path: Self.path(""), .isIn(ports))))
        let document = try JSONValue.parse(Data(#"{"plugins": {"firewall": {"allowed_ports": [22, 443, 5432]}}}"#.utf8))
        #expect(Self.condition(check)?.evaluate(document) == .holds)
    }

    @Test func everyOperatorParsesToItsTest() throws {
        let check = try #require(try Self.parse(Self.realistic).check(named: "os-outdated"))
        #expect(
            Self.condition(check)
                == .any([
                    .test(path: Self.path("plugins.os.kernel_major"), .lessThan(5)),
                    .none([.test(path: Self.path("plugins.os.supported"), .exists(true))]),
                    .test(path: Self.path("plugins.os.distro"), .notIn([.string("ubuntu"), .string("debian")])),
                    .test(path: Self.path("plugins.os.load"), .greaterThan(0.5)),
                    .test(path: Self.path("plugins.os.channel"), .notEquals(.string("stable"))),
                    // Quoted, a version stays text.
                    .test(path: Self.path("plugins.os.release"), .equals(.string("24.04")))
                ]))
    }

    @Test func computedChecksAndTheirAfterDefaults() throws {
        let catalog = try Self.parse(Self.realistic)
        func kind(_ name: String) -> Check.Kind? { catalog.check(named: name)?.kind }
        guard case .notReporting(let after)? = kind("not-reporting") else {
            Issue.record("not-reporting")
            return
        }
        #expect(after == 3 * 86_400)
        let weekly = try #require(catalog.check(named: "not-reporting"))
        #expect(weekly.alertEvery == 604_800)
        guard case .notReporting(let silentAfter)? = kind("silent-default") else {
            Issue.record("silent-default")
            return
        }
        #expect(silentAfter == 2 * 86_400)
        guard case .pendingPatches(let patchAfter)? = kind("pending-patches") else {
            Issue.record("pending-patches")
            return
        }
        #expect(patchAfter == 86_400)
        guard case .pendingPatches(let slowAfter)? = kind("slow-patches") else {
            Issue.record("slow-patches")
            return
        }
        #expect(slowAfter == 12 * 3600)
        guard case .duplicateHost? = kind("duplicate-host") else {
            Issue.record("duplicate-host")
            return
        }
        guard case .pluginFailed? = kind("plugin-failed") else {
            Issue.record("plugin-failed")
            return
        }
    }

    @Test func scalarsBecomeTheJSONValuesAPluginPrints() throws {
        let catalog = try Self.parse(
            """
            checks:
              - name: values
                condition:
                  path: v
                  in: [1, 1.5, true, false, null, "7", text, "true", 'null', -3]
            """)
        #expect(
            Self.condition(catalog.checks.first)
                == .test(
                    path: Self.path("v"),
                    .isIn([
                        .integer(1), .number(1.5), .bool(true), .bool(false), .null, .string("7"), .string("text"),
                        .string("true"), .string("null"), .integer(-3)
                    ])))
    }

    /// sshd prints yes/no as text; a plain `yes` in issues.yml must compare with that text, not
    /// turn into a YAML 1.1 boolean that never matches.
    @Test func yesAndNoStayText() throws {
        let catalog = try Self.parse(
            """
            checks:
              - name: root-login
                condition:
                  path: plugins.sshd.permit_root_login
                  in: [yes, no, on, off]
            """)
        #expect(
            Self.condition(catalog.checks.first)
                == .test(
                    path: Self.path("plugins.sshd.permit_root_login"),
                    .isIn([.string("yes"), .string("no"), .string("on"), .string("off")])))
    }

    @Test func emptyFilesHaveNoChecks() throws {
        #expect(try Self.parse("").checks.isEmpty)
        #expect(try Self.parse("# nothing yet\n").checks.isEmpty)
        #expect(try Self.parse("checks: []\n").checks.isEmpty)
    }

    // MARK: - Errors name the line

    @Test func unknownKeyNamesItsLine() {
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  equals: 1
                graze: 1d
            """, line: 6, "unknown key graze")
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  equal: 1
            """, line: 5, "unknown key equal")
        Self.expectFailure(
            """
            settings:
              x: 1
            """, line: 1, "unknown key settings")
    }

    @Test func badDurationNamesItsLine() {
        for bad in ["1x", "d", "5", "1.5h", "-1d", "forever"] {
            Self.expectFailure(
                """
                checks:
                  - name: a
                    computed: plugin-failed
                    grace: \(bad)
                """, line: 4, "grace must be a duration")
        }
        Self.expectFailure(
            """
            checks:
              - name: a
                computed: not-reporting

                after: 2 days
            """, line: 5, "after must be a duration")
        Self.expectFailure(
            """
            checks:
              - name: a
                computed: plugin-failed
                alert_every: 0
            """, line: 4, "alert_every must be more than 0")
    }

    @Test func badRegexNamesItsLine() {
        Self.expectFailure(
            """
            checks:
              - name: ok
                computed: plugin-failed
              - name: a
                condition:
                  path: x
                  regex: '(unclosed'
            """, line: 7, "regex (unclosed does not compile")
    }

    @Test func twoOperatorsInOneConditionNameTheConditionsLine() {
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  equals: 1
                  in: [1, 2]
            """, line: 4, "found equals, in")
        // And none at all.
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  all:
                    - path: x
            """, line: 5, "a condition has exactly one of")
    }

    @Test func missingNameNamesTheChecksLine() {
        Self.expectFailure(
            """
            checks:
              - name: a
                computed: plugin-failed
              - description: nameless
                computed: duplicate-host
            """, line: 4, "name is required")
        Self.expectFailure(
            """
            checks:
              - name: ""
                computed: duplicate-host
            """, line: 2, "name is required")
        Self.expectFailure(
            """
            checks:
              - name: Bad Name
                computed: duplicate-host
            """, line: 2, "check name Bad Name")
    }

    @Test func duplicateNameNamesTheSecondCheck() {
        Self.expectFailure(
            """
            checks:
              - name: twice
                computed: plugin-failed
              - name: other
                computed: duplicate-host
              - name: twice
                computed: duplicate-host
            """, line: 6, "a second check named twice")
    }

    @Test func aKeyGivenTwiceIsRefused() {
        let message = Self.failure(
            """
            checks:
              - name: a
                computed: duplicate-host
                grace: 0
                grace: 7d
            """)
        #expect(message?.contains("at line 4, column 5: this key is given again") == true, "\(message ?? "parsed")")
    }

    @Test func badComputedKindNamesItsLine() {
        Self.expectFailure(
            """
            checks:
              - name: a
                description: Something
                computed: not-responding
            """, line: 4, "computed must be one of not-reporting, pending-patches, duplicate-host, plugin-failed")
    }

    @Test func afterOnAConditionCheckNamesItsLine() {
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  exists: false
                after: 1d
            """, line: 6, "after belongs to computed checks only")
    }

    @Test func conditionAndComputedTogetherOrNeitherNameTheCheck() {
        Self.expectFailure(
            """
            checks:
              - name: ok
                computed: plugin-failed
              - name: both
                computed: plugin-failed
                condition:
                  path: x
                  exists: true
            """, line: 4, "either condition or computed, not both or neither")
        Self.expectFailure(
            """
            checks:
              - name: neither
                grace: 1d
            """, line: 2, "either condition or computed")
    }

    @Test func badMissingPolicyNamesItsLine() {
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  equals: true
                missing: ignore
            """, line: 6, "missing must be pass, fail or unknown")
    }

    @Test func nonListInNamesItsLine() {
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  in: 3306
            """, line: 5, "in must be a list of values")
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  not_in: {a: 1}
            """, line: 5, "not_in must be a list of values")
    }

    @Test func otherMistakesNameTheirLines() {
        // A path with a space.
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: plugins.sshd running
                  exists: true
            """, line: 4, "path must be dotted names")
        // A combinator with a path, or with no parts.
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  all:
                    - path: y
                      exists: true
            """, line: 4, "all takes no path")
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  any: []
            """, line: 4, "any must be a non-empty list of conditions")
        // Operands of the wrong shape.
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  exists: maybe
            """, line: 5, "exists must be true or false")
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  less_than: ten
            """, line: 5, "less_than must be a number")
        Self.expectFailure(
            """
            checks:
              - name: a
                condition:
                  path: x
                  equals: [1, 2]
            """, line: 5, "expected a single value")
        Self.expectFailure(
            """
            checks:
              - name: a
                computed: plugin-failed
                webhook: ftp://example.com/x
            """, line: 4, "webhook must be an http:// or https:// URL")
        Self.expectFailure(
            """
            checks:
              name: a
            """, line: 2, "checks must be a list")
        Self.expectFailure(
            """
            checks:
              - just a string
            """, line: 2, "expected a map")
    }

    @Test func invalidYAMLIsRefusedWithTheSource() {
        let message = Self.failure("checks: [\n  - name: a\n")
        #expect(message?.hasPrefix("invalid settings in issues.yml at line ") == true, "\(message ?? "parsed")")
        #expect(message?.contains("name: a") == false, "\(message ?? "parsed")")
    }

    @Test func loadNamesAFileItCannotRead() {
        #expect(throws: SettingsError.self) { try CheckCatalog.load(path: "/nonexistent/rookery/issues.yml") }
    }

    // MARK: - Durations

    @Test func durationsParse() {
        let cases: [(String, TimeInterval)] = [
            ("0", 0), ("30m", 1800), ("12h", 43_200), ("7d", 604_800), ("2w", 1_209_600), ("1d12h", 129_600),
            ("45s", 45), ("1w1d1h1m1s", 694_861), (" 2h ", 7200), ("0s", 0), ("90m", 5400)
        ]
        for (text, seconds) in cases {
            #expect(DurationText.seconds(text) == seconds, "\(text)")
        }
    }

    @Test(arguments: ["d", "5", "1x", "", " ", "1d5", "1.5h", "-1d", "1 d", "h1", "1D", "00", "12:00", "forever"])
    func invalidDurationsAreRefused(_ text: String) {
        #expect(DurationText.seconds(text) == nil, "\(text)")
    }

    // MARK: - The shipped file

    static let repoRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func shippedIssuesFileParses() throws {
        let path = Self.repoRoot.appendingPathComponent("server/issues.yml").path
        let catalog = try CheckCatalog.load(path: path)
        let names = catalog.checks.map(\.name)
        #expect(Set(names).count == names.count)
        for expected in [
            "not-reporting", "pending-patches", "duplicate-host", "plugin-failed",
            "sshd-password-authentication", "dangerous-port-open"
        ] {
            #expect(names.contains(expected), "\(expected)")
        }
        for check in catalog.checks {
            #expect(!check.description.isEmpty, "\(check.name)")
        }
    }

    @Test func shippedPortCheckSparesLoopback() throws {
        let path = Self.repoRoot.appendingPathComponent("server/issues.yml").path
        let check = try #require(try CheckCatalog.load(path: path).check(named: "dangerous-port-open"))
        let condition = try #require(Self.condition(check))
        func verdict(_ ports: String) throws -> Verdict {
            condition.evaluate(try JSONValue.parse(Data(#"{"plugins": {"listening_ports": {"ports": \#(ports)}}}"#.utf8)))
        }
        #expect(try verdict(#"[{"port": 22, "address": "0.0.0.0"}, {"port": 5432, "address": "0.0.0.0"}]"#) == .holds)
        #expect(try verdict(#"[{"port": 6379, "address": "::"}]"#) == .holds)
        #expect(try verdict(#"[{"port": 5432, "address": "127.0.0.1"}, {"port": 6379, "address": "::1"}]"#) == .clear)
        #expect(try verdict(#"[{"port": 3306, "address": "::ffff:127.0.0.1"}]"#) == .clear)
        #expect(try verdict(#"[{"port": 22, "address": "0.0.0.0"}, {"port": 443, "address": "::"}]"#) == .clear)
        #expect(try verdict("[]") == .clear)
    }

    @Test func shippedSettingsCheckHoldsWhileTheDeviceRunsOnItsLastGoodSettings() throws {
        let path = Self.repoRoot.appendingPathComponent("server/issues.yml").path
        let check = try #require(try CheckCatalog.load(path: path).check(named: "client-settings-refused"))
        let condition = try #require(Self.condition(check))
        let refused = #"{"plugins": {}, "settings_problem": "invalid settings in /r/client/settings.yml at line 3, column 1: unknown key"}"#
        #expect(condition.evaluate(try JSONValue.parse(Data(refused.utf8))) == .holds)
        #expect(condition.evaluate(try JSONValue.parse(Data(#"{"plugins": {}}"#.utf8))) == .clear)
    }
}
