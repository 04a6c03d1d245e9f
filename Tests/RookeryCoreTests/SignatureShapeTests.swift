import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// `SignatureShape` and `PublicKeyShape` against real keys and signatures (GPGME's and the gpg
/// command line's), and against the hostile shapes of issue 13, each built for real: a compressed
/// packet is real raw deflate, a spliced key is re-armored with its checksum.
@Suite struct SignatureShapeTests {
    let sandbox: Sandbox
    init() throws { sandbox = try Sandbox() }

    // MARK: - Real keys

    /// An ed25519 key made by GPGME, as the client makes it.
    func deviceKey(_ name: String = "d") throws -> (OpenPGP, String) {
        let openPGP = OpenPGP(homeDirectory: sandbox.path + "/" + name)
        try openPGP.prepareHome()
        return (openPGP, try openPGP.generateSigningKey(userID: "device \(name)"))
    }

    func deviceSignature(_ body: Data = Data(#"{"hello":"world"}"#.utf8)) throws -> [UInt8] {
        let (openPGP, fingerprint) = try deviceKey()
        return Array(try openPGP.sign(body, fingerprint: fingerprint))
    }

    /// A GnuPG home for the gpg command line, with one key of `algorithm`.
    func gpgHome(_ name: String, algorithm: String, usage: String = "sign") throws -> String {
        let home = sandbox.path + "/" + name
        try FileManager.default.createDirectory(
            atPath: home, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        try gpg(home, ["--passphrase", "", "--quick-gen-key", "shape test \(name)", algorithm, usage, "never"])
        return home
    }

    @discardableResult
    func gpg(_ home: String, _ arguments: [String]) throws -> Data {
        try runTool("/usr/bin/gpg", ["--homedir", home, "--batch", "--no-tty"] + arguments)
    }

    // MARK: - Accepted

    @Test func gpgmeEd25519SignaturesPass() throws {
        let (device, fingerprint) = try deviceKey()
        let server = OpenPGP(homeDirectory: sandbox.path + "/s")
        try server.prepareHome()
        try server.importKeys(Data(try device.exportPublicKey(fingerprint: fingerprint).utf8))
        for body in [Data(), Data(#"{"host":"a"}"#.utf8), Data(repeating: 0x41, count: 1 << 20)] {
            let signature = try device.sign(body, fingerprint: fingerprint)
            #expect(throws: Never.self) { try SignatureShape.check(signature) }
            #expect(throws: Never.self) { try SignatureShape.check(Array(signature)) }
            #expect(signature.count < 200)
            // What passes is what gpg verifies.
            #expect(try server.verify(signature: signature, data: body).fingerprint == fingerprint)
        }
    }

    @Test(arguments: ["ed25519", "rsa4096"])
    func gpgCommandLineSignaturesPass(_ algorithm: String) throws {
        let home = try gpgHome("g", algorithm: algorithm)
        try Data("a body\n".utf8).write(to: URL(fileURLWithPath: home + "/body"))
        try gpg(home, ["--detach-sign", "-o", home + "/body.sig", home + "/body"])
        let signature = try Data(contentsOf: URL(fileURLWithPath: home + "/body.sig"))
        #expect(throws: Never.self) { try SignatureShape.check(signature) }
        #expect(signature.count <= SignatureShape.maxBytes / 2)
        // With a stronger digest too.
        try gpg(home, ["--digest-algo", "SHA512", "--detach-sign", "-o", home + "/body.sig512", home + "/body"])
        #expect(throws: Never.self) { try SignatureShape.check(try Data(contentsOf: URL(fileURLWithPath: home + "/body.sig512"))) }
    }

    /// gpg 2.2 cannot make v6 signatures; this one is laid out by hand (RFC 9580 5.2.3: four-byte
    /// subpacket area lengths and a salt).
    @Test func versionSixShapePasses() throws {
        var body: [UInt8] = [6, 0x00, 27, 10]
        body += [0, 0, 0, 0] + [0, 0, 0, 0]  // no hashed, no unhashed subpackets
        body += [0xAB, 0xCD]  // the hash's first two bytes
        body += [32] + [UInt8](repeating: 7, count: 32)  // salt
        body += [UInt8](repeating: 9, count: 64)  // the ed25519 signature
        #expect(throws: Never.self) { try SignatureShape.check(newFormatPacket(tag: 2, body: body)) }
        // The same cut inside its salt.
        expectRefused(newFormatPacket(tag: 2, body: Array(body.prefix(20))), mentioning: "cut short")
    }

    /// At `maxBytes` exactly a well-formed signature passes (and gpg still verifies it); one byte
    /// more and only the size is wrong with it.
    @Test func sizeLimitIsExact() throws {
        let (openPGP, fingerprint) = try deviceKey()
        let body = Data("sized".utf8)
        let signature = Array(try openPGP.sign(body, fingerprint: fingerprint))
        let atLimit = try padded(signature, toTotal: SignatureShape.maxBytes)
        #expect(atLimit.count == 2048)
        #expect(throws: Never.self) { try SignatureShape.check(atLimit) }
        #expect(try openPGP.verify(signature: Data(atLimit), data: body).fingerprint == fingerprint)
        let overLimit = try padded(signature, toTotal: SignatureShape.maxBytes + 1)
        #expect(overLimit.count == 2049)
        expectRefused(overLimit, mentioning: "2049 bytes, over the limit of 2048")
    }

    // MARK: - Refused

    @Test func emptyIsRefused() {
        expectRefused([], mentioning: "empty")
    }

    @Test func overTwoKilobytesIsRefused() throws {
        let signature = try deviceSignature()
        let many = Array([[UInt8]](repeating: signature, count: 2048 / signature.count + 1).joined())
        expectRefused(many, mentioning: "over the limit of 2048")
        expectRefused([UInt8](repeating: 0x88, count: 1 << 20), mentioning: "over the limit of 2048")
    }

    /// Issue 13's first attack: one compressed packet holding many copies of one valid signature.
    /// Small enough to pass the size limit, so it is the packet type that refuses it.
    @Test func compressedPacketOfManySignaturesIsRefused() throws {
        let signature = try deviceSignature()
        let copies = 1000
        let compressed = try compressedPacket(of: Array([[UInt8]](repeating: signature, count: copies).joined()))
        #expect(compressed.count <= SignatureShape.maxBytes)
        // It is real: gpg unpacks it into every copy.
        let file = sandbox.path + "/compressed.sig"
        try Data(compressed).write(to: URL(fileURLWithPath: file))
        let listing = String(
            decoding: try runTool(
                "/usr/bin/gpg", ["--homedir", sandbox.path + "/d", "--batch", "--list-packets", file],
                allowFailure: true), as: UTF8.self)
        #expect(listing.components(separatedBy: ":signature packet:").count - 1 == copies)
        expectRefused(compressed, mentioning: "packet of type 8, not one signature")

        // The request of the issue (20,000 copies, about 11 KB) already fails on size.
        let attack = try compressedPacket(of: Array([[UInt8]](repeating: signature, count: 20_000).joined()))
        #expect(attack.count > SignatureShape.maxBytes)
        expectRefused(attack, mentioning: "over the limit of 2048")
    }

    @Test func twoSignaturesAreRefused() throws {
        let signature = try deviceSignature()
        expectRefused(signature + signature, mentioning: "more than one OpenPGP packet")
    }

    @Test func junkAfterTheSignatureIsRefused() throws {
        let signature = try deviceSignature()
        expectRefused(signature + [0x00], mentioning: "more than one OpenPGP packet")
        expectRefused(signature + [0x88], mentioning: "more than one OpenPGP packet")
    }

    @Test func junkBeforeTheSignatureIsRefused() throws {
        let signature = try deviceSignature()
        expectRefused([0x00] + signature, mentioning: "not an OpenPGP packet")
    }

    @Test func truncatedSignatureIsRefused() throws {
        let signature = try deviceSignature()
        // The header promises more than there is.
        expectRefused(Array(signature.dropLast()), mentioning: "cut short")
        expectRefused(Array(signature.prefix(1)), mentioning: "cut short")
        // A consistent header over a body cut inside its hashed subpackets ...
        let (_, _, body) = splitPacket(signature)
        expectRefused(newFormatPacket(tag: 2, body: Array(body.prefix(8))), mentioning: "cut short")
        // ... and one cut right after the hash's first two bytes.
        let hashed = Int(body[4]) << 8 | Int(body[5])
        let unhashedAt = 6 + hashed
        let unhashed = Int(body[unhashedAt]) << 8 | Int(body[unhashedAt + 1])
        let end = unhashedAt + 2 + unhashed + 2
        expectRefused(newFormatPacket(tag: 2, body: Array(body.prefix(end))), mentioning: "ends before its signature")
    }

    @Test func partialLengthIsRefused() throws {
        let signature = try deviceSignature()
        let (_, _, body) = splitPacket(signature)
        // RFC 9580 4.2.1.4: a first chunk of 2^6 = 64 bytes, then the rest with a definite length.
        let partial = [0xC2, 0xE6] + body.prefix(64) + [UInt8(body.count - 64)] + body.dropFirst(64)
        expectRefused(Array(partial), mentioning: "partial lengths")
        expectRefused([0xC2, 0xE0, 0x04], mentioning: "partial lengths")
    }

    @Test func indeterminateLengthIsRefused() throws {
        let signature = try deviceSignature()
        let (_, _, body) = splitPacket(signature)
        expectRefused([0x8B] + body, mentioning: "indeterminate length")
    }

    @Test func versionThreeIsRefused() throws {
        let signature = try deviceSignature()
        let (_, headerLength, _) = splitPacket(signature)
        var old = signature
        #expect(old[headerLength] == 4)
        old[headerLength] = 3
        expectRefused(old, mentioning: "signature version 3")
        old[headerLength] = 5
        expectRefused(old, mentioning: "signature version 5")
    }

    @Test func textSignatureTypeIsRefused() throws {
        let signature = try deviceSignature()
        let (_, headerLength, _) = splitPacket(signature)
        for type: UInt8 in [0x01, 0x10, 0x13, 0x1F, 0x40] {
            var flipped = signature
            #expect(flipped[headerLength + 1] == 0x00)
            flipped[headerLength + 1] = type
            expectRefused(flipped, mentioning: String(format: "signature type 0x%02x", type))
        }
    }

    /// A whole (not detached) signed message made by gpg starts with a one-pass signature packet.
    @Test func signedMessageIsRefused() throws {
        let home = try gpgHome("g", algorithm: "ed25519")
        try Data("a body\n".utf8).write(to: URL(fileURLWithPath: home + "/body"))
        try gpg(home, ["--compress-algo", "none", "--sign", "-o", home + "/body.gpg", home + "/body"])
        let message = Array(try Data(contentsOf: URL(fileURLWithPath: home + "/body.gpg")))
        #expect(splitPacket(message).tag == 4)
        expectRefused(message, mentioning: "packet of type 4, not one signature")
        // Compressed, as gpg makes it by default: a compressed packet of indeterminate length.
        try gpg(home, ["--sign", "-o", home + "/body.z.gpg", home + "/body"])
        let compressed = Array(try Data(contentsOf: URL(fileURLWithPath: home + "/body.z.gpg")))
        #expect(compressed.first == 0xA3)
        expectRefused(compressed, mentioning: "indeterminate length")
        // An armored detached signature is text, not a packet.
        try gpg(home, ["--armor", "--detach-sign", "-o", home + "/body.asc", home + "/body"])
        expectRefused(Array(try Data(contentsOf: URL(fileURLWithPath: home + "/body.asc"))), mentioning: "not an OpenPGP packet")
    }

    @Test func literalDataPacketIsRefused() {
        // RFC 9580 5.9: format 'b', empty file name, a date, then the data.
        let literal = newFormatPacket(tag: 11, body: [UInt8(ascii: "b"), 0, 0, 0, 0, 0] + Array("data".utf8))
        expectRefused(literal, mentioning: "packet of type 11, not one signature")
    }

    // MARK: - Public keys

    @Test func exportedPublicKeysPass() throws {
        let (device, fingerprint) = try deviceKey()
        let armored = try device.exportPublicKey(fingerprint: fingerprint)
        #expect(throws: Never.self) { try PublicKeyShape.check(armored: armored) }
        // CRLF line ends too.
        #expect(throws: Never.self) { try PublicKeyShape.check(armored: armored.replacingOccurrences(of: "\n", with: "\r\n")) }
        // gpg's own export of a key with a subkey (tags 6, 13, 2, 14, 2) and of an RSA-4096 key.
        let home = try gpgHome("g", algorithm: "future-default", usage: "default")
        let withSubkey = String(decoding: try gpg(home, ["--armor", "--export"]), as: UTF8.self)
        #expect(try packetTags(armored: withSubkey).contains(14))
        #expect(throws: Never.self) { try PublicKeyShape.check(armored: withSubkey) }
        let rsaHome = try gpgHome("r", algorithm: "rsa4096")
        #expect(throws: Never.self) {
            try PublicKeyShape.check(armored: String(decoding: try gpg(rsaHome, ["--armor", "--export"]), as: UTF8.self))
        }
    }

    @Test func keyThatIsNotArmoredIsRefused() throws {
        let (device, fingerprint) = try deviceKey()
        let armored = try device.exportPublicKey(fingerprint: fingerprint)
        let binary = try dearmor(armored)
        expectKeyRefused(binary.map { String(UnicodeScalar($0)) }.joined(), mentioning: "not one ASCII-armored public key block")
        expectKeyRefused(Data(binary).base64EncodedString(), mentioning: "not one ASCII-armored public key block")
        expectKeyRefused("", mentioning: "not one ASCII-armored public key block")
        expectKeyRefused(
            armored.replacingOccurrences(of: "-----END PGP PUBLIC KEY BLOCK-----", with: ""),
            mentioning: "not one ASCII-armored public key block")
        expectKeyRefused(
            armored.replacingOccurrences(of: "PUBLIC KEY BLOCK", with: "MESSAGE"),
            mentioning: "not one ASCII-armored public key block")
    }

    @Test func privateKeyBlockIsRefused() throws {
        let home = try gpgHome("g", algorithm: "ed25519")
        let secret = String(
            decoding: try gpg(
                home,
                [
                    "--armor", "--pinentry-mode", "loopback", "--passphrase", "",
                    "--export-secret-keys"
                ]), as: UTF8.self)
        #expect(secret.contains("-----BEGIN PGP PRIVATE KEY BLOCK-----"))
        expectKeyRefused(secret, mentioning: "not one ASCII-armored public key block")
        // Nor does relabelling it help: a secret key packet is type 5.
        expectKeyRefused(secret.replacingOccurrences(of: "PRIVATE KEY", with: "PUBLIC KEY"), mentioning: "packet of type 5")
    }

    @Test func keyInACompressedPacketIsRefused() throws {
        let (device, fingerprint) = try deviceKey()
        let binary = try dearmor(try device.exportPublicKey(fingerprint: fingerprint))
        let compressed = try compressedPacket(of: binary + binary)
        expectKeyRefused(armor(compressed), mentioning: "packet of type 8")
        // Behind a genuine key too.
        expectKeyRefused(armor(binary + compressed), mentioning: "packet of type 8")
    }

    /// A real key with user ID packets spliced in: 16 packets pass, 17 do not.
    @Test func packetCountIsLimited() throws {
        let (device, fingerprint) = try deviceKey()
        let binary = try dearmor(try device.exportPublicKey(fingerprint: fingerprint))
        #expect(try packetTags(armored: armor(binary)) == [6, 13, 2])
        func withUserIDs(_ extra: Int) -> String {
            let userIDs = (0..<extra).map { newFormatPacket(tag: 13, body: Array("extra user \($0)".utf8)) }
            return armor(binary + Array(userIDs.joined()))
        }
        #expect(throws: Never.self) { try PublicKeyShape.check(armored: withUserIDs(13)) }
        expectKeyRefused(withUserIDs(14), mentioning: "more than 16 OpenPGP packets")
        expectKeyRefused(withUserIDs(100), mentioning: "more than 16 OpenPGP packets")
    }

    @Test func armoredSizeIsLimited() throws {
        let (device, fingerprint) = try deviceKey()
        let armored = try device.exportPublicKey(fingerprint: fingerprint)
        let binary = try dearmor(armored)
        // An armor header pads a genuine key to the limit exactly, then one byte over.
        func withComment(totalBytes: Int) -> String {
            let plain = armor(binary, headers: ["Comment: "])
            return armor(binary, headers: ["Comment: " + String(repeating: "x", count: totalBytes - plain.utf8.count)])
        }
        #expect(withComment(totalBytes: 8192).utf8.count == 8192)
        #expect(throws: Never.self) { try PublicKeyShape.check(armored: withComment(totalBytes: 8192)) }
        expectKeyRefused(withComment(totalBytes: 8193), mentioning: "8193 bytes, over the limit of 8192")
        // Many user IDs make a large key, refused on size before its packets are counted.
        let big = armor(binary + Array((0..<40).map { _ in newFormatPacket(tag: 13, body: Array(String(repeating: "u", count: 200).utf8)) }.joined()))
        expectKeyRefused(big, mentioning: "over the limit of 8192")
    }

    @Test func garbageAroundTheBlockIsRefused() throws {
        let (device, fingerprint) = try deviceKey()
        let armored = try device.exportPublicKey(fingerprint: fingerprint)
        expectKeyRefused(armored + "garbage\n", mentioning: "not one ASCII-armored public key block")
        // Two blocks: from the first BEGIN to the last END, the lines between are not base64.
        expectKeyRefused(armored + armored, mentioning: "not base64")
        expectKeyRefused("garbage\n" + armored, mentioning: "not one ASCII-armored public key block")
        // Blank lines around it are fine.
        #expect(throws: Never.self) { try PublicKeyShape.check(armored: "\n\n" + armored + "\n\n") }
    }

    @Test func bodyThatIsNotBase64IsRefused() throws {
        let (device, fingerprint) = try deviceKey()
        let armored = try device.exportPublicKey(fingerprint: fingerprint)
        var lines = armored.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[2] = "*" + lines[2].dropFirst()
        expectKeyRefused(lines.joined(separator: "\n"), mentioning: "not base64")
        expectKeyRefused("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n", mentioning: "no OpenPGP packet")
    }

    /// gpg reads armor "header" lines that are not `Key: value` as base64 data (it warns "invalid
    /// armor header" and goes on): packets put there must not pass unchecked. (The server also
    /// imports only the binary the check read.)
    @Test func linesBeforeABlankLineAreCheckedAsGPGReadsThem() throws {
        let (device, fingerprint) = try deviceKey()
        let binary = try dearmor(try device.exportPublicKey(fingerprint: fingerprint))
        // A compressed packet of many copies of the key whose length is a multiple of three, so
        // its base64 joins the key's without padding in between.
        var copies = 20
        var compressed = try compressedPacket(of: Array([[UInt8]](repeating: binary, count: copies).joined()))
        while compressed.count % 3 != 0 {
            copies += 1
            compressed = try compressedPacket(of: Array([[UInt8]](repeating: binary, count: copies).joined()))
        }
        let hidden = base64Lines(compressed)
        let key = base64Lines(binary)
        let text =
            (["-----BEGIN PGP PUBLIC KEY BLOCK-----"] + hidden + [""] + key
            + ["=" + crc24Base64(compressed + binary), "-----END PGP PUBLIC KEY BLOCK-----", ""]).joined(separator: "\n")
        // gpg sees the compressed packet first, and the copies inside it.
        let file = sandbox.path + "/hidden.asc"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let listing = String(
            decoding: try runTool(
                "/usr/bin/gpg", ["--homedir", sandbox.path + "/d", "--batch", "--list-packets", file],
                allowFailure: true), as: UTF8.self)
        #expect(listing.hasPrefix("# off=0 ctb=c8 tag=8"))
        #expect(listing.components(separatedBy: ":public key packet:").count - 1 >= copies)
        expectKeyRefused(text, mentioning: "header line that is not Key: value")
    }

    // MARK: - Helpers

    func expectRefused(_ bytes: [UInt8], mentioning expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try SignatureShape.check(bytes)
            Issue.record("\(bytes.count) bytes passed; expected a refusal mentioning \"\(expected)\"", sourceLocation: sourceLocation)
        } catch let refusal as SignatureShape.Refusal {
            #expect(refusal.description.contains(expected), "refused for another reason: \(refusal)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    func expectKeyRefused(_ text: String, mentioning expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try PublicKeyShape.check(armored: text)
            Issue.record("the key passed; expected a refusal mentioning \"\(expected)\"", sourceLocation: sourceLocation)
        } catch let refusal as SignatureShape.Refusal {
            #expect(refusal.description.contains(expected), "refused for another reason: \(refusal)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// `signature` (v4) with an unhashed, non-critical experimental subpacket (type 100) padding
    /// it to `total` bytes, header included. gpg ignores such a subpacket.
    func padded(_ signature: [UInt8], toTotal total: Int) throws -> [UInt8] {
        let (_, _, body) = splitPacket(signature)
        #expect(body[0] == 4)
        let hashed = Int(body[4]) << 8 | Int(body[5])
        let unhashedAt = 6 + hashed
        let unhashed = Int(body[unhashedAt]) << 8 | Int(body[unhashedAt + 1])
        for padding in 0..<total {
            let contentLength = padding + 1  // the type byte and the padding
            let length: [UInt8] =
                contentLength < 192
                ? [UInt8(contentLength)]
                : [UInt8((contentLength - 192) >> 8 + 192), UInt8((contentLength - 192) & 0xFF)]
            let subpacket = length + [100] + [UInt8](repeating: 0x5A, count: padding)
            let area = unhashed + subpacket.count
            var newBody = Array(body[..<unhashedAt]) + [UInt8(area >> 8), UInt8(area & 0xFF)]
            newBody += subpacket + body[(unhashedAt + 2)...]
            let packet = newFormatPacket(tag: 2, body: newBody)
            if packet.count == total { return packet }
            if packet.count > total { break }
        }
        throw ShapeTestError("cannot pad to \(total) bytes")
    }

    /// A compressed data packet (tag 8, algorithm 1: raw deflate) holding `content`.
    func compressedPacket(of content: [UInt8]) throws -> [UInt8] {
        newFormatPacket(tag: 8, body: [1] + (try rawDeflate(content)))
    }

    /// Raw deflate (RFC 1951) by gzip, without gzip's 10-byte header and 8-byte trailer.
    func rawDeflate(_ content: [UInt8]) throws -> [UInt8] {
        let file = sandbox.path + "/deflate-input"
        try Data(content).write(to: URL(fileURLWithPath: file))
        let gzip = Array(try runTool("/usr/bin/gzip", ["-c", "-n", "-9", file]))
        guard gzip.count > 18, gzip[0] == 0x1F, gzip[1] == 0x8B, gzip[2] == 8, gzip[3] == 0 else {
            throw ShapeTestError("unexpected gzip header")
        }
        return Array(gzip[10..<(gzip.count - 8)])
    }

    /// The bytes of an armored block (header lines hold ':', which base64 never does).
    func dearmor(_ armored: String) throws -> [UInt8] {
        let body = armored.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.hasPrefix("-----") && !$0.hasPrefix("=") && !$0.contains(":") }.joined()
        guard let data = Data(base64Encoded: body) else { throw ShapeTestError("armor is not base64") }
        return Array(data)
    }

    func armor(_ bytes: [UInt8], headers: [String] = []) -> String {
        (["-----BEGIN PGP PUBLIC KEY BLOCK-----"] + headers + [""] + base64Lines(bytes)
            + ["=" + crc24Base64(bytes), "-----END PGP PUBLIC KEY BLOCK-----", ""]).joined(separator: "\n")
    }

    func packetTags(armored: String) throws -> [UInt8] {
        var bytes = try dearmor(armored)[...]
        var tags: [UInt8] = []
        while !bytes.isEmpty {
            let (tag, headerLength, body) = splitPacket(Array(bytes))
            tags.append(tag)
            bytes = bytes.dropFirst(headerLength + body.count)
        }
        return tags
    }
}

// MARK: - OpenPGP packet plumbing (RFC 9580 section 4.2), for building test input

private struct ShapeTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The tag, header length and body of the first packet of `bytes` (definite lengths only).
private func splitPacket(_ bytes: [UInt8]) -> (tag: UInt8, headerLength: Int, body: [UInt8]) {
    let header = bytes[0]
    var tag: UInt8
    var headerLength: Int
    var length: Int
    if header & 0x40 != 0 {
        tag = header & 0x3F
        let first = Int(bytes[1])
        switch first {
        case 0..<192: (headerLength, length) = (2, first)
        case 192..<224: (headerLength, length) = (3, (first - 192) << 8 + Int(bytes[2]) + 192)
        default: (headerLength, length) = (6, bytes[2..<6].reduce(0) { $0 << 8 | Int($1) })
        }
    } else {
        tag = (header >> 2) & 0x0F
        let width = [1, 2, 4][Int(header & 0x03)]
        headerLength = 1 + width
        length = bytes[1..<(1 + width)].reduce(0) { $0 << 8 | Int($1) }
    }
    return (tag, headerLength, Array(bytes[headerLength..<(headerLength + length)]))
}

/// One new-format packet with a definite length.
private func newFormatPacket(tag: UInt8, body: [UInt8]) -> [UInt8] {
    let n = body.count
    let length: [UInt8]
    switch n {
    case 0..<192: length = [UInt8(n)]
    case 192..<8384: length = [UInt8((n - 192) >> 8 + 192), UInt8((n - 192) & 0xFF)]
    default: length = [0xFF, UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
    }
    return [0xC0 | tag] + length + body
}

private func base64Lines(_ bytes: [UInt8]) -> [String] {
    let text = Array(Data(bytes).base64EncodedString())
    return stride(from: 0, to: text.count, by: 64).map { String(text[$0..<min($0 + 64, text.count)]) }
}

/// The armor checksum (RFC 9580 6.1), base64.
private func crc24Base64(_ bytes: [UInt8]) -> String {
    var crc: UInt32 = 0xB704CE
    for byte in bytes {
        crc ^= UInt32(byte) << 16
        for _ in 0..<8 {
            crc <<= 1
            if crc & 0x100_0000 != 0 { crc ^= 0x186_4CFB }
        }
    }
    crc &= 0xFF_FFFF
    return Data([UInt8(crc >> 16), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]).base64EncodedString()
}

/// Runs a tool, returning its standard output; throws (with its standard error) when it fails.
private func runTool(_ path: String, _ arguments: [String], allowFailure: Bool = false) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let errors = Locked(Data())
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        let data = err.fileHandleForReading.readDataToEndOfFile()
        errors.withLock { $0 = data }
        group.leave()
    }
    let output = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    group.wait()
    guard allowFailure || process.terminationStatus == 0 else {
        throw ShapeTestError("\(path) \(arguments.joined(separator: " ")) failed: \(String(decoding: errors.current, as: UTF8.self))")
    }
    return output
}
