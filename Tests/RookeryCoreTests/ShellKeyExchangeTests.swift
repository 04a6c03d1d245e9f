import Crypto
import Foundation
import Testing

@testable import RookeryCore

/// The shell's key agreement: both sides reach the same two keys, those keys depend on every part
/// of the session they are bound to, and bad public keys and transcripts are refused with errors
/// that say what is wrong.
@Suite struct ShellKeyExchangeTests {
    static let fingerprint = "0123456789ABCDEF0123456789ABCDEF01234567"

    static func bytes(_ key: SymmetricKey) -> Data { key.withUnsafeBytes { Data($0) } }

    static func hex(_ text: String) -> Data {
        var bytes = Data()
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static func transcript(
        _ admin: ShellKeyExchange, _ device: ShellKeyExchange, session: String = "session-1", fingerprint: String = fingerprint
    ) throws -> ShellTranscript {
        try ShellTranscript(sessionID: session, adminPublicKey: admin.publicKey, devicePublicKey: device.publicKey, deviceFingerprint: fingerprint)
    }

    @Test func bothSidesDeriveTheSameTwoDistinctKeys() throws {
        let admin = ShellKeyExchange(side: .admin)
        let device = ShellKeyExchange(side: .device)
        let transcript = try Self.transcript(admin, device)
        let adminKeys = try admin.deriveKeys(peerPublicKey: device.publicKey, transcript: transcript)
        let deviceKeys = try device.deriveKeys(peerPublicKey: admin.publicKey, transcript: transcript)
        #expect(Self.bytes(adminKeys.adminToDevice) == Self.bytes(deviceKeys.adminToDevice))
        #expect(Self.bytes(adminKeys.deviceToAdmin) == Self.bytes(deviceKeys.deviceToAdmin))
        #expect(Self.bytes(adminKeys.adminToDevice) != Self.bytes(adminKeys.deviceToAdmin))
        #expect(Self.bytes(adminKeys.adminToDevice).count == 32)
        #expect(admin.publicKey.count == 32)
        #expect(!"\(adminKeys)".contains(Self.bytes(adminKeys.adminToDevice).map { String($0, radix: 16) }.joined()))
    }

    @Test func keysAreBoundToTheSessionAndTheDevice() throws {
        let admin = ShellKeyExchange(side: .admin)
        let device = ShellKeyExchange(side: .device)
        let base = try admin.deriveKeys(peerPublicKey: device.publicKey, transcript: Self.transcript(admin, device))
        let otherSession = try admin.deriveKeys(peerPublicKey: device.publicKey, transcript: Self.transcript(admin, device, session: "session-2"))
        let otherDevice = try admin.deriveKeys(
            peerPublicKey: device.publicKey, transcript: Self.transcript(admin, device, fingerprint: "F123456789ABCDEF0123456789ABCDEF01234567"))
        for other in [otherSession, otherDevice] {
            #expect(Self.bytes(other.adminToDevice) != Self.bytes(base.adminToDevice))
            #expect(Self.bytes(other.deviceToAdmin) != Self.bytes(base.deviceToAdmin))
        }
    }

    @Test(arguments: [0, 1, 31, 33, 64])
    func wrongLengthPeerKeysAreRefused(count: Int) throws {
        let admin = ShellKeyExchange(side: .admin)
        let device = ShellKeyExchange(side: .device)
        let transcript = try Self.transcript(admin, device)
        #expect(throws: ShellKeyExchangeError.wrongPublicKeyLength(whose: "device's", count: count)) {
            try admin.deriveKeys(peerPublicKey: Data(repeating: 9, count: count), transcript: transcript)
        }
        #expect(throws: ShellKeyExchangeError.wrongPublicKeyLength(whose: "admin's", count: count)) {
            try ShellTranscript(
                sessionID: "s", adminPublicKey: Data(repeating: 9, count: count), devicePublicKey: device.publicKey, deviceFingerprint: Self.fingerprint)
        }
        #expect(throws: ShellKeyExchangeError.wrongPublicKeyLength(whose: "device's", count: count)) {
            try ShellTranscript(
                sessionID: "s", adminPublicKey: admin.publicKey, devicePublicKey: Data(repeating: 9, count: count), deviceFingerprint: Self.fingerprint)
        }
    }

    /// The points of small order on Curve25519 and its twist, and their non-canonical encodings
    /// (u + p, and the top bit set, which X25519 clears): with each, the shared secret is zero
    /// whatever the private key.
    static let lowOrderPoints = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880"
    ]

    @Test(arguments: lowOrderPoints)
    func lowOrderPeerKeysAreRefused(point: String) throws {
        let admin = ShellKeyExchange(side: .admin)
        let lowOrder = Self.hex(point)
        let transcript = try ShellTranscript(
            sessionID: "session-1", adminPublicKey: admin.publicKey, devicePublicKey: lowOrder, deviceFingerprint: Self.fingerprint)
        #expect(throws: ShellKeyExchangeError.lowOrderPublicKey(whose: "device's")) {
            try admin.deriveKeys(peerPublicKey: lowOrder, transcript: transcript)
        }
    }

    @Test func aTranscriptNotNamingTheseKeysIsRefused() throws {
        let admin = ShellKeyExchange(side: .admin)
        let device = ShellKeyExchange(side: .device)
        let stranger = ShellKeyExchange(side: .device)
        let theirs = try Self.transcript(admin, stranger)
        #expect(throws: ShellKeyExchangeError.peerKeyNotInTranscript(peer: .device)) {
            try admin.deriveKeys(peerPublicKey: device.publicKey, transcript: theirs)
        }
        #expect(throws: ShellKeyExchangeError.notThisSidesKey(side: .device)) {
            try device.deriveKeys(peerPublicKey: admin.publicKey, transcript: theirs)
        }
        // The admin's key handed back to it as the device's: refused before any agreement.
        #expect(throws: ShellKeyExchangeError.sameKeyOnBothSides) {
            try ShellTranscript(sessionID: "s", adminPublicKey: admin.publicKey, devicePublicKey: admin.publicKey, deviceFingerprint: Self.fingerprint)
        }
    }

    @Test(arguments: ["", "has space", "slash/", String(repeating: "x", count: 129), "é"])
    func badSessionIDsAreRefused(id: String) throws {
        let admin = ShellKeyExchange(side: .admin)
        let device = ShellKeyExchange(side: .device)
        #expect(throws: ShellKeyExchangeError.badSessionID(id)) { try Self.transcript(admin, device, session: id) }
    }

    @Test(arguments: ["", "0123", String(repeating: "G", count: 40), Self.fingerprint + "0"])
    func badFingerprintsAreRefused(text: String) throws {
        let admin = ShellKeyExchange(side: .admin)
        let device = ShellKeyExchange(side: .device)
        #expect(throws: ShellKeyExchangeError.badFingerprint(text)) { try Self.transcript(admin, device, fingerprint: text) }
    }

    @Test func aLowerCaseFingerprintBindsAsItsUpperCase() throws {
        let admin = ShellKeyExchange(side: .admin)
        let device = ShellKeyExchange(side: .device)
        let upper = try admin.deriveKeys(peerPublicKey: device.publicKey, transcript: Self.transcript(admin, device))
        let lower = try device.deriveKeys(
            peerPublicKey: admin.publicKey, transcript: Self.transcript(admin, device, fingerprint: Self.fingerprint.lowercased()))
        #expect(Self.bytes(upper.adminToDevice) == Self.bytes(lower.adminToDevice))
    }

    @Test func transcriptFieldsAreLengthPrefixed() throws {
        let admin = ShellKeyExchange(side: .admin)
        let device = ShellKeyExchange(side: .device)
        let encoded = try Self.transcript(admin, device, session: "ab").encoded
        let expected: [UInt8] =
            [0, 2] + Array("ab".utf8) + [0, 32] + Array(admin.publicKey) + [0, 32] + Array(device.publicKey) + [0, 40]
            + Array(Self.fingerprint.utf8)
        #expect(encoded == expected)
    }
}
