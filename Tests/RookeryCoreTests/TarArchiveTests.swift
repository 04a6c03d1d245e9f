import Foundation
import RookeryCore
import Testing

// The reader is checked against archives made by the real GNU tar wherever tar can make the case;
// the rest are made by editing header bytes (with the checksum recomputed here, independently).

@Suite struct TarArchiveTests {
    // MARK: Writing and reading back

    /// 150 bytes: too long for the 100-byte name field, so it needs the prefix field.
    static let longDirectory = "client/" + String(repeating: "d", count: 80) + "/" + String(repeating: "e", count: 40)
    static let longPath = longDirectory + "/" + String(repeating: "f", count: 150 - longDirectory.utf8.count - 1)

    static let sampleMembers: [TarMember] = [
        TarMember(directory: "client"),
        TarMember(path: "client/run.sh", mode: 0o755, contents: Data("#!/bin/sh\necho hi\n".utf8)),
        TarMember(path: "client/empty", mode: 0o644, contents: Data()),
        TarMember(path: "client/block", mode: 0o600, contents: Data(repeating: 0xAB, count: 512)),
        TarMember(directory: longDirectory, mode: 0o750),
        TarMember(path: longPath, mode: 0o644, contents: Data((0..<1000).map { UInt8($0 % 251) }))
    ]

    @Test func roundTripKeepsPathsModesAndContents() throws {
        #expect(Self.longPath.utf8.count == 150)
        let entries = try TarArchive.entries(in: TarArchive.archive(Self.sampleMembers))
        #expect(entries.map(\.path) == Self.sampleMembers.map(\.path))
        #expect(entries.map(\.mode) == [0o755, 0o755, 0o644, 0o600, 0o750, 0o644])
        #expect(entries.map(\.isDirectory) == [true, false, false, false, true, false])
        #expect(entries.map(\.contents) == Self.sampleMembers.map(\.contents))
    }

    @Test func outputIsDeterministicUstar() throws {
        let bytes = try TarArchive.archive(Self.sampleMembers, modificationTime: 1_700_000_000)
        #expect(try TarArchive.archive(Self.sampleMembers, modificationTime: 1_700_000_000) == bytes)
        #expect(try TarArchive.archive(Self.sampleMembers, modificationTime: 1) != bytes)
        #expect(bytes.count % 512 == 0)
        #expect(bytes.suffix(1024).allSatisfy { $0 == 0 })

        let first = [UInt8](bytes.prefix(512))
        #expect(text(first, 0, 100) == "client/")
        #expect(first[156] == UInt8(ascii: "5"))
        #expect(Array(first[257..<265]) == Array("ustar\0".utf8) + Array("00".utf8))
        #expect(text(first, 265, 32) == "root" && text(first, 297, 32) == "root")
        #expect(Array(first[108..<124]) == Array("0000000\00000000\0".utf8))
        #expect(text(first, 136, 12) == String(1_700_000_000, radix: 8))
        // Checksum: six octal digits, NUL, space.
        #expect(first[154] == 0 && first[155] == UInt8(ascii: " "))
        #expect(Int(text(first, 148, 6), radix: 8) == headerChecksum(first))

        // The 150-byte path is split at a '/' between the prefix and name fields.
        let lastHeader = try headerOffsets(bytes).last!
        let header = [UInt8](bytes[lastHeader..<(lastHeader + 512)])
        #expect(text(header, 345, 155) + "/" + text(header, 0, 100) == Self.longPath)
        #expect(!text(header, 345, 155).isEmpty)
    }

    @Test func writerRefusesWhatCannotBeStoredOrIsUnsafe() throws {
        let refused: [TarMember] = [
            TarMember(path: String(repeating: "a/", count: 128), mode: 0o644, contents: Data()),  // 256 bytes, unsafe too
            TarMember(path: String(repeating: "x", count: 101), mode: 0o644, contents: Data()),  // no '/' to split at
            TarMember(path: "a/" + String(repeating: "x", count: 101), mode: 0o644, contents: Data()),
            TarMember(path: String(repeating: "p", count: 160) + "/name", mode: 0o644, contents: Data()),
            TarMember(path: "../escape", mode: 0o644, contents: Data()),
            TarMember(path: "/etc/passwd", mode: 0o644, contents: Data()),
            TarMember(path: "setuid", mode: 0o4755, contents: Data())
        ]
        for member in refused {
            #expect(throws: TarError.self, "\(member.path)") { try TarArchive.archive([member]) }
        }
        let twice = [TarMember(path: "a", mode: 0o644, contents: Data()), TarMember(path: "a", mode: 0o600, contents: Data())]
        #expect(throws: TarError.self) { try TarArchive.archive(twice) }
        #expect(throws: TarError.self) { try TarArchive.archive([], modificationTime: -1) }
        // 255 bytes that split (154-byte prefix, 100-byte name) is fine.
        let longest = String(repeating: "p", count: 154) + "/" + String(repeating: "n", count: 100)
        #expect(longest.utf8.count == 255)
        #expect(try TarArchive.entries(in: TarArchive.archive([TarMember(path: longest, mode: 0o644, contents: Data())])).first?.path == longest)
    }

    @Test func safeRelativePaths() {
        for good in ["a", "client/plugins/x.sh", "a.b/c..d/.hidden", "ünïcode/файл", String(repeating: "a", count: 255)] {
            #expect(TarArchive.isSafeRelativePath(good), "\(good)")
        }
        let bad = [
            "", "/abs", "a/../b", "..", ".", "./a", "a/.", "a//b", "a/", "a\\b", "a\0b", "tab\there",
            "new\nline", "esc\u{1b}[2J", "del\u{7f}", "c1\u{9b}", String(repeating: "a", count: 256)
        ]
        for path in bad {
            #expect(!TarArchive.isSafeRelativePath(path), "\(path.debugDescription)")
        }
    }

    // MARK: Interoperability with GNU tar

    @Test func gnuTarListsAndExtractsOurArchive() throws {
        try withScratchDirectory { dir in
            let archive = "\(dir)/ours.tar"
            try TarArchive.archive(Self.sampleMembers, modificationTime: 1_600_000_000).write(to: URL(fileURLWithPath: archive))

            let listing = try run("/bin/tar", ["-tvf", archive])
            let lines = listing.split(separator: "\n")
            #expect(lines.count == Self.sampleMembers.count)
            #expect(lines.allSatisfy { $0.contains("root/root") })
            #expect(lines[1].hasPrefix("-rwxr-xr-x") && lines[1].hasSuffix("client/run.sh"))
            #expect(lines[5].hasSuffix(Self.longPath))

            let out = "\(dir)/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
            _ = try run("/bin/tar", ["-xpf", archive, "-C", out])
            for member in Self.sampleMembers {
                let path = "\(out)/\(member.path)"
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o7777 } == member.mode, "\(member.path)")
                #expect((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 == 1_600_000_000)
                if member.isDirectory {
                    #expect(attributes[.type] as? FileAttributeType == .typeDirectory)
                } else {
                    #expect(FileManager.default.contents(atPath: path) == member.contents, "\(member.path)")
                }
            }
        }
    }

    @Test func readsArchivesMadeByGnuTar() throws {
        try withScratchDirectory { dir in
            let source = "\(dir)/src"
            try writeFile("\(source)/client/bin/tool", Data("tool\n".utf8), mode: 0o755)
            try writeFile("\(source)/client/etc/conf", Data(repeating: 7, count: 3000), mode: 0o640)
            try writeFile("\(source)/client/empty", Data(), mode: 0o644)
            try writeFile("\(source)/\(Self.longPath)", Data("deep\n".utf8), mode: 0o600)
            try chmod("\(source)/client/etc", 0o700)

            for format in ["ustar", "gnu"] {
                let archive = "\(dir)/\(format).tar"
                // GNU format writes long names as 'L' headers, which are refused (tested below).
                let roots = format == "gnu" ? ["client/bin", "client/etc", "client/empty"] : ["client"]
                _ = try run("/bin/tar", ["--format=\(format)", "-cf", archive, "-C", source] + roots)
                let entries = try TarArchive.entries(in: Data(contentsOf: URL(fileURLWithPath: archive)))
                let byPath = Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0) })

                #expect(byPath["client/bin"]?.isDirectory == true, "\(format)")
                #expect(byPath["client/etc"]?.mode == 0o700, "\(format)")
                #expect(byPath["client/bin/tool"]?.contents == Data("tool\n".utf8), "\(format)")
                #expect(byPath["client/bin/tool"]?.mode == 0o755, "\(format)")
                #expect(byPath["client/bin/tool"]?.isDirectory == false, "\(format)")
                #expect(byPath["client/etc/conf"]?.contents == Data(repeating: 7, count: 3000), "\(format)")
                #expect(byPath["client/etc/conf"]?.mode == 0o640, "\(format)")
                #expect(byPath["client/empty"]?.contents == Data(), "\(format)")
                if format == "ustar" {
                    #expect(byPath["client"]?.isDirectory == true)
                    #expect(byPath[Self.longPath]?.contents == Data("deep\n".utf8))
                    #expect(byPath[Self.longDirectory]?.isDirectory == true)
                    #expect(entries.count == 9)
                } else {
                    #expect(entries.count == 5)
                }
            }
        }
    }

    // MARK: Refusals, made by GNU tar

    @Test func refusesLinksDevicesAndExtensionHeadersMadeByGnuTar() throws {
        try withScratchDirectory { dir in
            let source = "\(dir)/src"
            try writeFile("\(source)/client/a", Data("a\n".utf8), mode: 0o644)
            try FileManager.default.createSymbolicLink(atPath: "\(source)/client/link", withDestinationPath: "/etc/shadow")
            try FileManager.default.linkItem(atPath: "\(source)/client/a", toPath: "\(source)/client/hard")
            #expect(mkfifo("\(source)/client/fifo", 0o644) == 0)
            try writeFile("\(source)/\(Self.longPath)", Data("deep\n".utf8), mode: 0o644)

            let cases: [(arguments: [String], refused: String, member: String)] = [
                (["--format=ustar", "client/link"], "symbolic link", "client/link"),
                (["--format=ustar", "client/a", "client/hard"], "hard link", "client/hard"),
                (["--format=ustar", "client/fifo"], "FIFO", "client/fifo"),
                (["--format=pax", "client/a"], "pax extended header", "PaxHeaders"),
                (["--format=gnu", Self.longPath], "GNU long name header", "LongLink"),
                (["-P", "--format=ustar", "client/../client/a"], "unsafe path", "client/../client/a"),
                (["-P", "--format=ustar", "\(source)/client/a"], "unsafe path", "\(source)/client/a")
            ]
            for (index, testCase) in cases.enumerated() {
                let archive = "\(dir)/case\(index).tar"
                _ = try run("/bin/tar", ["-cf", archive, "-C", source] + testCase.arguments)
                let error = try #require(throws: TarError.self) {
                    try TarArchive.entries(in: Data(contentsOf: URL(fileURLWithPath: archive)))
                }
                #expect(error.description.contains(testCase.refused), "\(error)")
                #expect(error.description.contains(testCase.member), "\(error)")
            }
        }
    }

    @Test func refusesDuplicatePathAppendedByGnuTar() throws {
        try withScratchDirectory { dir in
            let source = "\(dir)/src"
            try writeFile("\(source)/client/a", Data("first\n".utf8), mode: 0o644)
            let archive = "\(dir)/twice.tar"
            _ = try run("/bin/tar", ["--format=ustar", "-cf", archive, "-C", source, "client/a"])
            #expect(try TarArchive.entries(in: Data(contentsOf: URL(fileURLWithPath: archive))).count == 1)

            try writeFile("\(source)/client/a", Data("second, replacing the first on extraction\n".utf8), mode: 0o755)
            _ = try run("/bin/tar", ["--format=ustar", "-rf", archive, "-C", source, "client/a"])
            let error = try #require(throws: TarError.self) {
                try TarArchive.entries(in: Data(contentsOf: URL(fileURLWithPath: archive)))
            }
            #expect(error.description.contains("client/a") && error.description.contains("twice"), "\(error)")
        }
    }

    @Test func setuidSetgidAndStickyBitsAreMasked() throws {
        try withScratchDirectory { dir in
            let source = "\(dir)/src"
            try writeFile("\(source)/client/su", Data("x".utf8), mode: 0o644)
            try chmod("\(source)/client/su", 0o4755)
            try chmod("\(source)/client", 0o3775)
            let archive = "\(dir)/setuid.tar"
            _ = try run("/bin/tar", ["--format=ustar", "-cf", archive, "-C", source, "client"])
            let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
            // Make sure tar really stored the bits, so the test would see them if they leaked.
            #expect(text([UInt8](bytes.prefix(512)), 100, 8).hasSuffix("3775"))
            let modes = Dictionary(uniqueKeysWithValues: try TarArchive.entries(in: bytes).map { ($0.path, $0.mode) })
            #expect(modes == ["client": 0o775, "client/su": 0o755])
        }
        // Every bit set in the field, written by hand.
        var bytes = try TarArchive.archive([TarMember(path: "x", mode: 0o644, contents: Data())])
        patchHeader(&bytes, at: 0, offset: 100, Array("0007777\0".utf8))
        #expect(try TarArchive.entries(in: bytes).first?.mode == 0o777)
    }

    // MARK: Refusals, made by editing header bytes

    @Test func refusesCorruptedChecksum() throws {
        var bytes = try TarArchive.archive(Self.sampleMembers)
        let offset = try headerOffsets(bytes)[1]
        bytes[offset + 7] = UInt8(ascii: "X")  // "client/run.sh" becomes "client/Xun.sh"
        let error = try #require(throws: TarError.self) { try TarArchive.entries(in: bytes) }
        #expect(error.description.contains("checksum") && error.description.contains("client/Xun.sh"), "\(error)")

        // A checksum field that is not octal at all.
        var garbled = try TarArchive.archive(Self.sampleMembers)
        garbled.replaceSubrange(148..<156, with: Array("nonsense".utf8))
        #expect(throws: TarError.self) { try TarArchive.entries(in: garbled) }
    }

    @Test func refusesTruncatedArchives() throws {
        let member = TarMember(path: "client/big", mode: 0o644, contents: Data(repeating: 1, count: 2000))
        let bytes = try TarArchive.archive([member])
        for length in [512 + 1000, 512 + 2000, 300, 512 + 2048] {  // in data, data without padding, in header, no end block
            let error = try #require(throws: TarError.self, "\(length)") { try TarArchive.entries(in: bytes.prefix(length)) }
            #expect(error.description.contains("truncated") || error.description.contains("past the end"), "\(error)")
        }
        #expect(try TarArchive.entries(in: bytes.prefix(512 + 2048 + 512)).count == 1)  // one end block is enough
    }

    @Test func refusesNonOctalSizeAndModeFields() throws {
        let fields: [(offset: Int, value: String, problem: String)] = [
            (124, "0000000001x\0", "size"),
            (124, "\0\0\0\0\0\0\0\0\0\0\0\0", "size"),
            (124, "\u{80}\0\0\0\0\0\0\0\0\0\0\u{1}", "size"),  // GNU base-256 is not octal
            (124, "00000000 12\0", "size"),
            (100, "0000789\0", "mode"),
            (100, "-000644\0", "mode")
        ]
        for field in fields {
            var bytes = try TarArchive.archive([TarMember(path: "client/x", mode: 0o644, contents: Data("12345".utf8))])
            patchHeader(&bytes, at: 0, offset: field.offset, Array(field.value.unicodeScalars.map { UInt8($0.value) }))
            let error = try #require(throws: TarError.self, "\(field.value.debugDescription)") { try TarArchive.entries(in: bytes) }
            #expect(error.description.contains(field.problem) && error.description.contains("client/x"), "\(error)")
        }
        // Leading spaces and a trailing space (as old writers did) are still octal.
        var spaced = try TarArchive.archive([TarMember(path: "client/x", mode: 0o644, contents: Data("12345".utf8))])
        patchHeader(&spaced, at: 0, offset: 124, Array("         5 \0".utf8))
        #expect(try TarArchive.entries(in: spaced).first?.contents == Data("12345".utf8))
    }

    @Test func refusesUnsafeAndUndecodablePathsInHeaders() throws {
        let names: [[UInt8]] = [
            Array("client\\..\\x".utf8), Array("client/\u{1b}]0;pwned\u{7}".utf8), Array("./client".utf8),
            Array("client//x".utf8), Array("client/x/".utf8), [0x63, 0xFF, 0x2F, 0x78], Array("/".utf8)
        ]
        for name in names {
            var bytes = try TarArchive.archive([TarMember(path: "placeholder", mode: 0o644, contents: Data())])
            patchHeader(&bytes, at: 0, offset: 0, name + [UInt8](repeating: 0, count: 100 - name.count))
            let error = try #require(throws: TarError.self, "\(name)") { try TarArchive.entries(in: bytes) }
            #expect(error.description.contains("unsafe path"), "\(error)")
            #expect(!error.description.unicodeScalars.contains("\u{1b}"), "control characters must be escaped")
        }
        // '..' hidden in the prefix field.
        var bytes = try TarArchive.archive([TarMember(path: Self.longPath, mode: 0o644, contents: Data())])
        patchHeader(&bytes, at: 0, offset: 345, Array("..".utf8) + [0])
        #expect(throws: TarError.self) { try TarArchive.entries(in: bytes) }
    }

    @Test func directoriesLoseTheirSlashAndMayNotCarryData() throws {
        var bytes = try TarArchive.archive([TarMember(directory: "client/plugins", mode: 0o700)])
        #expect(text([UInt8](bytes.prefix(512)), 0, 100) == "client/plugins/")
        let entry = try #require(try TarArchive.entries(in: bytes).first)
        #expect(entry.path == "client/plugins" && entry.isDirectory && entry.mode == 0o700 && entry.contents.isEmpty)

        patchHeader(&bytes, at: 0, offset: 124, Array("00000000001\0".utf8))
        let error = try #require(throws: TarError.self) { try TarArchive.entries(in: bytes) }
        #expect(error.description.contains("directory"), "\(error)")
    }

    @Test func refusesUnknownMagicAndOtherTypes() throws {
        for (offset, value) in [(257, Array("ustax\0".utf8)), (156, Array("3".utf8)), (156, Array("7".utf8)), (156, Array("g".utf8))] {
            var bytes = try TarArchive.archive([TarMember(path: "x", mode: 0o644, contents: Data())])
            patchHeader(&bytes, at: 0, offset: offset, value)
            #expect(throws: TarError.self, "\(offset) \(value)") { try TarArchive.entries(in: bytes) }
        }
        // NUL as the type means a regular file in old archives.
        var bytes = try TarArchive.archive([TarMember(path: "x", mode: 0o644, contents: Data("x".utf8))])
        patchHeader(&bytes, at: 0, offset: 156, [0])
        #expect(try TarArchive.entries(in: bytes).first?.contents == Data("x".utf8))
    }

    @Test func enforcesMemberAndSizeLimits() throws {
        let members = (1...5).map { TarMember(path: "f\($0)", mode: 0o644, contents: Data(repeating: 1, count: 100)) }
        let bytes = try TarArchive.archive(members)
        #expect(try TarArchive.entries(in: bytes, maxMembers: 5, maxTotalBytes: 500).count == 5)
        let tooMany = try #require(throws: TarError.self) { try TarArchive.entries(in: bytes, maxMembers: 4) }
        #expect(tooMany.description.contains("f5") && tooMany.description.contains("more than 4"), "\(tooMany)")
        let tooBig = try #require(throws: TarError.self) { try TarArchive.entries(in: bytes, maxTotalBytes: 499) }
        #expect(tooBig.description.contains("f5") && tooBig.description.contains("499"), "\(tooBig)")
    }

    @Test func readsFromASliceAndStopsAtTheEndBlock() throws {
        let bytes = try TarArchive.archive(Self.sampleMembers)
        let padded = Data([1, 2, 3]) + bytes + Data("garbage after the end".utf8)
        let entries = try TarArchive.entries(in: padded.dropFirst(3))
        #expect(entries.map(\.contents) == Self.sampleMembers.map(\.contents))
        #expect(entries.last?.contents.first == 0)  // contents are indexed from 0
    }
}

@Suite struct GzipTests {
    @Test func roundTripOfRandomData() throws {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let compressed = try Gzip.compress(data)
        #expect(compressed.prefix(2) == Data([0x1F, 0x8B]))
        #expect(Array(compressed[4..<8]) == [0, 0, 0, 0])  // -n: no timestamp
        #expect(try Gzip.compress(data) == compressed)
        #expect(try Gzip.decompress(compressed, maxBytes: 1 << 20) == data)
        #expect(try Gzip.compress(Data()).count > 0)
        #expect(try Gzip.decompress(Gzip.compress(Data()), maxBytes: 0) == Data())
    }

    @Test func largeDataDoesNotDeadlock() throws {
        var data = Data(count: 16 << 20)  // zeros with a byte of noise every 512 bytes: fast to make and to compress
        for index in stride(from: 0, to: data.count, by: 512) { data[index] = UInt8(truncatingIfNeeded: index / 512 &* 7) }
        let compressed = try Gzip.compress(data)
        #expect(compressed.count > 1 << 16)  // both pipes see more than a pipe buffer
        #expect(try Gzip.decompress(compressed, maxBytes: 16 << 20) == data)
    }

    @Test func garbageAndTruncatedInputThrow() throws {
        let error = try #require(throws: TarError.self) { try Gzip.decompress(Data("this is not gzip".utf8), maxBytes: 1 << 20) }
        #expect(error.description.contains("not in gzip format"), "\(error)")
        let compressed = try Gzip.compress(Data(repeating: 9, count: 100_000))
        #expect(throws: TarError.self) { try Gzip.decompress(compressed.prefix(compressed.count / 2), maxBytes: 1 << 20) }
        // A large input that gzip refuses at once: feeding the rest must not kill us with SIGPIPE.
        #expect(throws: TarError.self) { try Gzip.decompress(Data(repeating: 0x42, count: 8 << 20), maxBytes: 1 << 20) }
    }

    @Test func decompressionBombIsCutOff() throws {
        let bomb = try Gzip.compress(Data(count: 10 << 20))
        #expect(bomb.count < 100_000)
        let error = try #require(throws: TarError.self) { try Gzip.decompress(bomb, maxBytes: 1 << 20) }
        #expect(error.description.contains("exceeds"), "\(error)")
        #expect(try Gzip.decompress(bomb, maxBytes: 10 << 20).count == 10 << 20)
    }

    @Test func readsTarballMadeByGnuTarAndGzip() throws {
        try withScratchDirectory { dir in
            try writeFile("\(dir)/src/client/run.sh", Data("#!/bin/sh\n".utf8), mode: 0o755)
            _ = try run("/bin/tar", ["--format=ustar", "-czf", "\(dir)/release.tar.gz", "-C", "\(dir)/src", "client"])
            let tarball = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/release.tar.gz"))
            let entries = try TarArchive.entries(in: Gzip.decompress(tarball, maxBytes: 1 << 20))
            #expect(entries.map(\.path) == ["client", "client/run.sh"])
            #expect(entries.last?.contents == Data("#!/bin/sh\n".utf8) && entries.last?.mode == 0o755)
        }
    }
}

// MARK: - Helpers

/// Runs `body` with a fresh directory made by mkdtemp under /tmp, and removes it afterwards.
private func withScratchDirectory(_ body: (String) throws -> Void) throws {
    var template = Array("/tmp/rookery-tar-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw TarTestError("mkdtemp failed") }
    let path = String(cString: made)
    defer { try? FileManager.default.removeItem(atPath: path) }
    try body(path)
}

private struct TarTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program and returns its stdout; throws with its stderr if it fails.
private func run(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let stdout = output.fileHandleForReading.readDataToEndOfFile()  // small: fits after stdout is drained
    let stderr = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw TarTestError("\(executable) \(arguments) failed: \(String(decoding: stderr, as: UTF8.self))")
    }
    return String(decoding: stdout, as: UTF8.self)
}

private func writeFile(_ path: String, _ contents: Data, mode: Int) throws {
    let directory = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try contents.write(to: URL(fileURLWithPath: path))
    try chmod(path, mode)
}

private func chmod(_ path: String, _ mode: Int) throws {
    guard Foundation.chmod(path, mode_t(mode)) == 0 else { throw TarTestError("chmod \(path) failed") }
}

/// A header text field up to its first NUL.
private func text(_ header: [UInt8], _ offset: Int, _ width: Int) -> String {
    String(decoding: header[offset..<(offset + width)].prefix { $0 != 0 }, as: UTF8.self)
}

/// The ustar checksum, computed here independently of the code under test.
private func headerChecksum(_ header: [UInt8]) -> Int {
    header.enumerated().reduce(0) { sum, item in sum + ((148..<156).contains(item.offset) ? 32 : Int(item.element)) }
}

/// Overwrites bytes of the header at `header` and stores a fresh valid checksum, so only the edit is wrong.
private func patchHeader(_ archive: inout Data, at header: Int, offset: Int, _ bytes: [UInt8]) {
    let start = archive.startIndex + header
    archive.replaceSubrange((start + offset)..<(start + offset + bytes.count), with: bytes)
    var block = [UInt8](archive[start..<(start + 512)])
    let digits = String(headerChecksum(block), radix: 8)
    block.replaceSubrange(148..<156, with: Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0, 32])
    archive.replaceSubrange(start..<(start + 512), with: block)
}

/// Offsets of every header in an archive we wrote (walking sizes, trusting the input).
private func headerOffsets(_ archive: Data) throws -> [Int] {
    let bytes = [UInt8](archive)
    var offsets: [Int] = []
    var offset = 0
    while offset + 512 <= bytes.count, bytes[offset..<(offset + 512)].contains(where: { $0 != 0 }) {
        offsets.append(offset)
        let size = try #require(Int(text(bytes, offset + 124, 12), radix: 8))
        offset += 512 + (size + 511) / 512 * 512
    }
    return offsets
}
