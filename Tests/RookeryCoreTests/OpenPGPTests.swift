import Foundation
import RookeryCore
import Testing

/// Real gpg keys in short-lived GnuPG homes.
@Suite struct OpenPGPTests {
    final class Homes {
        let base: String
        init() throws {
            var template = Array("/tmp/rkc-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw SettingsError("mkdtemp") }
            base = String(cString: made)
        }
        func make(_ name: String) throws -> OpenPGP {
            let pgp = OpenPGP(homeDirectory: base + "/" + name)
            try pgp.prepareHome()
            return pgp
        }
        deinit {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
                OpenPGP(homeDirectory: base + "/" + name).stopAgent()
            }
            try? FileManager.default.removeItem(atPath: base)
        }
    }

    let homes: Homes
    init() throws { homes = try Homes() }

    @Test func signAndVerifyReturnsExactSigner() throws {
        let device = try homes.make("d")
        let fingerprint = try device.generateSigningKey(userID: "device one")
        #expect(InputValidation.fingerprint(fingerprint) == fingerprint)

        let server = try homes.make("s")
        let imported = try server.importKeys(Data(try device.exportPublicKey(fingerprint: fingerprint).utf8))
        #expect(imported == [fingerprint])

        let body = Data("{\"hello\":\"world\"}".utf8)
        let signature = try device.sign(body, fingerprint: fingerprint)
        let verified = try server.verify(signature: signature, data: body)
        #expect(verified.fingerprint == fingerprint)
        // Rookery trusts device states, not the web of trust (trust-model always), so gpg computes
        // no validity for the key; it must never claim the key is invalid.
        #expect(verified.validity != .never)
    }

    @Test func tamperedDataFailsWithGPGMEMessage() throws {
        let device = try homes.make("d")
        let fingerprint = try device.generateSigningKey(userID: "device one")
        let signature = try device.sign(Data("original".utf8), fingerprint: fingerprint)
        #expect {
            try device.verify(signature: signature, data: Data("0riginal".utf8))
        } throws: { error in
            (error as? OpenPGPError)?.message.lowercased().contains("bad signature") == true
        }
    }

    @Test func signatureFromUnknownKeyFails() throws {
        let device = try homes.make("d")
        let fingerprint = try device.generateSigningKey(userID: "device one")
        let server = try homes.make("s")
        let body = Data("x".utf8)
        let signature = try device.sign(body, fingerprint: fingerprint)
        #expect(throws: OpenPGPError.self) { try server.verify(signature: signature, data: body) }
    }

    @Test func garbageSignatureFails() throws {
        let server = try homes.make("s")
        #expect(throws: OpenPGPError.self) {
            try server.verify(signature: Data("not a signature".utf8), data: Data("x".utf8))
        }
    }

    @Test func signingWithMissingKeyFailsClearly() throws {
        let device = try homes.make("d")
        #expect {
            try device.sign(Data("x".utf8), fingerprint: String(repeating: "A", count: 40))
        } throws: { error in
            (error as? OpenPGPError)?.description.contains("AAAA") == true
        }
    }

    @Test func verifyIsSafeFromSeveralThreads() throws {
        let device = try homes.make("d")
        let fingerprint = try device.generateSigningKey(userID: "device one")
        let bodies = (0..<8).map { Data("message \($0)".utf8) }
        let signatures = try bodies.map { try device.sign($0, fingerprint: fingerprint) }
        let results = Results(count: bodies.count)
        DispatchQueue.concurrentPerform(iterations: bodies.count) { index in
            results.set(index, try? device.verify(signature: signatures[index], data: bodies[index]).fingerprint)
        }
        #expect(results.values == Array(repeating: fingerprint, count: bodies.count))
    }

    @Test func deletedKeyNoLongerVerifies() throws {
        let device = try homes.make("d")
        let fingerprint = try device.generateSigningKey(userID: "device one")
        let server = try homes.make("s")
        try server.importKeys(Data(try device.exportPublicKey(fingerprint: fingerprint).utf8))
        let signature = try device.sign(Data("x".utf8), fingerprint: fingerprint)
        try server.deletePublicKey(fingerprint: fingerprint)
        #expect(throws: OpenPGPError.self) { try server.verify(signature: signature, data: Data("x".utf8)) }
    }
}

private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [String?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: String?) { lock.withLock { slots[i] = v } }
    var values: [String?] { lock.withLock { slots } }
}
