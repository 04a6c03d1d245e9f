import FoundationEssentials
import Glibc
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// The client's logs (client.log, the shell's sessions.log) move aside past their size and keep
/// every line whole.
@Suite struct LogFileTests {
    func append(_ text: String, to file: LogFile) -> Int32? {
        var text = text
        return text.withUTF8 { file.append(UnsafeRawBufferPointer($0)) }
    }

    @Test func aLogPastItsSizeMovesToDotOneBeforeTheNextLine() throws {
        let sandbox = try Sandbox()
        let file = LogFile(path: sandbox.path + "/x.log", maxBytes: 10)
        #expect(append("first line\n", to: file) == nil)
        #expect(append("second\n", to: file) == nil)  // 11 bytes is past 10: moved first
        #expect(append("third\n", to: file) == nil)
        #expect(try String(contentsOfFile: file.path + ".1", encoding: .utf8) == "first line\n")
        #expect(try String(contentsOfFile: file.path, encoding: .utf8) == "second\nthird\n")
        var status = stat()
        #expect(stat(file.path, &status) == 0 && status.st_mode & 0o777 == 0o600)
    }

    @Test func aLogThatRefusesLinksDoesNotWriteThroughOne() throws {
        let sandbox = try Sandbox()
        try sandbox.write("", to: "target")
        let path = sandbox.path + "/x.log"
        #expect(symlink(sandbox.path + "/target", path) == 0)
        #expect(append("line\n", to: LogFile(path: path, maxBytes: 1 << 20, refusesLinks: true)) == ELOOP)
        #expect(try String(contentsOfFile: sandbox.path + "/target", encoding: .utf8) == "")
    }
}
