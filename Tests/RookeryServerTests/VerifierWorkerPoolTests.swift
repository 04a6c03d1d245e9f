import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// The signature-check helpers, run as the real `rookery verify-worker` binary.
@Suite struct VerifierWorkerPoolTests {
    static let rookeryBinary: String = {
        let dir =
            ProcessInfo.processInfo.environment["ROOKERY_BIN_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/.build/debug"
        return dir + "/rookery"
    }()

    let sandbox: Sandbox
    let keyring: OpenPGP
    let device: TestDevice

    init() throws {
        sandbox = try Sandbox()
        let home = try sandbox.directory("keyring")
        keyring = OpenPGP(homeDirectory: home)
        try keyring.prepareHome()
        device = try TestDevice(sandbox, name: "dev")
        try keyring.importKeys(Data(try device.openPGP.exportPublicKey(fingerprint: device.fingerprint).utf8))
    }

    @Test func verifiesAndRefusesLikeGPGMEInProcess() throws {
        let pool = VerifierWorkerPool(executable: Self.rookeryBinary, homeDirectory: keyring.homeDirectory)
        let body = Data("{\"a\":1}".utf8)
        let signature = try device.openPGP.sign(body, fingerprint: device.fingerprint)
        #expect(try pool.verify(signature: signature, data: body) == keyring.verify(signature: signature, data: body))
        #expect { try pool.verify(signature: signature, data: Data("{\"a\":2}".utf8)) } throws: { error in
            (error as? OpenPGPError)?.message.lowercased().contains("bad signature") == true
        }
        // The refusal did not cost the helper: the next check still works.
        #expect(try pool.verify(signature: signature, data: body).fingerprint == device.fingerprint)
    }

    @Test func aDeadHelperIsReplaced() throws {
        let pool = VerifierWorkerPool(executable: Self.rookeryBinary, homeDirectory: keyring.homeDirectory)
        let body = Data("x".utf8)
        let signature = try device.openPGP.sign(body, fingerprint: device.fingerprint)
        #expect(try pool.verify(signature: signature, data: body).fingerprint == device.fingerprint)
        // Kill every helper the pool started.
        let helpers = try helperPIDs()
        #expect(!helpers.isEmpty)
        for pid in helpers { kill(pid, SIGKILL) }
        usleep(100_000)
        #expect(try pool.verify(signature: signature, data: body).fingerprint == device.fingerprint)
    }

    @Test func aMissingHelperBinaryFailsClearly() {
        let pool = VerifierWorkerPool(executable: sandbox.path + "/no-such-binary", homeDirectory: keyring.homeDirectory)
        #expect { try pool.verify(signature: Data([1]), data: Data([2])) } throws: { error in
            "\(error)".contains("cannot start")
        }
    }

    /// Processes running `verify-worker` for this test's keyring.
    private func helperPIDs() throws -> [pid_t] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { entry in
            guard let pid = pid_t(entry),
                let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let arguments = String(decoding: cmdline, as: UTF8.self)
            return arguments.contains("verify-worker") && arguments.contains(keyring.homeDirectory) ? pid : nil
        }
    }
}
