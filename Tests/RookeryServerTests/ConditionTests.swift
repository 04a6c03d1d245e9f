import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// The audit's check language: tests, missing values and three-valued combinators.
@Suite struct ConditionTests {
    /// A document from JSON text, so integers and fractions keep the types a plugin's output has.
    static func doc(_ json: String) throws -> JSONValue {
        try JSONValue.parse(Data(json.utf8))
    }

    static func path(_ text: String) -> DocumentPath {
        guard let path = DocumentPath(text) else {
            Issue.record("bad test path \(text)")
            return DocumentPath("")!
        }
        return path
    }

    static func test(_ path: String, _ test: Condition.Test) -> Condition {
        .test(path: Self.path(path), test)
    }

    /// A condition with a fixed answer, built from a real test on a tiny document
    /// (see `fixedDocument`): `holds`, `clear` or `unknown`.
    static func fixed(_ verdict: Verdict) -> Condition {
        switch verdict {
        case .holds: test("yes", .equals(.bool(true)))
        case .clear: test("no", .equals(.bool(true)))
        case .unknown: test("absent", .equals(.bool(true)))
        }
    }

    static let fixedDocument: JSONValue = .object(["yes": .bool(true), "no": .bool(false)])

    // MARK: - equals / not_equals

    @Test func equalsComparesValuesOfEveryType() throws {
        let d = try Self.doc(#"{"s": "yes", "b": false, "i": 3, "f": 2.5}"#)
        #expect(Self.test("s", .equals(.string("yes"))).evaluate(d) == .holds)
        #expect(Self.test("s", .equals(.string("no"))).evaluate(d) == .clear)
        #expect(Self.test("b", .equals(.bool(false))).evaluate(d) == .holds)
        #expect(Self.test("b", .equals(.bool(true))).evaluate(d) == .clear)
        #expect(Self.test("i", .equals(.integer(3))).evaluate(d) == .holds)
        #expect(Self.test("i", .equals(.integer(4))).evaluate(d) == .clear)
        #expect(Self.test("f", .equals(.number(2.5))).evaluate(d) == .holds)
        // A string that looks like the number is not the number.
        #expect(Self.test("i", .equals(.string("3"))).evaluate(d) == .clear)
    }

    @Test func integerAndFractionOfTheSameValueAreEqual() throws {
        let d = try Self.doc(#"{"one": 1, "onePointZero": 1.0, "t": true}"#)
        #expect(d["one"] == .integer(1))
        #expect(d["onePointZero"] == .number(1.0))
        #expect(Self.test("one", .equals(.number(1.0))).evaluate(d) == .holds)
        #expect(Self.test("onePointZero", .equals(.integer(1))).evaluate(d) == .holds)
        #expect(Self.test("one", .notEquals(.number(1.0))).evaluate(d) == .clear)
        #expect(Self.test("onePointZero", .isIn([.integer(7), .integer(1)])).evaluate(d) == .holds)
        #expect(Self.test("one", .notIn([.number(1.0)])).evaluate(d) == .clear)
        // true is not the number 1.
        #expect(Self.test("t", .equals(.integer(1))).evaluate(d) == .clear)
        #expect(Self.test("one", .equals(.bool(true))).evaluate(d) == .clear)
    }

    @Test func notEqualsIsTheOppositeOfEquals() throws {
        let d = try Self.doc(#"{"mode": "no", "n": 0}"#)
        #expect(Self.test("mode", .notEquals(.string("yes"))).evaluate(d) == .holds)
        #expect(Self.test("mode", .notEquals(.string("no"))).evaluate(d) == .clear)
        #expect(Self.test("n", .notEquals(.integer(1))).evaluate(d) == .holds)
        #expect(Self.test("n", .notEquals(.number(0.0))).evaluate(d) == .clear)
    }

    // MARK: - in / not_in

    @Test func inAndNotInTestMembership() throws {
        let d = try Self.doc(#"{"port": 3306, "name": "mysql"}"#)
        let ports: [JSONValue] = [.integer(22), .integer(3306), .integer(5432)]
        #expect(Self.test("port", .isIn(ports)).evaluate(d) == .holds)
        #expect(Self.test("port", .isIn([.integer(80)])).evaluate(d) == .clear)
        #expect(Self.test("port", .isIn([])).evaluate(d) == .clear)
        #expect(Self.test("port", .notIn(ports)).evaluate(d) == .clear)
        #expect(Self.test("port", .notIn([.integer(80), .integer(443)])).evaluate(d) == .holds)
        #expect(Self.test("name", .isIn([.string("postgres"), .string("mysql")])).evaluate(d) == .holds)
        #expect(Self.test("name", .notIn([.string("postgres")])).evaluate(d) == .holds)
    }

    // MARK: - exists

    @Test func existsTrueAndFalse() throws {
        let d = try Self.doc(#"{"present": "x", "zero": 0, "f": false, "empty": "", "nothing": null, "u": "unknown"}"#)
        for present in ["present", "zero", "f", "empty"] {
            #expect(Self.test(present, .exists(true)).evaluate(d) == .holds, "\(present)")
            #expect(Self.test(present, .exists(false)).evaluate(d) == .clear, "\(present)")
        }
        // Absent, null and "unknown" all count as not there, and exists answers that for sure.
        for missing in ["absent", "nothing", "u"] {
            #expect(Self.test(missing, .exists(true)).evaluate(d) == .clear, "\(missing)")
            #expect(Self.test(missing, .exists(false)).evaluate(d) == .holds, "\(missing)")
        }
    }

    // MARK: - less_than / greater_than

    @Test func lessThanAndGreaterThanAreStrict() throws {
        let d = try Self.doc(#"{"i": 5, "f": 0.5, "neg": -2}"#)
        #expect(Self.test("i", .lessThan(6)).evaluate(d) == .holds)
        #expect(Self.test("i", .lessThan(5)).evaluate(d) == .clear)
        #expect(Self.test("i", .greaterThan(4)).evaluate(d) == .holds)
        #expect(Self.test("i", .greaterThan(5)).evaluate(d) == .clear)
        #expect(Self.test("f", .lessThan(1)).evaluate(d) == .holds)
        #expect(Self.test("f", .greaterThan(0.25)).evaluate(d) == .holds)
        #expect(Self.test("f", .greaterThan(0.5)).evaluate(d) == .clear)
        #expect(Self.test("neg", .lessThan(0)).evaluate(d) == .holds)
        #expect(Self.test("neg", .greaterThan(-3)).evaluate(d) == .holds)
    }

    @Test func comparingSomethingThatIsNotANumberCannotTell() throws {
        let d = try Self.doc(#"{"s": "5", "b": true, "a": [1], "o": {}}"#)
        for path in ["s", "b", "a", "o"] {
            #expect(Self.test(path, .lessThan(10)).evaluate(d) == .unknown, "\(path)")
            #expect(Self.test(path, .greaterThan(0)).evaluate(d) == .unknown, "\(path)")
        }
    }

    // MARK: - regex

    @Test func regexSearchesTheString() throws {
        let d = try Self.doc(#"{"kernel": "6.8.0-45-generic", "addr": "127.0.0.1", "wild": "0.0.0.0", "n": 5}"#)
        #expect(Self.test("kernel", .matches(try Pattern("generic$"))).evaluate(d) == .holds)
        #expect(Self.test("kernel", .matches(try Pattern("^5\\."))).evaluate(d) == .clear)
        // Unanchored patterns match anywhere (a search, not a full match).
        #expect(Self.test("kernel", .matches(try Pattern("45"))).evaluate(d) == .holds)
        // The shipped loopback test uses a negative lookahead.
        let notLoopback = try Pattern(#"^(?!127\.|::1$|::ffff:127\.)"#)
        #expect(Self.test("addr", .matches(notLoopback)).evaluate(d) == .clear)
        #expect(Self.test("wild", .matches(notLoopback)).evaluate(d) == .holds)
        // A number is not text.
        #expect(Self.test("n", .matches(try Pattern("5"))).evaluate(d) == .unknown)
    }

    @Test func patternRefusesWhatDoesNotCompileAndComparesBySource() throws {
        #expect(throws: (any Error).self) { try Pattern("(unclosed") }
        #expect(throws: (any Error).self) { try Pattern("[a-") }
        #expect(try Pattern("a+") == Pattern("a+"))
        #expect(try Pattern("a+") != Pattern("a*"))
    }

    // MARK: - Missing values

    static let missingDocument: JSONValue = .object([
        "nothing": .null, "u": .string("unknown"), "deep": .object(["u": .string("unknown")])
    ])

    /// Every test except exists answers unknown on absent, null and "unknown" values.
    @Test(arguments: ["absent", "nothing", "u", "deep.u", "deep.absent", "absent.child"])
    func testsOnMissingValuesAreUnknown(_ path: String) throws {
        let tests: [Condition.Test] = [
            .equals(.string("x")), .equals(.bool(false)), .equals(.null), .notEquals(.string("x")),
            .notEquals(.string("unknown")), .isIn([.string("x"), .integer(1)]), .notIn([.string("x")]),
            .notIn([.string("unknown")]), .lessThan(1), .greaterThan(1), .matches(try Pattern(".*"))
        ]
        for test in tests {
            #expect(Self.test(path, test).evaluate(Self.missingDocument) == .unknown, "\(path) \(test)")
        }
    }

    @Test func equalsAndInNamingUnknownMatchTheStringUnknown() throws {
        let d = Self.missingDocument
        #expect(Self.test("u", .equals(.string("unknown"))).evaluate(d) == .holds)
        #expect(Self.test("deep.u", .equals(.string("unknown"))).evaluate(d) == .holds)
        #expect(Self.test("u", .isIn([.string("ok"), .string("unknown")])).evaluate(d) == .holds)
        // A real value is not "unknown".
        let known = try Self.doc(#"{"state": "ok"}"#)
        #expect(Self.test("state", .equals(.string("unknown"))).evaluate(known) == .clear)
        #expect(Self.test("state", .isIn([.string("unknown")])).evaluate(known) == .clear)
        // Absent and null are not the string "unknown": still undecided.
        #expect(Self.test("absent", .equals(.string("unknown"))).evaluate(d) == .unknown)
        #expect(Self.test("nothing", .equals(.string("unknown"))).evaluate(d) == .unknown)
        #expect(Self.test("nothing", .isIn([.string("unknown")])).evaluate(d) == .unknown)
        // Naming "unknown" in a list without it does not make it match.
        #expect(Self.test("u", .isIn([.string("ok")])).evaluate(d) == .unknown)
    }

    @Test func aNilDocumentIsMissingEverywhere() {
        let nothing: JSONValue? = nil
        #expect(Self.test("a.b", .equals(.integer(1))).evaluate(nothing) == .unknown)
        #expect(Self.test("a.b", .exists(false)).evaluate(nothing) == .holds)
        #expect(Condition.anyItem(path: Self.path("list"), Self.test("", .exists(true))).evaluate(nothing) == .unknown)
    }

    /// A store hands over only the values at the condition's paths; they answer as the document would.
    @Test func aProjectionAnswersLikeTheDocument() throws {
        let d = try Self.doc(
            #"{"plugins": {"sshd": {"running": true, "password_authentication": "unknown"}, "ports": [{"port": 3306, "address": "0.0.0.0"}]}}"#)
        let conditions: [Condition] = [
            Self.test("plugins.sshd.running", .equals(.bool(true))),
            Self.test("plugins.sshd.password_authentication", .equals(.bool(true))),
            Self.test("plugins.sshd.absent", .exists(false)),
            Self.ports,
            .all([Self.test("plugins.sshd.running", .equals(.bool(true))), Self.ports])
        ]
        let expected: [Verdict] = [.holds, .unknown, .holds, .holds, .holds]
        for (condition, verdict) in zip(conditions, expected) {
            var projection = Projection()
            for path in condition.paths {
                if let value = path.lookup(in: d) { projection.values[path] = value }
            }
            #expect(condition.evaluate(d) == verdict)
            #expect(condition.evaluate(projection) == verdict)
        }
        // An empty projection knows nothing.
        #expect(Self.test("plugins.sshd.running", .equals(.bool(true))).evaluate(Projection()) == .unknown)
    }

    @Test func matchingItemsAreTheItemsThatMakeAnyItemHold() throws {
        let d = try Self.doc(
            #"{"plugins": {"ports": [{"port": 3306, "address": "0.0.0.0"}, {"port": 22, "address": "0.0.0.0"}, {"port": 5432, "address": "::"}, {"port": 6379, "address": "127.0.0.1"}]}}"#
        )
        #expect(
            Self.ports.matchingItems(in: d) == [
                .object(["port": .integer(3306), "address": .string("0.0.0.0")]),
                .object(["port": .integer(5432), "address": .string("::")])
            ])
        #expect(Self.test("plugins.ports", .exists(true)).matchingItems(in: d) == [])
    }

    // MARK: - all / any / none

    @Test func fixedConditionsGiveTheirVerdicts() {
        for verdict in [Verdict.holds, .clear, .unknown] {
            #expect(Self.fixed(verdict).evaluate(Self.fixedDocument) == verdict)
        }
    }

    static let verdicts: [Verdict] = [.holds, .clear, .unknown]

    /// Kleene's strong three-valued AND, OR and NOT(OR).
    static func kleeneAnd(_ a: Verdict, _ b: Verdict) -> Verdict {
        if a == .clear || b == .clear { return .clear }
        return a == .unknown || b == .unknown ? .unknown : .holds
    }

    static func kleeneOr(_ a: Verdict, _ b: Verdict) -> Verdict {
        if a == .holds || b == .holds { return .holds }
        return a == .unknown || b == .unknown ? .unknown : .clear
    }

    static func not(_ v: Verdict) -> Verdict {
        switch v {
        case .holds: .clear
        case .clear: .holds
        case .unknown: .unknown
        }
    }

    @Test func allAnyNoneTruthTablesOfTwo() {
        let table: [(Verdict, Verdict, all: Verdict, any: Verdict, none: Verdict)] = [
            (.holds, .holds, .holds, .holds, .clear),
            (.holds, .clear, .clear, .holds, .clear),
            (.holds, .unknown, .unknown, .holds, .clear),
            (.clear, .holds, .clear, .holds, .clear),
            (.clear, .clear, .clear, .clear, .holds),
            (.clear, .unknown, .clear, .unknown, .unknown),
            (.unknown, .holds, .unknown, .holds, .clear),
            (.unknown, .clear, .clear, .unknown, .unknown),
            (.unknown, .unknown, .unknown, .unknown, .unknown)
        ]
        #expect(table.count == 9)
        for row in table {
            let parts = [Self.fixed(row.0), Self.fixed(row.1)]
            let d = Self.fixedDocument
            #expect(Condition.all(parts).evaluate(d) == row.all, "all(\(row.0), \(row.1))")
            #expect(Condition.any(parts).evaluate(d) == row.any, "any(\(row.0), \(row.1))")
            #expect(Condition.none(parts).evaluate(d) == row.none, "none(\(row.0), \(row.1))")
        }
    }

    @Test func combinatorsOfThreeFollowKleeneLogic() {
        let d = Self.fixedDocument
        for a in Self.verdicts {
            for b in Self.verdicts {
                for c in Self.verdicts {
                    let parts = [Self.fixed(a), Self.fixed(b), Self.fixed(c)]
                    let and = Self.kleeneAnd(Self.kleeneAnd(a, b), c)
                    let or = Self.kleeneOr(Self.kleeneOr(a, b), c)
                    #expect(Condition.all(parts).evaluate(d) == and, "all(\(a), \(b), \(c))")
                    #expect(Condition.any(parts).evaluate(d) == or, "any(\(a), \(b), \(c))")
                    #expect(Condition.none(parts).evaluate(d) == Self.not(or), "none(\(a), \(b), \(c))")
                }
            }
        }
    }

    @Test func singlePartCombinatorsAndNesting() {
        let d = Self.fixedDocument
        for v in Self.verdicts {
            #expect(Condition.all([Self.fixed(v)]).evaluate(d) == v)
            #expect(Condition.any([Self.fixed(v)]).evaluate(d) == v)
            #expect(Condition.none([Self.fixed(v)]).evaluate(d) == Self.not(v))
        }
        // none(none(x)) is x; all(any(holds, unknown), none(clear)) holds.
        #expect(Condition.none([.none([Self.fixed(.holds)])]).evaluate(d) == .holds)
        #expect(
            Condition.all([.any([Self.fixed(.holds), Self.fixed(.unknown)]), .none([Self.fixed(.clear)])])
                .evaluate(d) == .holds)
        #expect(
            Condition.any([.all([Self.fixed(.holds), Self.fixed(.unknown)]), Self.fixed(.clear)])
                .evaluate(d) == .unknown)
    }

    @Test func sshdPasswordCheckOnRealisticDocuments() throws {
        let check = Condition.all([
            Self.test("plugins.sshd.running", .equals(.bool(true))),
            Self.test("plugins.sshd.password_authentication", .equals(.bool(true)))
        ])
        let bad = try Self.doc(#"{"plugins": {"sshd": {"running": true, "password_authentication": true}}}"#)
        let good = try Self.doc(#"{"plugins": {"sshd": {"running": true, "password_authentication": false}}}"#)
        let stopped = try Self.doc(#"{"plugins": {"sshd": {"running": false, "password_authentication": "unknown"}}}"#)
        let cannotTell = try Self.doc(#"{"plugins": {"sshd": {"running": true, "password_authentication": "unknown"}}}"#)
        let noPlugin = try Self.doc(#"{"plugins": {}}"#)
        #expect(check.evaluate(bad) == .holds)
        #expect(check.evaluate(good) == .clear)
        // A stopped sshd clears the check even though the setting is unknown.
        #expect(check.evaluate(stopped) == .clear)
        #expect(check.evaluate(cannotTell) == .unknown)
        #expect(check.evaluate(noPlugin) == .unknown)
    }

    // MARK: - any_item

    static let ports = Condition.anyItem(
        path: path("plugins.ports"),
        .all([
            test("port", .isIn([.integer(3306), .integer(5432)])),
            test("address", .matches(try! Pattern(#"^(?!127\.)"#)))
        ]))

    @Test func anyItemOverAnArray() throws {
        let open = try Self.doc(#"{"plugins": {"ports": [{"port": 22, "address": "0.0.0.0"}, {"port": 3306, "address": "0.0.0.0"}]}}"#)
        let local = try Self.doc(#"{"plugins": {"ports": [{"port": 22, "address": "0.0.0.0"}, {"port": 3306, "address": "127.0.0.1"}]}}"#)
        let none = try Self.doc(#"{"plugins": {"ports": []}}"#)
        let unsure = try Self.doc(#"{"plugins": {"ports": [{"port": 22, "address": "0.0.0.0"}, {"port": 5432, "address": "unknown"}]}}"#)
        let unsureButOpen = try Self.doc(#"{"plugins": {"ports": [{"port": 5432}, {"port": 3306, "address": "::"}]}}"#)
        #expect(Self.ports.evaluate(open) == .holds)
        #expect(Self.ports.evaluate(local) == .clear)
        #expect(Self.ports.evaluate(none) == .clear)
        #expect(Self.ports.evaluate(unsure) == .unknown)
        #expect(Self.ports.evaluate(unsureButOpen) == .holds)
    }

    @Test func anyItemOverObjectValues() throws {
        let disks = Condition.anyItem(path: Self.path("plugins.disks"), Self.test("encrypted", .equals(.bool(false))))
        let oneBare = try Self.doc(#"{"plugins": {"disks": {"sda": {"encrypted": true}, "sdb": {"encrypted": false}}}}"#)
        let allEncrypted = try Self.doc(#"{"plugins": {"disks": {"sda": {"encrypted": true}, "nvme0n1": {"encrypted": true}}}}"#)
        let oneUnknown = try Self.doc(#"{"plugins": {"disks": {"sda": {"encrypted": true}, "sdb": {"encrypted": null}}}}"#)
        #expect(disks.evaluate(oneBare) == .holds)
        #expect(disks.evaluate(allEncrypted) == .clear)
        #expect(disks.evaluate(oneUnknown) == .unknown)
        #expect(disks.evaluate(try Self.doc(#"{"plugins": {"disks": {}}}"#)) == .clear)
    }

    @Test func anyItemWithTheEmptyPathTestsTheItemItself() throws {
        let d = try Self.doc(#"{"users": ["alice", "root", "bob"], "nums": [1, 2.5, 9]}"#)
        #expect(Condition.anyItem(path: Self.path("users"), Self.test("", .equals(.string("root")))).evaluate(d) == .holds)
        #expect(Condition.anyItem(path: Self.path("users"), Self.test("", .equals(.string("eve")))).evaluate(d) == .clear)
        #expect(Condition.anyItem(path: Self.path("nums"), Self.test("", .greaterThan(5))).evaluate(d) == .holds)
        #expect(Condition.anyItem(path: Self.path("nums"), Self.test("", .greaterThan(10))).evaluate(d) == .clear)
    }

    @Test func anyItemOnSomethingThatIsNotAListIsUnknown() throws {
        let d = try Self.doc(#"{"s": "text", "n": 3, "nothing": null, "u": "unknown"}"#)
        for path in ["s", "n", "nothing", "u", "absent"] {
            #expect(Condition.anyItem(path: Self.path(path), Self.test("", .exists(true))).evaluate(d) == .unknown, "\(path)")
        }
    }

    // MARK: - Paths

    @Test func nestedPathsReachDeepValues() throws {
        let d = try Self.doc(#"{"plugins": {"hd_encryption": {"volumes": {"root-fs": {"luks_version": 2}}}}}"#)
        #expect(Self.test("plugins.hd_encryption.volumes.root-fs.luks_version", .equals(.integer(2))).evaluate(d) == .holds)
        #expect(Self.test("plugins.hd_encryption.volumes.root-fs.luks_version", .lessThan(2)).evaluate(d) == .clear)
        // Walking through something that is not an object finds nothing.
        #expect(Self.test("plugins.hd_encryption.volumes.root-fs.luks_version.x", .exists(true)).evaluate(d) == .clear)
        #expect(Self.test("plugins.hd_encryption.volumes.swap.luks_version", .equals(.integer(2))).evaluate(d) == .unknown)
    }

    @Test func documentPathAcceptsDottedNames() throws {
        let path = try #require(DocumentPath("plugins.sshd.password_authentication"))
        #expect(path.components == ["plugins", "sshd", "password_authentication"])
        #expect(path.description == "plugins.sshd.password_authentication")
        #expect(DocumentPath("root-fs.A_9")?.components == ["root-fs", "A_9"])
        #expect(DocumentPath("x")?.components == ["x"])
        #expect(DocumentPath("")?.components == [])
    }

    @Test(arguments: ["a..b", "a.b c", "$x", ".a", "a.", ".", "a/b", "a[0]", "é", "a.b\n", "plugins.*"])
    func documentPathRejectsBadComponents(_ text: String) {
        #expect(DocumentPath(text) == nil, "\(text)")
    }

    @Test func conditionPathsListTopLevelPathsOnly() {
        let c = Condition.all([
            Self.test("a.b", .exists(true)),
            .any([Self.test("c", .equals(.integer(1))), .none([Self.test("d.e", .lessThan(1))])]),
            Self.ports
        ])
        #expect(c.paths.map(\.description) == ["a.b", "c", "d.e", "plugins.ports"])
    }
}
