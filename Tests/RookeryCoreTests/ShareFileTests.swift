import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@Suite struct ShareFileTests {
    let sandbox: Sandbox
    init() throws { sandbox = try Sandbox() }

    @Test func fileNamesCarryTheXInThreeDigits() {
        #expect(ShareFile.fileName(stem: "key", x: 1) == "key.001")
        #expect(ShareFile.fileName(stem: "key", x: 42) == "key.042")
        #expect(ShareFile.fileName(stem: "rookery.key", x: 255) == "rookery.key.255")
    }

    @Test func writtenSharesReadBack() throws {
        let share = SecretShare(x: 9, bytes: randomData(3000))
        let path = try ShareFile.write(share, directory: sandbox.path, stem: "key")
        #expect(path == sandbox.path + "/key.009")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == share.bytes)  // the bytes, nothing else
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        #expect(try ShareFile.read(path: path) == share)
    }

    @Test func theLargestShareFileIsRead() throws {
        let path = try write(randomData(ShareFile.maximumSize), to: "big.255")
        #expect(try ShareFile.read(path: path).bytes.count == ShareFile.maximumSize)
        #expect(try ShareFile.read(path: path).x == 255)
    }

    // MARK: Refusals

    @Test(arguments: ["key", "key.", "key.01", "key.1", "key.0001", "key.abc", "key.1a2", "key.-12", ".01", "001"])
    func readRefusesANameWithoutAShareNumber(_ name: String) throws {
        try expectBadName(write(Data("share".utf8), to: name), saying: "does not end in a dot and three digits")
    }

    @Test func readRefusesShareNumberZero() throws {
        try expectBadName(write(Data("share".utf8), to: "key.000"), saying: "share number 000 does not exist")
    }

    @Test(arguments: ["key.256", "key.999"])
    func readRefusesShareNumbersAbove255(_ name: String) throws {
        try expectBadName(write(Data("share".utf8), to: name), saying: "is more than 255")
    }

    @Test func readRefusesAnEmptyFile() throws {
        let path = try write(Data(), to: "key.001")
        #expect(throws: SecretSharingError.emptyShareFile(path: path)) { try ShareFile.read(path: path) }
    }

    @Test func readRefusesAFileLargerThanTheLimit() throws {
        let path = try write(Data(count: ShareFile.maximumSize + 1), to: "key.001")
        #expect(throws: SecretSharingError.shareFileTooLarge(path: path, limit: ShareFile.maximumSize)) {
            try ShareFile.read(path: path)
        }
    }

    @Test func readRefusesASymlink() throws {
        let target = try write(Data("share".utf8), to: "real.001")
        let link = sandbox.path + "/key.001"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(throws: SecretSharingError.notARegularFile(path: link, kind: "a symbolic link")) {
            try ShareFile.read(path: link)
        }
    }

    @Test func readRefusesADirectoryAndAFIFO() throws {
        let directory = try sandbox.directory("key.001")
        #expect(throws: SecretSharingError.notARegularFile(path: directory, kind: "a directory")) {
            try ShareFile.read(path: directory)
        }
        let fifo = sandbox.path + "/key.002"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: SecretSharingError.notARegularFile(path: fifo, kind: "a FIFO")) {
            try ShareFile.read(path: fifo)
        }
    }

    @Test func readSaysWhenTheFileIsMissing() throws {
        let path = sandbox.path + "/missing.001"
        #expect(throws: SecretSharingError.fileSystem(path: path, operation: "open", reason: "No such file or directory")) {
            try ShareFile.read(path: path)
        }
    }

    @Test func writeNeverOverwrites() throws {
        let first = SecretShare(x: 3, bytes: Data("first".utf8))
        let path = try ShareFile.write(first, directory: sandbox.path, stem: "key")
        #expect(throws: SecretSharingError.shareFileExists(path: path)) {
            try ShareFile.write(SecretShare(x: 3, bytes: Data("second".utf8)), directory: sandbox.path, stem: "key")
        }
        #expect(try ShareFile.read(path: path) == first)
        // Nor through a symlink, even one pointing nowhere.
        try FileManager.default.createSymbolicLink(atPath: sandbox.path + "/key.004", withDestinationPath: sandbox.path + "/elsewhere")
        #expect(throws: SecretSharingError.shareFileExists(path: sandbox.path + "/key.004")) {
            try ShareFile.write(SecretShare(x: 4, bytes: Data("second".utf8)), directory: sandbox.path, stem: "key")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/elsewhere"))
    }

    @Test func writeRefusesWhatCouldNotBeReadBack() throws {
        let share = SecretShare(x: 1, bytes: Data("share".utf8))
        for stem in ["", "a/b", "../up"] {
            #expect(throws: SecretSharingError.badShareFileStem(stem)) {
                try ShareFile.write(share, directory: sandbox.path, stem: stem)
            }
        }
        #expect(throws: SecretSharingError.zeroXCoordinate) {
            try ShareFile.write(SecretShare(x: 0, bytes: Data("share".utf8)), directory: sandbox.path, stem: "key")
        }
        #expect(throws: SecretSharingError.emptyShare(x: 2)) {
            try ShareFile.write(SecretShare(x: 2, bytes: Data()), directory: sandbox.path, stem: "key")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.path).isEmpty)
    }

    @Test func refusalsNameTheFile() {
        let path = "/keepers/alice/key.001"
        for error: SecretSharingError in [
            .badShareFileName(path: path, problem: "share number 000 does not exist"),
            .emptyShareFile(path: path), .shareFileTooLarge(path: path, limit: 1), .shareFileExists(path: path),
            .notARegularFile(path: path, kind: "a symbolic link"), .fileSystem(path: path, operation: "open", reason: "gone")
        ] {
            #expect(error.description.contains("share file \(path)"), "\(error)")
        }
    }

    // MARK: Helpers

    private func write(_ data: Data, to name: String) throws -> String {
        let path = sandbox.path + "/" + name
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    private func expectBadName(_ path: String, saying problem: String) {
        let error = #expect(throws: SecretSharingError.self) { try ShareFile.read(path: path) }
        guard case .badShareFileName(let named, let said)? = error else {
            Issue.record("expected a bad file name refusal, got \(String(describing: error))")
            return
        }
        #expect(named == path)
        #expect(said.contains(problem), "\(said)")
    }
}
