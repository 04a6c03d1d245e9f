import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// Real gpg keys in short-lived GnuPG homes.
@Suite struct OpenPGPTests {
    let sandbox: Sandbox
    init() throws { sandbox = try Sandbox() }

    func makeHome(_ name: String) throws -> OpenPGP {
        let openPGP = OpenPGP(homeDirectory: sandbox.path + "/" + name)
        try openPGP.prepareHome()
        return openPGP
    }

    @Test func signAndVerifyReturnsExactSigner() throws {
        let device = try makeHome("d")
        let fingerprint = try device.generateSigningKey(userID: "device one")
        #expect(InputValidation.fingerprint(fingerprint) == fingerprint)

        let server = try makeHome("s")
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
        let device = try makeHome("d")
        let fingerprint = try device.generateSigningKey(userID: "device one")
        let signature = try device.sign(Data("original".utf8), fingerprint: fingerprint)
        #expect {
            try device.verify(signature: signature, data: Data("0riginal".utf8))
        } throws: { error in
            (error as? OpenPGPError)?.message.lowercased().contains("bad signature") == true
        }
    }

    @Test func signatureFromUnknownKeyFails() throws {
        let device = try makeHome("d")
        let fingerprint = try device.generateSigningKey(userID: "device one")
        let server = try makeHome("s")
        let body = Data("x".utf8)
        let signature = try device.sign(body, fingerprint: fingerprint)
        #expect(throws: OpenPGPError.self) { try server.verify(signature: signature, data: body) }
    }

    @Test func garbageSignatureFails() throws {
        let server = try makeHome("s")
        #expect(throws: OpenPGPError.self) {
            try server.verify(signature: Data("not a signature".utf8), data: Data("x".utf8))
        }
    }

    @Test func signingWithMissingKeyFailsClearly() throws {
        let device = try makeHome("d")
        #expect {
            try device.sign(Data("x".utf8), fingerprint: String(repeating: "A", count: 40))
        } throws: { error in
            (error as? OpenPGPError)?.description.contains("AAAA") == true
        }
    }

    @Test func verifyIsSafeFromSeveralThreads() throws {
        let device = try makeHome("d")
        let fingerprint = try device.generateSigningKey(userID: "device one")
        let bodies = (0..<8).map { Data("message \($0)".utf8) }
        let signatures = try bodies.map { try device.sign($0, fingerprint: fingerprint) }
        let results = Locked([String?](repeating: nil, count: bodies.count))
        DispatchQueue.concurrentPerform(iterations: bodies.count) { index in
            let signer = try? device.verify(signature: signatures[index], data: bodies[index]).fingerprint
            results.withLock { $0[index] = signer }
        }
        #expect(results.current == Array(repeating: fingerprint, count: bodies.count))
    }

    @Test func deletedKeyNoLongerVerifies() throws {
        let device = try makeHome("d")
        let fingerprint = try device.generateSigningKey(userID: "device one")
        let server = try makeHome("s")
        try server.importKeys(Data(try device.exportPublicKey(fingerprint: fingerprint).utf8))
        let signature = try device.sign(Data("x".utf8), fingerprint: fingerprint)
        try server.deletePublicKey(fingerprint: fingerprint)
        #expect(throws: OpenPGPError.self) { try server.verify(signature: signature, data: Data("x".utf8)) }
    }
}
