import CGPGME
import FoundationEssentials

/// An OpenPGP error, carrying GPGME's own message so an admin can tell what went wrong.
public struct OpenPGPError: Error, CustomStringConvertible, Sendable {
    /// What a failed check means for the caller.
    public enum Kind: UInt8, Sendable {
        /// gpg's verdict: bad signature, bad key, bad data.
        case refused = 1
        /// The signing key is not in the keyring.
        case missingKey = 2
        /// gpg gave no verdict at all (it reported no signature); worth one more try.
        case noVerdict = 3
    }

    public let operation: String
    public let message: String
    public let kind: Kind
    public var description: String { "\(operation): \(message)" }

    init(_ operation: String, _ code: gpgme_error_t) {
        self.operation = operation
        self.message = String(cString: rookery_gpgme_strerror(code))
        self.kind = gpgme_err_code(code) == GPG_ERR_NO_PUBKEY ? .missingKey : .refused
    }

    public init(_ operation: String, message: String, kind: Kind = .refused) {
        self.operation = operation
        self.message = message
        self.kind = kind
    }
}

/// The outcome of checking a detached signature.
public struct VerifiedSignature: Sendable, Equatable {
    public enum Validity: String, Sendable {
        case unknown, undefined, never, marginal, full, ultimate
    }
    /// The full 40-hex fingerprint of the key that made the signature (upper case).
    public let fingerprint: String
    public let validity: Validity

    public init(fingerprint: String, validity: Validity) {
        self.fingerprint = fingerprint
        self.validity = validity
    }
}

/// OpenPGP operations over GPGME, bound to one GnuPG home directory.
///
/// Every call makes its own GPGME context, because a context is not thread-safe; so one `OpenPGP`
/// value may be used from several threads at once. Each call blocks while gpg runs: keep it off
/// event loops.
public struct OpenPGP: Sendable {
    public let homeDirectory: String

    public init(homeDirectory: String) {
        self.homeDirectory = homeDirectory
    }

    /// Creates the GnuPG home (mode 0700) if needed, with settings that suit unattended use.
    /// `publicKeysOnly` homes never start a gpg-agent: they only check signatures, and a stranger's
    /// key material must not make one appear.
    public func prepareHome(publicKeysOnly: Bool = false) throws {
        try FileManager.default.createDirectory(
            atPath: homeDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let conf = homeDirectory + "/gpg.conf"
        if !FileManager.default.fileExists(atPath: conf) {
            // Trust is decided by Rookery's own device states, not by the web of trust, and a
            // trustdb check must never stall a request.
            let options = "trust-model always\nno-auto-check-trustdb\n" + (publicKeysOnly ? "no-autostart\n" : "")
            try options.write(toFile: conf, atomically: true, encoding: .utf8)
        }
    }

    /// Generates an ed25519 signing key without passphrase and returns its fingerprint.
    public func generateSigningKey(userID: String) throws -> String {
        try generateKey(userID: userID, algorithm: "ed25519", flags: GPGME_CREATE_SIGN)
    }

    /// Generates a key that can receive encrypted messages (an ed25519 primary key with a cv25519
    /// encryption subkey, no passphrase, no expiry) and returns the primary key's fingerprint.
    /// FORCE: a rotation makes the new key beside the old one, whose user ID may be alike.
    public func generateEncryptionKey(userID: String) throws -> String {
        try generateKey(userID: userID, algorithm: "future-default", flags: GPGME_CREATE_FORCE)
    }

    private func generateKey(userID: String, algorithm: String, flags: Int32) throws -> String {
        try withContext("generate key") { ctx in
            let flags = UInt32(flags | GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE)
            try check("generate key", rookery_gpgme_op_createkey(ctx, userID, algorithm, 0, 0, nil, flags))
            guard let result = rookery_gpgme_op_genkey_result(ctx), let fpr = result.pointee.fpr else {
                throw OpenPGPError("generate key", message: "gpg returned no fingerprint")
            }
            return String(cString: fpr).uppercased()
        }
    }

    /// Fingerprints of the secret keys in this home.
    public func secretKeyFingerprints() throws -> [String] {
        try listKeys(secret: true)
    }

    /// Exports one public key, ASCII-armored, without third-party signatures.
    public func exportPublicKey(fingerprint: String) throws -> String {
        try withContext("export key") { ctx in
            rookery_gpgme_set_armor(ctx, 1)
            let out = try DataBuffer()
            try check("export key", rookery_gpgme_op_export(ctx, fingerprint, gpgme_export_mode_t(GPGME_EXPORT_MODE_MINIMAL), out.handle))
            let text = String(decoding: out.contents(), as: UTF8.self)
            guard !text.isEmpty else { throw OpenPGPError("export key", message: "no key \(fingerprint)") }
            return text
        }
    }

    /// Exports one secret key with its subkeys, ASCII-armored. Only for short-lived homes: the
    /// result is the whole private key.
    public func exportSecretKey(fingerprint: String) throws -> Data {
        try withContext("export secret key") { ctx in
            rookery_gpgme_set_armor(ctx, 1)
            let out = try DataBuffer()
            try check("export secret key", rookery_gpgme_op_export(ctx, fingerprint, gpgme_export_mode_t(GPGME_EXPORT_MODE_SECRET), out.handle))
            let key = out.contents()
            guard !key.isEmpty else { throw OpenPGPError("export secret key", message: "no secret key \(fingerprint)") }
            return key
        }
    }

    /// Imports keys (armored or binary) and returns the fingerprints gpg reported.
    @discardableResult
    public func importKeys(_ keyData: Data) throws -> [String] {
        try withContext("import key") { ctx in
            let input = try DataBuffer(copying: keyData)
            try check("import key", rookery_gpgme_op_import(ctx, input.handle))
            guard let result = rookery_gpgme_op_import_result(ctx) else { return [] }
            var fingerprints: [String] = []
            var status = result.pointee.imports
            while let s = status {
                if gpgme_err_code(s.pointee.result) == GPG_ERR_NO_ERROR, let fpr = s.pointee.fpr {
                    fingerprints.append(String(cString: fpr).uppercased())
                }
                status = s.pointee.next
            }
            return fingerprints
        }
    }

    /// Makes a binary detached signature of `data` with the given secret key.
    public func sign(_ data: Data, fingerprint: String) throws -> Data {
        try withContext("sign") { ctx in
            var key: gpgme_key_t?
            try check("sign (find key \(fingerprint))", rookery_gpgme_get_key(ctx, fingerprint, &key, 1))
            defer { rookery_gpgme_key_unref(key) }
            try check("sign", rookery_gpgme_signers_add(ctx, key))
            let input = try DataBuffer(copying: data)
            let out = try DataBuffer()
            try check("sign", rookery_gpgme_op_sign(ctx, input.handle, out.handle, GPGME_SIG_MODE_DETACH))
            return out.contents()
        }
    }

    /// Verifies a detached signature over `data`. Succeeds only for exactly one good signature
    /// by a key in this home; returns who made it.
    public func verify(signature: Data, data: Data) throws -> VerifiedSignature {
        try withContext("verify") { ctx in
            let sig = try DataBuffer(copying: signature)
            let signed = try DataBuffer(copying: data)
            try check("verify", rookery_gpgme_op_verify(ctx, sig.handle, signed.handle, nil))
            guard let result = rookery_gpgme_op_verify_result(ctx), let first = result.pointee.signatures else {
                throw OpenPGPError("verify", message: "no signature found", kind: .noVerdict)
            }
            guard first.pointee.next == nil else {
                throw OpenPGPError("verify", message: "more than one signature")
            }
            let status = first.pointee.status
            guard gpgme_err_code(status) == GPG_ERR_NO_ERROR else { throw OpenPGPError("verify", status) }
            guard let fpr = first.pointee.fpr else { throw OpenPGPError("verify", message: "signature has no fingerprint") }
            return VerifiedSignature(
                fingerprint: String(cString: fpr).uppercased(),
                validity: Self.validity(first.pointee.validity))
        }
    }

    /// Encrypts `data` to one key of this home (binary OpenPGP message). The key's validity is
    /// not asked of the web of trust: Rookery chose the key itself and checked its fingerprint.
    /// The recipient goes to gpg by fingerprint, so encrypting costs one gpg run (looking the key
    /// up first would cost two more: a key listing and its engine's version check).
    public func encrypt(_ data: Data, to fingerprint: String) throws -> Data {
        guard let fingerprint = InputValidation.fingerprint(fingerprint) else {
            throw OpenPGPError("encrypt", message: "the recipient is not a 40-hex fingerprint")
        }
        return try withContext("encrypt") { ctx in
            let input = try DataBuffer(copying: data)
            let out = try DataBuffer()
            let flags = gpgme_encrypt_flags_t(GPGME_ENCRYPT_ALWAYS_TRUST.rawValue)
            // "--" ends gpg's option parsing: what follows is only ever a recipient.
            try check("encrypt", rookery_gpgme_op_encrypt_ext(ctx, nil, "--\n" + fingerprint, flags, input.handle, out.handle))
            return out.contents()
        }
    }

    /// Decrypts an OpenPGP message with a secret key of this home.
    public func decrypt(_ message: Data) throws -> Data {
        try withContext("decrypt") { ctx in
            let input = try DataBuffer(copying: message)
            let out = try DataBuffer()
            try check("decrypt", rookery_gpgme_op_decrypt(ctx, input.handle, out.handle))
            return out.contents()
        }
    }

    /// Deletes a public key (used when a device is forgotten).
    public func deletePublicKey(fingerprint: String) throws {
        try withContext("delete key") { ctx in
            var key: gpgme_key_t?
            try check("delete key", rookery_gpgme_get_key(ctx, fingerprint, &key, 0))
            defer { rookery_gpgme_key_unref(key) }
            try check("delete key", rookery_gpgme_op_delete_ext(ctx, key, UInt32(GPGME_DELETE_FORCE)))
        }
    }

    /// Makes this home the one every new GPGME context starts with, so busy callers (the server's
    /// keyring, a device's own key) skip a `gpg --version` run per operation. The first home to
    /// ask wins; later ones keep working, at the old cost. Returns whether this home is the default.
    @discardableResult
    public func makeProcessDefault() -> Bool {
        GPGMELibrary.makeProcessDefault(homeDirectory)
    }

    /// Stops the gpg-agent of this home (tests and short-lived homes); gives up on gpgconf after
    /// 10 s, so a stuck one (or a child of it holding its output open) cannot hang the caller.
    public func stopAgent() {
        guard
            let gpgconf = ChildProcess.spawn(
                "/usr/bin/gpgconf", ["--homedir", homeDirectory, "--kill", "all"],
                environment: ProcessInfo.processInfo.environment)
        else { return }
        let deadline = Date().addingTimeInterval(10)
        guard gpgconf.readOutput(limit: 0, until: deadline) != nil, gpgconf.waitForExit(until: deadline) != nil else {
            return gpgconf.stop()
        }
    }

    // MARK: - Plumbing

    private func listKeys(secret: Bool) throws -> [String] {
        try withContext("list keys") { ctx in
            try check("list keys", rookery_gpgme_op_keylist_start(ctx, nil, secret ? 1 : 0))
            var fingerprints: [String] = []
            var key: gpgme_key_t?
            while gpgme_err_code(rookery_gpgme_op_keylist_next(ctx, &key)) == GPG_ERR_NO_ERROR, let k = key {
                if let fpr = k.pointee.fpr { fingerprints.append(String(cString: fpr).uppercased()) }
                rookery_gpgme_key_unref(k)
            }
            rookery_gpgme_op_keylist_end(ctx)
            return fingerprints
        }
    }

    private func withContext<T>(_ operation: String, _ body: (gpgme_ctx_t) throws -> T) throws -> T {
        try GPGMELibrary.load(operation)
        var ctx: gpgme_ctx_t?
        try check(operation, rookery_gpgme_new(&ctx))
        guard let context = ctx else { throw OpenPGPError(operation, message: "no context") }
        defer { rookery_gpgme_release(context) }
        try check(operation, rookery_gpgme_set_protocol(context, GPGME_PROTOCOL_OpenPGP))
        if !GPGMELibrary.isProcessDefault(homeDirectory) {
            // Costs an extra `gpg --version` run per context; the process default home avoids it.
            try check(operation, rookery_gpgme_ctx_set_engine_info(context, GPGME_PROTOCOL_OpenPGP, nil, homeDirectory))
        }
        // Never ask anybody for a passphrase: Rookery's keys have none, and nobody is there to type.
        _ = rookery_gpgme_set_pinentry_mode(context, GPGME_PINENTRY_MODE_LOOPBACK)
        return try body(context)
    }

    private func check(_ operation: String, _ code: gpgme_error_t) throws {
        if gpgme_err_code(code) != GPG_ERR_NO_ERROR { throw OpenPGPError(operation, code) }
    }

    private static func validity(_ v: gpgme_validity_t) -> VerifiedSignature.Validity {
        switch v {
        case GPGME_VALIDITY_UNDEFINED: return .undefined
        case GPGME_VALIDITY_NEVER: return .never
        case GPGME_VALIDITY_MARGINAL: return .marginal
        case GPGME_VALIDITY_FULL: return .full
        case GPGME_VALIDITY_ULTIMATE: return .ultimate
        default: return .unknown
        }
    }
}

/// Process-wide GPGME state: the library is loaded (and `gpgme_check_version` run) once, before
/// any other call, and the default engine home may be set once.
enum GPGMELibrary {
    /// nil once libgpgme is loaded, else why it could not be.
    private static let loadFailure: String? = rookery_gpgme_load().map { String(cString: $0) }
    private static let defaultHome = Locked<String?>(nil)

    static func load(_ operation: String) throws {
        if let loadFailure { throw OpenPGPError(operation, message: loadFailure) }
    }

    static func makeProcessDefault(_ home: String) -> Bool {
        guard loadFailure == nil else { return false }
        return defaultHome.withLock { defaultHome in
            if defaultHome == nil,
                gpgme_err_code(rookery_gpgme_set_engine_info(GPGME_PROTOCOL_OpenPGP, nil, home)) == GPG_ERR_NO_ERROR
            {
                defaultHome = home
            }
            return defaultHome == home
        }
    }

    static func isProcessDefault(_ home: String) -> Bool {
        defaultHome.current == home
    }
}

/// A GPGME in-memory data object that releases itself.
final class DataBuffer {
    let handle: gpgme_data_t

    init() throws {
        var h: gpgme_data_t?
        let rc = rookery_gpgme_data_new(&h)
        guard gpgme_err_code(rc) == GPG_ERR_NO_ERROR, let made = h else { throw OpenPGPError("data", rc) }
        handle = made
    }

    init(copying data: Data) throws {
        var h: gpgme_data_t?
        let rc = data.withUnsafeBytes { raw in
            rookery_gpgme_data_new_from_mem(&h, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, 1)
        }
        guard gpgme_err_code(rc) == GPG_ERR_NO_ERROR, let made = h else { throw OpenPGPError("data", rc) }
        handle = made
    }

    /// Everything written into the buffer so far.
    func contents() -> Data {
        rookery_gpgme_data_seek(handle, 0, SEEK_SET)
        var result = Data()
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = rookery_gpgme_data_read(handle, &chunk, chunk.count)
            if n <= 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    deinit { rookery_gpgme_data_release(handle) }
}
