/// A file Rookery wrote earlier (a release record, a queue item, a key) that no longer reads as
/// it should: torn by a crash, or changed by hand. The message names the file and says what
/// follows; the hint, what mends it.
public struct DamagedFile: KindedError, Sendable {
    public let path: String
    public let problem: String
    public let hint: String?

    public init(_ path: String, _ problem: String, hint: String? = nil) {
        self.path = path
        self.problem = problem
        self.hint = hint
    }

    public var kind: ErrorKind { .io }
    public var description: String { "\(path) is damaged: \(problem)" }
}
