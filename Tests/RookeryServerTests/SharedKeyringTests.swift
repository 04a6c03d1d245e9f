import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// Server processes on one install root (and the admin commands beside them) share the device
/// keyring. gpg rewrites a keyring without making its readers wait, so a check that reads it
/// while another process imports a key can find no signature at all; the checks must ride
/// through that, and an import must not be lost to it.
@Suite struct SharedKeyringTests {
    /// A signature by a device of its own, and the key the database would hold for it.
    struct Signed: Sendable {
        let body: Data
        let signature: Data
        let storedKey: String
        let fingerprint: String

        init(_ sandbox: Sandbox, name: String) throws {
            let device = try TestDevice(sandbox, name: name)
            body = Data("{\"host\":\"\(name)\"}".utf8)
            signature = try device.openPGP.sign(body, fingerprint: device.fingerprint)
            storedKey = try device.openPGP.exportPublicKey(fingerprint: device.fingerprint)
            fingerprint = device.fingerprint
        }
    }

    @Test func checksAndImportsByProcessesOnOneKeyringRideThroughEachOther() async throws {
        let sandbox = try Sandbox()
        let home = try sandbox.directory("k")
        let checker = InProcessEnrollmentChecker(scratchDirectory: try sandbox.directory("x"))
        // Keyrings over one home, each with only its own process's state: as many processes.
        // GPGME alone (no native checks), as `verify_with: gpgme` and every key type the native
        // checks pass on.
        let processes = try (0..<4).map { _ in
            try ServerKeyring(homeDirectory: home, enrollmentChecker: checker, pool: BlockingPool(width: 2))
        }
        let known = try Signed(sandbox, name: "known")
        #expect(try await processes[0].verify(signature: known.signature, body: known.body, storedKey: known.storedKey).fingerprint == known.fingerprint)
        // New devices' first requests, one lane per process: each request imports the key it meets.
        let lanes = processes.count
        let newcomers = try (0..<32).map { try Signed(sandbox, name: "n\($0)") }

        let failures = Locked([String]())
        let lanesLeft = Locked(lanes)
        var checks = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<lanes {
                let keyring = processes[lane % processes.count]
                group.addTask {
                    defer { lanesLeft.withLock { $0 -= 1 } }
                    for newcomer in newcomers.enumerated().filter({ $0.offset % lanes == lane }).map(\.element) {
                        do {
                            let signer = try await keyring.verify(
                                signature: newcomer.signature, body: newcomer.body, storedKey: newcomer.storedKey)
                            if signer.fingerprint != newcomer.fingerprint { failures.withLock { $0.append("newcomer signed by \(signer.fingerprint)") } }
                        } catch {
                            failures.withLock { $0.append("import of \(newcomer.fingerprint): \(error)") }
                        }
                    }
                    return 0
                }
            }
            // Meanwhile two of them check a device whose key they already have.
            for keyring in processes.prefix(2) {
                group.addTask {
                    var done = 0
                    while lanesLeft.current > 0 {
                        do {
                            _ = try await keyring.verify(signature: known.signature, body: known.body, storedKey: known.storedKey)
                        } catch {
                            failures.withLock { $0.append("check of the known device: \(error)") }
                        }
                        done += 1
                    }
                    return done
                }
            }
            for try await count in group { checks += count }
        }
        #expect(checks > newcomers.count, "the checks ran beside the imports")
        #expect(failures.current.isEmpty, "\(failures.current.count) of \(checks + newcomers.count) failed: \(failures.current.prefix(5))")
    }
}
