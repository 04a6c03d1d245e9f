/// What the native signature checks answer (see `NativeSignatureCheck`).
public enum NativeVerdict: Sendable, Equatable {
    /// A good signature by the key with this fingerprint (40 hex, upper case): the primary key's,
    /// or the signing subkey's, as gpg reports it.
    case accepted(fingerprint: String)
    /// A signature gpg refuses too, for the reason given.
    case refused(String)
    /// Outside what the native checks read: only GPGME may judge it.
    case notUnderstood(String)
}

/// Thrown while reading keys and signatures for anything the native checks do not handle; it
/// becomes `NativeVerdict.notUnderstood`, never a refusal or an acceptance.
struct NotUnderstood: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
