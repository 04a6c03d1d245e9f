import FoundationEssentials
import RookeryCore

/// A shell offer every field of which was checked on the device. The server signed the answer it
/// came in and checked the fields itself; the device checks them again because they reach a file
/// name (the session id), the key exchange, the shell's environment (TERM) and exec (the command).
public struct CheckedShellOffer: Sendable, Equatable {
    public let offer: ShellOffer
    /// TERM and the window size, with the defaults for what the offer leaves out.
    public let terminal: ShellTerminal

    /// The offer names who opened it for the device's log: a user name or an address.
    public static let maxOpenedByCount = 256
    public static let defaultTerm = "xterm"
    public static let defaultRows: UInt16 = 24
    public static let defaultColumns: UInt16 = 80

    public init(_ offer: ShellOffer) throws(ShellSessionError) {
        guard ShellOffer.isSessionID(offer.sessionID) else {
            throw .badRequest("the session id is not 32 lowercase hex digits")
        }
        guard offer.adminKey.count == ShellKeyExchange.publicKeySize else {
            throw .badRequest("the admin's key is \(offer.adminKey.count) bytes, not \(ShellKeyExchange.publicKeySize)")
        }
        guard !offer.openedBy.isEmpty, offer.openedBy.utf8.count <= Self.maxOpenedByCount,
            offer.openedBy.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else {
            throw .badRequest("who opened the shell must be named in 1 to \(Self.maxOpenedByCount) bytes without control characters")
        }
        let rows = try Self.dimension(offer.rows, "rows", default: Self.defaultRows)
        let columns = try Self.dimension(offer.columns, "columns", default: Self.defaultColumns)
        terminal = try ShellTerminal(type: offer.term ?? Self.defaultTerm, rows: rows, columns: columns)
        if let command = offer.command {
            guard !command.isEmpty, command.utf8.count <= ShellSession.maxCommandCount, !command.utf8.contains(0) else {
                throw .badRequest("a command must be 1 to \(ShellSession.maxCommandCount) bytes without NUL")
            }
        }
        self.offer = offer
    }

    public var sessionID: String { offer.sessionID }

    /// An Int from JSON as a terminal dimension: negative or huge ones are refused, not wrapped.
    private static func dimension(_ value: Int?, _ name: String, default fallback: UInt16) throws(ShellSessionError) -> UInt16 {
        guard let value else { return fallback }
        guard let exact = UInt16(exactly: value), (1...ShellTerminal.maxDimension).contains(exact) else {
            throw .badRequest("\(name) must be 1 to \(ShellTerminal.maxDimension), not \(value)")
        }
        return exact
    }
}
