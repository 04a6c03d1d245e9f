import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

// Release tarballs: a small USTAR (POSIX.1-1988 "tar") writer and a paranoid reader.
//
// The reader parses bytes a device downloaded and will unpack as root, so it accepts only what a
// release needs (regular files and directories with safe relative paths) and refuses everything
// else by name instead of skipping it: links, devices, FIFOs, pax and GNU extension headers.
// Compression is separate (see `Gzip` at the end of this file).

/// One member to put into an archive.
public struct TarMember: Sendable {
    public let path: String  // relative, '/'-separated, e.g. "client/plugins/x.sh"
    public let mode: Int  // permission bits only, e.g. 0o755
    public let contents: Data  // empty for directories
    public let isDirectory: Bool

    /// A regular file.
    public init(path: String, mode: Int, contents: Data) {
        self.path = path
        self.mode = mode
        self.contents = contents
        self.isDirectory = false
    }

    /// A directory.
    public init(directory path: String, mode: Int = 0o755) {
        self.path = path
        self.mode = mode
        self.contents = Data()
        self.isDirectory = true
    }
}

/// A member read back from an archive.
public struct TarEntry: Sendable {
    public let path: String  // without a trailing '/', even for directories
    public let mode: Int  // permission bits only (masked to 0o777)
    public let isDirectory: Bool
    public let contents: Data  // empty for directories; a slice of the archive (indices are the archive's)
}

public struct TarError: KindedError {
    public let description: String
    /// An archive that cannot be written, or read back whole.
    public var kind: ErrorKind { .io }
    init(_ description: String) { self.description = description }
}

public enum TarArchive {
    // MARK: - Header layout (POSIX ustar)

    /// Every header and every data record is one 512-byte block.
    static let blockSize = 512

    /// Where each header field lives: byte offset and width.
    enum Field {
        static let name = (offset: 0, width: 100)
        static let mode = (offset: 100, width: 8)
        static let uid = (offset: 108, width: 8)
        static let gid = (offset: 116, width: 8)
        static let size = (offset: 124, width: 12)
        static let mtime = (offset: 136, width: 12)
        static let checksum = (offset: 148, width: 8)
        static let typeflag = (offset: 156, width: 1)
        static let linkname = (offset: 157, width: 100)
        static let magic = (offset: 257, width: 6)
        static let version = (offset: 263, width: 2)
        static let uname = (offset: 265, width: 32)
        static let gname = (offset: 297, width: 32)
        static let devmajor = (offset: 329, width: 8)
        static let devminor = (offset: 337, width: 8)
        static let prefix = (offset: 345, width: 155)
    }

    static let regularType = UInt8(ascii: "0")
    static let oldRegularType = UInt8(0)  // pre-POSIX writers used NUL for regular files
    static let directoryType = UInt8(ascii: "5")

    /// POSIX magic and version: "ustar\0" "00".
    static let posixMagic: [UInt8] = Array("ustar\0".utf8) + Array("00".utf8)
    /// GNU tar's older format: "ustar " " \0". It has no prefix field (those bytes mean other things).
    static let gnuMagic: [UInt8] = Array("ustar  \0".utf8)

    // MARK: - Writing

    /// The uncompressed ustar bytes: members in the given order, each header 512 bytes with a valid
    /// checksum, "ustar\000" magic, uid/gid 0, uname/gname "root", mtime = `modificationTime`
    /// (so the same input gives the same bytes), contents padded to 512, two zero blocks at the end.
    /// Paths longer than 100 bytes use the ustar prefix field (split at a '/'); a path that cannot
    /// be stored (over 255 bytes, or no split fits) throws. Paths are validated with `isSafeRelativePath`.
    public static func archive(_ members: [TarMember], modificationTime: Int = 0) throws -> Data {
        // The writer refuses whatever the reader would refuse, so our own tarballs always read back.
        guard modificationTime >= 0, modificationTime < maxOctal(digits: 11) else {
            throw TarError("tar: modification time \(modificationTime) does not fit a ustar header")
        }
        var output = Data()
        var seen = Set<String>()
        for member in members {
            guard seen.insert(member.path).inserted else {
                throw TarError("tar: \(quoted(member.path)) appears twice")
            }
            output.append(contentsOf: try header(for: member, modificationTime: modificationTime))
            output.append(member.contents)
            output.append(contentsOf: [UInt8](repeating: 0, count: paddingAfter(member.contents.count)))
        }
        // The end of an archive is marked by two all-zero blocks.
        output.append(contentsOf: [UInt8](repeating: 0, count: 2 * blockSize))
        return output
    }

    /// The 512-byte header block for one member.
    static func header(for member: TarMember, modificationTime: Int) throws -> [UInt8] {
        guard isSafeRelativePath(member.path) else {
            throw TarError("tar: unsafe path \(quoted(member.path))")
        }
        guard (0...0o777).contains(member.mode) else {
            throw TarError("tar: \(quoted(member.path)): mode \(String(member.mode, radix: 8)) is not permission bits")
        }
        guard !member.isDirectory || member.contents.isEmpty else {
            throw TarError("tar: directory \(quoted(member.path)) has contents")
        }
        guard member.contents.count < maxOctal(digits: 11) else {
            throw TarError("tar: \(quoted(member.path)) is too large for a ustar header")
        }
        // Directories are conventionally stored with a trailing '/'.
        let storedPath = member.isDirectory ? member.path + "/" : member.path
        guard let (prefix, name) = splitForHeader(Array(storedPath.utf8)) else {
            throw TarError("tar: path \(quoted(member.path)) cannot be stored in a ustar header")
        }

        var block = [UInt8](repeating: 0, count: blockSize)
        put(name, in: &block, at: Field.name)
        put(octal(member.mode, width: Field.mode.width), in: &block, at: Field.mode)
        put(octal(0, width: Field.uid.width), in: &block, at: Field.uid)
        put(octal(0, width: Field.gid.width), in: &block, at: Field.gid)
        put(octal(member.contents.count, width: Field.size.width), in: &block, at: Field.size)
        put(octal(modificationTime, width: Field.mtime.width), in: &block, at: Field.mtime)
        block[Field.typeflag.offset] = member.isDirectory ? directoryType : regularType
        put(posixMagic, in: &block, at: (Field.magic.offset, Field.magic.width + Field.version.width))
        put(Array("root".utf8), in: &block, at: Field.uname)
        put(Array("root".utf8), in: &block, at: Field.gname)
        put(octal(0, width: Field.devmajor.width), in: &block, at: Field.devmajor)
        put(octal(0, width: Field.devminor.width), in: &block, at: Field.devminor)
        put(prefix, in: &block, at: Field.prefix)

        // The checksum field holds six octal digits, NUL, space.
        let sum = checksum(of: block)
        put(Array(octalDigits(sum, count: 6).utf8) + [0, UInt8(ascii: " ")], in: &block, at: Field.checksum)
        return block
    }

    /// Splits a path into the ustar prefix (up to 155 bytes) and name (up to 100 bytes). The split
    /// must be at a '/', which is dropped; a reader joins the two with '/'. Prefers the longest name.
    static func splitForHeader(_ path: [UInt8]) -> (prefix: [UInt8], name: [UInt8])? {
        if path.count <= Field.name.width { return ([], path) }
        let slash = UInt8(ascii: "/")
        for index in path.indices where path[index] == slash {
            let prefix = Array(path[..<index])
            let name = Array(path[(index + 1)...])
            if prefix.count <= Field.prefix.width, name.count <= Field.name.width, !name.isEmpty, !prefix.isEmpty {
                return (prefix, name)
            }
        }
        return nil
    }

    /// Copies `bytes` into a header field; the rest of the field stays NUL.
    static func put(_ bytes: [UInt8], in block: inout [UInt8], at field: (offset: Int, width: Int)) {
        precondition(bytes.count <= field.width, "tar header field overflow")
        block.replaceSubrange(field.offset..<(field.offset + bytes.count), with: bytes)
    }

    /// A numeric field: zero-padded octal digits filling all but the last byte, which is NUL.
    static func octal(_ value: Int, width: Int) -> [UInt8] {
        Array(octalDigits(value, count: width - 1).utf8) + [0]
    }

    static func octalDigits(_ value: Int, count: Int) -> String {
        let digits = String(value, radix: 8)
        return String(repeating: "0", count: max(0, count - digits.count)) + digits
    }

    /// The largest value + 1 that `digits` octal digits can hold.
    static func maxOctal(digits: Int) -> Int { 1 << (3 * digits) }

    /// Sum of all header bytes, counting the checksum field itself as eight spaces.
    static func checksum(of block: [UInt8]) -> Int {
        let field = Field.checksum.offset..<(Field.checksum.offset + Field.checksum.width)
        var sum = 0
        for (index, byte) in block.enumerated() {
            sum += field.contains(index) ? Int(UInt8(ascii: " ")) : Int(byte)
        }
        return sum
    }

    static func paddingAfter(_ size: Int) -> Int {
        (blockSize - size % blockSize) % blockSize
    }

    // MARK: - Reading

    /// Parses ustar bytes and returns every member, in order. Refuses (throws TarError with a message
    /// naming the member) anything that is not a regular file ('0' or NUL typeflag) or a directory
    /// ('5'): symlinks, hard links, devices, FIFOs, pax ('x','g') and GNU ('L','K') headers; a bad
    /// header checksum; a size or mode field that is not octal; a member whose data runs past the
    /// end; an unsafe path (see below); a path that appears twice; more than `maxMembers` members;
    /// and total contents over `maxTotalBytes`. Stops at the first all-zero header block. Mode is
    /// masked to 0o777 (setuid/setgid/sticky dropped). A trailing '/' on directory names is removed.
    public static func entries(in archive: Data, maxMembers: Int = 10_000, maxTotalBytes: Int = 1 << 30) throws -> [TarEntry] {
        // Indexed from 0, so a caller's Data slice cannot shift our offsets; a whole Data is not
        // copied (a release is about 100 MB unpacked, and devices should not hold it three times).
        let bytes = archive.startIndex == 0 ? archive : Data(archive)
        var entries: [TarEntry] = []
        var seen = Set<String>()
        var totalBytes = 0
        var offset = 0

        while true {
            let number = entries.count + 1
            // A missing end-of-archive marker means the download was cut short at a member boundary.
            guard offset + blockSize <= bytes.count else {
                throw TarError("tar: archive is truncated (no end-of-archive block after member \(number - 1))")
            }
            let block = Array(bytes[offset..<(offset + blockSize)])
            if block.allSatisfy({ $0 == 0 }) { break }

            let header = try parseHeader(block, number: number)
            let label = "tar member \(number) \(quoted(header.path))"

            guard entries.count < maxMembers else {
                throw TarError("\(label): archive has more than \(maxMembers) members")
            }
            guard seen.insert(header.path).inserted else {
                throw TarError("\(label): path appears twice")
            }
            totalBytes += header.size
            guard totalBytes <= maxTotalBytes else {
                throw TarError("\(label): contents exceed \(maxTotalBytes) bytes in total")
            }
            let dataStart = offset + blockSize
            guard header.size <= bytes.count - dataStart else {
                throw TarError("\(label): data runs past the end of the archive")
            }
            // A slice sharing the archive's storage: its indices are the archive's, not from 0.
            let contents = bytes[dataStart..<(dataStart + header.size)]
            entries.append(TarEntry(path: header.path, mode: header.mode, isDirectory: header.isDirectory, contents: contents))
            offset = dataStart + header.size + paddingAfter(header.size)
        }
        return entries
    }

    /// What `parseHeader` found in a header block that passed every check.
    struct ParsedHeader {
        let path: String
        let mode: Int
        let size: Int
        let isDirectory: Bool
    }

    /// Checks one non-zero header block and returns its member. `number` (1-based) names it in errors.
    static func parseHeader(_ block: [UInt8], number: Int) throws -> ParsedHeader {
        // Until the checksum and path are checked, the name is only good for error messages.
        let rawName = String(decoding: cString(block, Field.name), as: UTF8.self)
        func fail(_ problem: String, name: String = rawName) -> TarError {
            TarError("tar member \(number) \(quoted(name)): \(problem)")
        }

        guard let stored = parseOctal(block, Field.checksum), stored == checksum(of: block) else {
            throw fail("bad header checksum")
        }
        let magic = Array(block[Field.magic.offset..<(Field.version.offset + Field.version.width)])
        guard magic == posixMagic || magic == gnuMagic else {
            throw fail("not a ustar header")
        }

        // Only the POSIX format has a prefix field; GNU's format keeps other data in those bytes.
        var pathBytes = cString(block, Field.name)
        if magic == posixMagic {
            let prefix = cString(block, Field.prefix)
            if !prefix.isEmpty { pathBytes = prefix + [UInt8(ascii: "/")] + pathBytes }
        }
        let fullName = String(decoding: pathBytes, as: UTF8.self)

        let typeflag = block[Field.typeflag.offset]
        guard typeflag == regularType || typeflag == oldRegularType || typeflag == directoryType else {
            throw fail("\(describe(typeflag: typeflag)) is not allowed", name: fullName)
        }
        let isDirectory = typeflag == directoryType

        guard let path = validatedPath(pathBytes, isDirectory: isDirectory) else {
            throw fail("unsafe path", name: fullName)
        }
        guard let size = parseOctal(block, Field.size) else {
            throw fail("size field is not octal", name: path)
        }
        guard let mode = parseOctal(block, Field.mode) else {
            throw fail("mode field is not octal", name: path)
        }
        // A directory with data would let bytes hide between headers; no honest writer does it.
        guard !isDirectory || size == 0 else {
            throw fail("directory has a non-zero size", name: path)
        }
        // setuid, setgid and sticky bits are dropped: a release never needs them, and as root they hurt.
        return ParsedHeader(path: path, mode: mode & 0o777, size: size, isDirectory: isDirectory)
    }

    /// The stored path as a String, if it is valid UTF-8 and safe. A directory may end in one '/'.
    static func validatedPath(_ bytes: [UInt8], isDirectory: Bool) -> String? {
        var bytes = bytes
        if isDirectory, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        let path = String(decoding: bytes, as: UTF8.self)
        // Decoding replaces invalid UTF-8 with U+FFFD; refuse instead of unpacking under another name.
        guard Array(path.utf8) == bytes, isSafeRelativePath(path) else { return nil }
        return path
    }

    /// The bytes of a text field up to its first NUL (or the whole field if it has none).
    static func cString(_ block: [UInt8], _ field: (offset: Int, width: Int)) -> [UInt8] {
        let bytes = block[field.offset..<(field.offset + field.width)]
        return Array(bytes.prefix(while: { $0 != 0 }))
    }

    /// A numeric field: optional leading spaces, at least one octal digit, then only NULs or spaces.
    /// GNU's base-256 numbers (high bit set) and anything else are refused with nil.
    static func parseOctal(_ block: [UInt8], _ field: (offset: Int, width: Int)) -> Int? {
        let bytes = block[field.offset..<(field.offset + field.width)]
        let isFiller = { (byte: UInt8) in byte == 0 || byte == UInt8(ascii: " ") }
        let digits = bytes.drop(while: { $0 == UInt8(ascii: " ") }).prefix(while: { !isFiller($0) })
        let rest = bytes.drop(while: { $0 == UInt8(ascii: " ") }).dropFirst(digits.count)
        guard !digits.isEmpty, rest.allSatisfy(isFiller) else { return nil }
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) else { return nil }
            value = value * 8 + Int(byte - UInt8(ascii: "0"))  // at most 12 digits: cannot overflow
        }
        return value
    }

    /// Names a refused typeflag so the error says what the archive tried to do.
    static func describe(typeflag: UInt8) -> String {
        switch typeflag {
        case UInt8(ascii: "1"): return "hard link"
        case UInt8(ascii: "2"): return "symbolic link"
        case UInt8(ascii: "3"): return "character device"
        case UInt8(ascii: "4"): return "block device"
        case UInt8(ascii: "6"): return "FIFO"
        case UInt8(ascii: "7"): return "contiguous file"
        case UInt8(ascii: "x"): return "pax extended header"
        case UInt8(ascii: "g"): return "pax global header"
        case UInt8(ascii: "L"): return "GNU long name header"
        case UInt8(ascii: "K"): return "GNU long link header"
        default: return "member type \(quoted(String(decoding: [typeflag], as: UTF8.self)))"
        }
    }

    /// A path for an error message, quoted and with control characters escaped, so a hostile name
    /// cannot rewrite the operator's terminal.
    static func quoted(_ text: String) -> String {
        "\"" + escaped(text) + "\""
    }

    /// `text` with control characters, quotes and backslashes written as Swift escapes.
    static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar == "\"" || scalar == "\\" {
                result += scalar.escaped(asASCII: true)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    // MARK: - Paths

    /// A path is safe when it is relative, not empty, at most 255 bytes, made of components that are
    /// not empty, not "." and not "..", with no NUL, no backslash and no control characters.
    public static func isSafeRelativePath(_ path: String) -> Bool {
        InputValidation.isSafeRelativePath(path)
    }
}

// MARK: - Gzip

/// gzip through the system's `gzip` program (every Linux has one): release tarballs are
/// compressed, and neither side should link zlib for it.
public enum Gzip {
    /// `gzip -n -6` of `data` (no name or time in the header, so output is reproducible).
    public static func compress(_ data: Data) throws -> Data {
        try run(["-n", "-6", "-c"], input: data, maxBytes: Int.max)
    }

    /// `gzip -dc` of `data`; throws if gzip fails or the output exceeds `maxBytes`
    /// (stop reading and kill gzip once over the limit — a decompression bomb must not fill memory).
    public static func decompress(_ data: Data, maxBytes: Int) throws -> Data {
        try run(["-d", "-c"], input: data, maxBytes: maxBytes)
    }

    static func executable() throws -> String {
        for path in ["/bin/gzip", "/usr/bin/gzip"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw TarError("gzip: no /bin/gzip or /usr/bin/gzip")
    }

    /// Runs gzip with `arguments` on `input` and collects its stdout. The input reaches gzip as a
    /// file (an unlinked temporary one), not a pipe: then this one thread only reads, and neither
    /// a full pipe nor gzip exiting early (SIGPIPE) can stop it.
    static func run(_ arguments: [String], input: Data, maxBytes: Int) throws -> Data {
        let command = "gzip " + arguments.joined(separator: " ")
        let inputFile = try unlinkedFile(holding: input, for: command)
        defer { close(inputFile) }
        guard
            let gzip = ChildProcess.spawn(
                try executable(), arguments, environment: [:],
                captureStandardError: true, standardInput: inputFile)
        else {
            throw TarError("\(command): cannot start: \(String(cString: strerror(errno)))")
        }
        let output = gzip.readOutput(limit: maxBytes, until: .distantFuture, stopOverLimit: true)
        let termination = output?.overLimit == false ? gzip.waitForExit(until: .distantFuture) : nil
        gzip.stop()
        guard let output else { throw TarError("\(command): cannot read its output") }
        if output.overLimit {
            throw TarError("\(command): output exceeds \(maxBytes) bytes")
        }
        guard termination == .exited(0) else {
            let message = firstLine(output.stderr) ?? "exit status \(termination?.status ?? -1)"
            throw TarError("\(command) failed: \(message)")
        }
        return output.stdout
    }

    /// A descriptor of a temporary file that holds `data`, read from its start; the file has no
    /// name, so it goes when the descriptor is closed.
    private static func unlinkedFile(holding data: Data, for command: String) throws -> Int32 {
        var template = Array((temporaryDirectory() + "/rookery-gzip-XXXXXX").utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw TarError("\(command): cannot make a temporary file: \(String(cString: strerror(errno)))") }
        unlink(template)
        // Like ChildProcess's pipes: programs other threads start do not inherit it (gzip gets it by dup2).
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard AtomicFile.writeAll(data, to: fd), lseek(fd, 0, SEEK_SET) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw TarError("\(command): cannot write a temporary file: \(reason)")
        }
        return fd
    }

    private static func temporaryDirectory() -> String {
        let configured = ProcessInfo.processInfo.environment["TMPDIR"] ?? ""
        return configured.hasPrefix("/") ? configured : "/tmp"
    }

    static func firstLine(_ data: Data) -> String? {
        let text = String(decoding: data, as: UTF8.self)
        let line = text.split(separator: "\n").first.map(String.init)
        return line.map { TarArchive.escaped($0) }
    }
}
