import FoundationEssentials

/// What signs a request body: a device's GnuPG home (`OpenPGP`) on real devices; the
/// benchmarks sign with keys made in-process, since gpg's tens of milliseconds per signature
/// would make a large load go stale before it is sent.
public protocol RequestSigner: Sendable {
    /// A binary detached OpenPGP signature of `data` by the key `fingerprint`.
    func sign(_ data: Data, fingerprint: String) throws -> Data
}

extension OpenPGP: RequestSigner {}
