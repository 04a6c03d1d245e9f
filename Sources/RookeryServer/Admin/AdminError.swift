import RookeryCore

/// An admin command could not be carried out; the message says why and what to do, the kind
/// decides the exit code (`notFound`, `conflict`, `input`; `failed` when none of those fits).
public struct AdminError: KindedError {
    public let kind: ErrorKind
    public let description: String
    public let hint: String?

    public init(_ kind: ErrorKind, _ description: String, hint: String? = nil) {
        self.kind = kind
        self.description = description
        self.hint = hint
    }

    /// A failure of no more particular kind.
    public init(_ description: String) { self.init(.failed, description) }

    public static func notFound(_ description: String, hint: String? = nil) -> AdminError { .init(.notFound, description, hint: hint) }
    public static func conflict(_ description: String, hint: String? = nil) -> AdminError { .init(.conflict, description, hint: hint) }
    public static func input(_ description: String, hint: String? = nil) -> AdminError { .init(.input, description, hint: hint) }
}
