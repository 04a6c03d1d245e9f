import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// Command results arrive once and stay in the stored document under later ones, but only up to
/// a bound: a device that reports ever new command names must not grow its document forever.
@Suite struct SubmissionWriteTests {
    static func submission(commands: [String: JSONValue]) -> Submission {
        Submission(
            fingerprint: "F", submissionID: UUID().uuidString,
            document: .object(["plugins": .object([:]), "commands": .object(commands)]), receivedAt: Date())
    }

    static func storedCommands(_ write: SubmissionWrite) throws -> Set<String> {
        Set(try JSONValue.parse(write.documentText)["commands"]?.objectValue?.keys.map { $0 } ?? [])
    }

    @Test func earlierResultsAreKeptUpToTheirBound() throws {
        let big = JSONValue.string(String(repeating: "x", count: SubmissionWrite.keptCommandsBytes / 2))
        let first = try SubmissionWrite(Self.submission(commands: ["c1": big]), replacing: nil)
        let second = try SubmissionWrite(Self.submission(commands: ["c2": big]), replacing: first.documentText)
        #expect(try Self.storedCommands(second) == ["c1", "c2"])
        // c1 and c2 together are past the bound: only what comes now is kept.
        let third = try SubmissionWrite(Self.submission(commands: ["c3": .string("done")]), replacing: second.documentText)
        #expect(try Self.storedCommands(third) == ["c3"])
        let fourth = try SubmissionWrite(Self.submission(commands: ["c4": .string("done")]), replacing: third.documentText)
        #expect(try Self.storedCommands(fourth) == ["c3", "c4"])
    }
}
