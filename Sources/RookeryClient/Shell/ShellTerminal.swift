/// The admin's terminal: its type (TERM) and window size.
public struct ShellTerminal: Sendable, Equatable {
    public let type: String
    public let rows: UInt16
    public let columns: UInt16

    /// Sizes past this are mistakes, not terminals.
    public static let maxDimension: UInt16 = 10_000
    static let maxTypeLength = 64

    /// Throws when TERM is not a plain name (it reaches the shell's environment) or the size is
    /// zero or absurd.
    public init(type: String, rows: UInt16, columns: UInt16) throws(ShellSessionError) {
        let allowed = { (byte: UInt8) in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || "-_.+".utf8.contains(byte)
        }
        guard !type.isEmpty, type.utf8.count <= Self.maxTypeLength, type.utf8.allSatisfy(allowed) else {
            throw .badRequest("TERM must be 1 to \(Self.maxTypeLength) letters, digits or -_.+")
        }
        try Self.checkSize(rows: rows, columns: columns)
        self.type = type
        self.rows = rows
        self.columns = columns
    }

    static func checkSize(rows: UInt16, columns: UInt16) throws(ShellSessionError) {
        guard (1...maxDimension).contains(rows), (1...maxDimension).contains(columns) else {
            throw .badRequest("a window size must be 1 to \(maxDimension) rows and columns")
        }
    }
}
