import Foundation
import RookeryCore
import Testing

/// The one mapping from an error's kind to its exit code, and the table of docs/operations.md
/// that admins and scripts read it from.
@Suite struct ErrorKindTests {
    @Test func eachKindHasItsOwnCodeButUsageAndSettingsShare64() {
        let codes = Dictionary(grouping: ErrorKind.allCases, by: \.exitCode)
        #expect(codes[64].map(Set.init) == [.usage, .settings])
        for (code, kinds) in codes where code != 64 {
            #expect(kinds.count == 1, "exit \(code) is given to \(kinds)")
        }
        #expect(!codes.keys.contains(0), "a failure never exits 0")
        // Kept from before the kinds: 1 failure, 3 server unreachable (the client's), 64 usage and settings.
        #expect(ErrorKind.failed.exitCode == 1 && ErrorKind.unreachable.exitCode == 3 && ErrorKind.settings.exitCode == 64)
    }

    /// Every kind is a row of the Exit codes table with its code, and every code there is a kind's.
    @Test func theDocumentedTableIsTheMapping() throws {
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let text = try String(contentsOfFile: checkout + "/docs/operations.md", encoding: .utf8)
        let section = try #require(text.components(separatedBy: "\n## Exit codes\n").dropFirst().first)
            .components(separatedBy: "\n## ")[0]
        let rows = section.split(separator: "\n").filter { $0.hasPrefix("| ") }.dropFirst(2).map {
            $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        var documented: [Int32: String] = [:]
        for row in rows { if let code = Int32(row[0]) { documented[code, default: ""] += row[1] } }
        for kind in ErrorKind.allCases {
            #expect(documented[kind.exitCode]?.contains("`\(kind.rawValue)`") == true, "\(kind) is not documented as exit \(kind.exitCode)")
        }
        let codes = Set(ErrorKind.allCases.map(\.exitCode))
        #expect(Set(documented.keys).subtracting([0]) == codes, "\(documented.keys.sorted())")
    }

    @Test func anErrorsKindIsItsOwnAndFailedWhenItHasNone() {
        struct Plain: Error {}
        #expect(ErrorKind(of: SettingsError("x")) == .settings)
        #expect(ErrorKind(of: DamagedFile("/x", "y")) == .io)
        #expect(ErrorKind(of: AtomicFile.posixError("rename")) == .io)
        #expect(ErrorKind(of: ProtocolError(.busy, "later")) == .unreachable)
        #expect(ErrorKind(of: CocoaError(.fileReadNoSuchFile)) == .io)
        #expect(ErrorKind(of: Plain()) == .failed)
    }

    @Test func theReportSaysErrorThenTheHintOnALineOfItsOwn() {
        #expect(ErrorReport.text(SettingsError("bad")) == "error: bad\n")
        let damaged = DamagedFile("/v/key", "3 bytes, not 32", hint: "remove it and a new key is made")
        #expect(ErrorReport.text(damaged) == "error: /v/key is damaged: 3 bytes, not 32\nhint: remove it and a new key is made\n")
    }
}
