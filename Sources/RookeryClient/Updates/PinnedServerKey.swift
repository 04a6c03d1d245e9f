import FoundationEssentials
import RookeryCore

/// The server key this device trusts: the one in its installed release (`client/server-key.asc`).
/// Everything the server tells the device to change (update answers, release manifests) must be
/// signed by exactly this key. Checks run in a keyring of their own that holds only this key and
/// is rebuilt whenever the release brings another one.
public struct PinnedServerKey: Sendable {
    let keyFile: String
    let keyring: OpenPGP

    public init(root: InstallRoot) {
        keyFile = root.clientServerKey
        keyring = OpenPGP(homeDirectory: root.clientServerKeyring)
    }

    /// The pinned key's fingerprint, importing the key file into a fresh keyring if it changed.
    public func fingerprint() throws -> String {
        guard let armored = FileManager.default.contents(atPath: keyFile), !armored.isEmpty else {
            throw OpenPGPError(
                "server key",
                message:
                    "no server key at \(keyFile); the device cannot check what the server signs (install a release, or copy the server's server/server-key.asc there)"
            )
        }
        let copy = keyring.homeDirectory + "/pinned.asc"
        let fingerprintFile = keyring.homeDirectory + "/pinned.fpr"
        if FileManager.default.contents(atPath: copy) == armored,
            let known = try? String(contentsOfFile: fingerprintFile, encoding: .utf8),
            let fingerprint = InputValidation.fingerprint(known)
        {
            return fingerprint
        }
        try? FileManager.default.removeItem(atPath: keyring.homeDirectory)
        try keyring.prepareHome(publicKeysOnly: true)
        let imported = try keyring.importKeys(armored)
        guard imported.count == 1, let fingerprint = imported.first else {
            throw OpenPGPError("server key", message: "\(keyFile) must hold exactly one key, it holds \(imported.count)")
        }
        try AtomicFile.write(Data(fingerprint.utf8), to: fingerprintFile)
        try AtomicFile.write(armored, to: copy)
        return fingerprint
    }

    /// Succeeds only for a good signature over `data` by the pinned key.
    public func verify(signature: Data, data: Data) throws {
        // What reaches gpg is one small signature packet, whoever sent it.
        do { try SignatureShape.check(signature) } catch let refusal as SignatureShape.Refusal {
            throw OpenPGPError("server signature", message: "not one OpenPGP signature: \(refusal)")
        }
        let pinned = try fingerprint()
        let signer = try keyring.verify(signature: signature, data: data)
        guard signer.fingerprint == pinned else {
            throw OpenPGPError("server signature", message: "signed by \(signer.fingerprint), not the pinned server key \(pinned)")
        }
    }
}
