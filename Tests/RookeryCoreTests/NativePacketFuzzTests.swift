import Foundation
import RookeryTestSupport
import Testing

@testable import RookeryCore

/// The native OpenPGP reader, fed random bytes and mutated real packets, always comes back with
/// a verdict: no crash (a bounds slip traps), no hang, nothing accepted that was not signed.
@Suite struct NativePacketFuzzTests {
    /// One random change: flip, overwrite, insert, delete, cut, or repeat a stretch.
    static func mutate(_ bytes: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var result = bytes
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let at = result.isEmpty ? 0 : Int.random(in: 0..<result.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !result.isEmpty: result[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1 where !result.isEmpty: result[at] = UInt8.random(in: 0...255, using: &random)
            case 2: result.insert(UInt8.random(in: 0...255, using: &random), at: at)
            case 3 where !result.isEmpty: result.remove(at: at)
            case 4: result = Array(result.prefix(at))
            default:
                let end = min(result.count, at + Int.random(in: 1...8, using: &random))
                result.insert(contentsOf: result[at..<end], at: at)
            }
        }
        return result
    }

    static func randomBytes(_ random: inout SeededRandom) -> [UInt8] {
        (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    @Test func randomAndMutatedPacketsAlwaysGetAVerdict() throws {
        let sandbox = try Sandbox()
        let openPGP = OpenPGP(homeDirectory: try sandbox.directory("g"))
        try openPGP.prepareHome()
        let fingerprint = try openPGP.generateSigningKey(userID: "fuzz")
        let armored = try openPGP.exportPublicKey(fingerprint: fingerprint)
        let key = try NativePublicKey(armored: armored)
        let keyPackets = [UInt8](try PublicKeyShape.check(armored: armored))
        let body = Data("a body".utf8)
        let signature = [UInt8](try openPGP.sign(body, fingerprint: fingerprint))
        #expect(NativeSignatureCheck.verify(signature: Data(signature), data: body, key: key) == .accepted(fingerprint: fingerprint))

        var random = SeededRandom(seed: 15)
        var verdicts: [String: Int] = [:]
        let rounds = 50_000
        for round in 0..<(2 * rounds) {
            let bytes = round < rounds ? Self.randomBytes(&random) : Self.mutate(signature, &random)
            let verdict = NativeSignatureCheck.verify(signature: Data(bytes), data: body, key: key)
            switch verdict {
            case .accepted:
                // Only the real signature, or one changed where no hash reaches (the unhashed
                // issuer key ID still naming the key, say), may pass: it must still verify in gpg.
                if bytes != signature {
                    let gpg = try? openPGP.verify(signature: Data(bytes), data: body)
                    #expect(gpg?.fingerprint == fingerprint, "accepted natively, not by gpg: \(bytes)")
                }
                verdicts["signature accepted", default: 0] += 1
            case .refused: verdicts["signature refused", default: 0] += 1
            case .notUnderstood: verdicts["signature not understood", default: 0] += 1
            }
        }
        let now = UInt32(Date().timeIntervalSince1970)
        for round in 0..<(2 * rounds) {
            let bytes = round < rounds ? Self.randomBytes(&random) : Self.mutate(keyPackets, &random)
            do {
                _ = try NativePublicKey(packets: bytes, now: now)
                verdicts["key read", default: 0] += 1
            } catch {
                verdicts["key not understood", default: 0] += 1
            }
        }
        print("native packet fuzz:", verdicts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        #expect(verdicts.values.reduce(0, +) == 4 * rounds)
        #expect(verdicts["signature refused", default: 0] > 0 && verdicts["signature not understood", default: 0] > 0)
    }
}
