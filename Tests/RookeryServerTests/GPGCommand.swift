import Crypto
import Foundation
import RookeryCore

/// gpg on the command line in one GnuPG home, for what GPGME does not offer: faked system times,
/// chosen digest algorithms, signature notations and expirations, signing subkeys, revocations.
struct GPGCommand {
    let home: String

    struct Failed: Error, CustomStringConvertible { let description: String }

    /// Runs gpg in batch mode (no passphrase, nobody to ask) and returns what it printed;
    /// throws on a non-zero exit.
    @discardableResult
    func run(_ arguments: [String], fakedTime: Int? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gpg")
        process.arguments =
            [
                "--homedir", home, "--batch", "--yes", "--quiet", "--pinentry-mode", "loopback",
                "--passphrase", ""
            ] + (fakedTime.map { ["--faked-system-time", "\($0)"] } ?? []) + arguments
        let output = home + "/gpg.out"
        let errors = home + "/gpg.err"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        try process.run()
        process.waitUntilExit()
        let message = (try? Data(contentsOf: URL(fileURLWithPath: errors))) ?? Data()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "gpg \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
        }
        return try String(contentsOfFile: output, encoding: .utf8)
    }

    /// Makes a key now (or at `fakedTime`) and returns its fingerprint.
    func generate(
        _ userID: String, _ algorithm: String, usage: String = "sign", expires: String = "never",
        fakedTime: Int? = nil
    ) throws -> String {
        try run(["--quick-gen-key", userID, algorithm, usage, expires], fakedTime: fakedTime)
        return try fingerprints(of: userID)[0]
    }

    /// The primary key's fingerprint, then its subkeys'.
    func fingerprints(of userID: String) throws -> [String] {
        try run(["--with-colons", "--list-keys", "=" + userID]).split(separator: "\n")
            .filter { $0.hasPrefix("fpr:") }.map { String($0.split(separator: ":", omittingEmptySubsequences: false)[9]) }
    }

    /// A binary detached signature of `body` by `signer` (append "!" for a subkey).
    func sign(_ body: Data, by signer: String, options: [String] = [], fakedTime: Int? = nil) throws -> Data {
        let input = home + "/body"
        let output = home + "/body.sig"
        try body.write(to: URL(fileURLWithPath: input))
        try run(["--local-user", signer, "--detach-sign", "--output", output] + options + [input], fakedTime: fakedTime)
        return try Data(contentsOf: URL(fileURLWithPath: output))
    }

    /// Imports the revocation certificate gpg made with the key (its armor is defused with a
    /// leading colon, taken off here), revoking the key in this home.
    func revoke(_ fingerprint: String) throws {
        let certificate = try String(contentsOfFile: home + "/openpgp-revocs.d/\(fingerprint).rev", encoding: .utf8)
        let armor = certificate.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":-----") ? String($0.dropFirst()) : String($0) }.joined(separator: "\n")
        let file = home + "/revocation.asc"
        try armor.write(toFile: file, atomically: true, encoding: .utf8)
        try run(["--import", file])
    }

    /// The unprotected Ed25519 secret key of `fingerprint`'s primary key (RFC 9580 5.5.3: the
    /// public part, a zero S2K usage byte, the secret as an MPI), to craft signatures gpg will not make.
    func ed25519SecretKey(_ fingerprint: String) throws -> Curve25519.Signing.PrivateKey {
        let file = home + "/secret.gpg"
        try run(["--output", file, "--export-secret-keys", fingerprint])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        // Old-format tag 5 with a one-byte length, as gpg writes a short key: header, then body.
        guard bytes.count > 2, bytes[0] == 0x94 else { throw Failed(description: "unexpected secret key packet") }
        var at = 2 + 1 + 4 + 1  // header, version, time, algorithm
        at += 1 + Int(bytes[at])  // curve OID
        let mpiBytes = { (at: Int) in ((Int(bytes[at]) << 8) + Int(bytes[at + 1]) + 7) / 8 }
        at += 2 + mpiBytes(at)  // public point
        guard bytes[at] == 0 else { throw Failed(description: "the secret key is protected") }
        at += 1
        let length = mpiBytes(at)
        let secret = bytes[(at + 2)..<(at + 2 + length)]
        return try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0, count: 32 - length) + secret)
    }
}
