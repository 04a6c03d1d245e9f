import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// The native signature checks answer what GPGME answers, on a corpus of real gpg keys and
/// signatures and the flips, cuts and crossings made from them (see `SignatureCorpus`).
///
/// Both sides are the server's `ServerKeyring` as a whole, over one GnuPG home holding every
/// device's key (as the server's keyring does once each has submitted): one with the native
/// checks in front (`verify_with: native`), one with GPGME alone (`verify_with: gpgme`, the
/// reference). A "not understood" thus counts as equal only when GPGME, behind it, then answers
/// what the reference does.
@Suite struct NativeVerifierDifferentialTests {
    /// What a request would get: a good signature by this fingerprint, or a refusal.
    /// A good signature by a key that is not the claimed device's is a refusal: the request
    /// verifier refuses every signer other than the body's key, and the native checks, which
    /// are handed only the claimed device's key, refuse it themselves.
    enum Verdict: Equatable, CustomStringConvertible {
        case accepted(String)
        case refused
        var description: String {
            switch self {
            case .accepted(let fingerprint): "accepted as \(fingerprint)"
            case .refused: "refused"
            }
        }
    }

    @Test func nativeVerdictsEqualGPGMEs() async throws {
        let sandbox = try Sandbox()
        let corpus = try SignatureCorpus(home: try sandbox.directory("s"))
        let pool = BlockingPool(width: 2)
        let home = try sandbox.directory("k")
        let checker = InProcessEnrollmentChecker(scratchDirectory: try sandbox.directory("x"))
        let reference = try ServerKeyring(homeDirectory: home, enrollmentChecker: checker, pool: pool)
        let native = NativeSignatureVerifier()
        let candidate = try ServerKeyring(homeDirectory: home, enrollmentChecker: checker, pool: pool, native: native)
        reference.openPGP.makeProcessDefault()
        for device in corpus.devices { try reference.openPGP.importKeys(Data(device.stored.utf8)) }

        let started = Date()
        var results: [(index: Int, expected: Verdict, got: Verdict, native: NativeVerdict)] = []
        try await withThrowingTaskGroup(of: (Int, Verdict, Verdict, NativeVerdict).self) { group in
            var next = 0
            func add() {
                guard next < corpus.cases.count else { return }
                let (index, test) = (next, corpus.cases[next])
                let device = corpus.devices[test.claimed]
                next += 1
                group.addTask {
                    let expected = try await Self.verdict(reference, test, device)
                    let got = try await Self.verdict(candidate, test, device)
                    return (index, expected, got, native.verify(signature: test.signature, body: test.body, storedKey: device.stored))
                }
            }
            for _ in 0..<4 { add() }
            while let result = try await group.next() {
                results.append(result)
                add()
            }
        }

        let mismatches = results.filter { $0.expected != $0.got }.sorted { $0.index < $1.index }
        let decided = results.filter { if case .notUnderstood = $0.native { false } else { true } }
        let accepted = results.filter { if case .accepted = $0.expected { true } else { false } }
        print(
            """
            native vs GPGME: \(results.count) cases, \(accepted.count) accepted by GPGME, \
            \(decided.count) decided natively, \(results.count - decided.count) handed to GPGME, \
            \(mismatches.count) different, in \(Int(Date().timeIntervalSince(started))) s
            """)
        for mismatch in mismatches.prefix(30) {
            let test = corpus.cases[mismatch.index]
            print("  \(test.label): GPGME \(mismatch.expected), native path \(mismatch.got) (native: \(mismatch.native))")
        }
        #expect(results.count >= 10_000)
        #expect(mismatches.isEmpty)
        // Each kind of case the native checks must decide themselves, not pass on.
        // The corpus holds what it says: GPGME's own verdicts on a few of its cases.
        let a = corpus.devices[0]
        let subkeyed = try #require(corpus.devices.first { $0.name == "subkeyed" })
        for (label, verdict) in [
            ("a/body2", Verdict.accepted("\(a.primary) unknown")),
            ("subkeyedsub/body2", .accepted("\(subkeyed.fingerprints[1]) unknown")),
            ("expired/body2", .refused), ("revoked/body2", .refused), ("a/body2 as b", .refused)
        ] {
            let index = try #require(corpus.cases.firstIndex { $0.label == label }, "\(label)")
            #expect(results.first { $0.index == index }?.expected == verdict, "\(label)")
        }
        for label in [
            "a/body2", "subkeyedsub/body2", "expired/body2", "revoked/body2",
            "crafted/critical 50 hashed", "a/body2 as b"
        ] {
            let index = try #require(corpus.cases.firstIndex { $0.label == label }, "\(label)")
            let result = try #require(results.first { $0.index == index })
            if case .notUnderstood(let reason) = result.native { Issue.record("\(label) not understood: \(reason)") }
        }
    }

    static func verdict(_ keyring: ServerKeyring, _ test: SignatureCorpus.Case, _ device: SignatureCorpus.Device) async throws -> Verdict {
        do {
            let signer = try await keyring.verify(signature: test.signature, body: test.body, storedKey: device.stored)
            // The validity too: a native acceptance must be the very value GPGME returns.
            return device.fingerprints.contains(signer.fingerprint) ? .accepted("\(signer.fingerprint) \(signer.validity)") : .refused
        } catch is OpenPGPError {
            return .refused
        }
    }
}
