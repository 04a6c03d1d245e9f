/// Why splitting, combining, reading or writing shares was refused. Messages name the share (by
/// x coordinate) or the file and what to do; they never hold share or secret bytes.
public enum SecretSharingError: Error, Equatable, Sendable, CustomStringConvertible {
    // Splitting
    case emptySecret
    case thresholdOutOfRange(threshold: Int)
    case thresholdAboveShareCount(threshold: Int, shareCount: Int)
    case tooManyShares(count: Int)
    // Splitting and combining
    case zeroXCoordinate
    case duplicateXCoordinate(UInt8)
    // Combining
    case noShares
    case emptyShare(x: UInt8)
    case unequalShareLengths(x: UInt8, length: Int, expected: Int)
    // Share files
    case badShareFileName(path: String, problem: String)
    case badShareFileStem(String)
    case emptyShareFile(path: String)
    case shareFileTooLarge(path: String, limit: Int)
    case notARegularFile(path: String, kind: String)
    case shareFileExists(path: String)
    case fileSystem(path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case .emptySecret:
            return "the secret to split is empty"
        case .thresholdOutOfRange(let threshold):
            return "threshold \(threshold) is out of range: it must be 1 to 255"
        case .thresholdAboveShareCount(let threshold, let shareCount):
            return
                "threshold \(threshold) is more than the \(shareCount) shares asked for: the secret could never be recombined; ask for at least \(threshold) shares or lower the threshold"
        case .tooManyShares(let count):
            return "\(count) shares asked for: at most 255 are possible (one per nonzero byte value)"
        case .zeroXCoordinate:
            return "a share has x coordinate 0, which would be the secret itself; x must be 1 to 255"
        case .duplicateXCoordinate(let x):
            return "share \(x) is given twice; each share must have its own x coordinate (file suffix .NNN)"
        case .noShares:
            return "no shares given: at least the threshold number of shares is needed"
        case .emptyShare(let x):
            return "share \(x) is empty: it is not a share of anything"
        case .unequalShareLengths(let x, let length, let expected):
            return
                "share \(x) is \(length) bytes long but the first share is \(expected): shares of one secret all have its length; a share is damaged or from another secret"
        case .badShareFileName(let path, let problem):
            return "share file \(path): \(problem); share files are named STEM.NNN where NNN is the share's x coordinate, 001 to 255"
        case .badShareFileStem(let stem):
            return "share file stem \(stem.debugDescription) cannot be used: it must be a non-empty file name without '/'"
        case .emptyShareFile(let path):
            return "share file \(path) is empty: it holds no share; use the keeper's original copy"
        case .shareFileTooLarge(let path, let limit):
            return "share file \(path) is larger than \(limit) bytes, more than any share Rookery reads: is it the right file?"
        case .notARegularFile(let path, let kind):
            return "share file \(path) is \(kind), not a regular file: give the path of the share file itself"
        case .shareFileExists(let path):
            return "share file \(path) already exists and is not overwritten: move it away or write the shares to another directory"
        case .fileSystem(let path, let operation, let reason):
            return "cannot \(operation) share file \(path): \(reason)"
        }
    }
}
