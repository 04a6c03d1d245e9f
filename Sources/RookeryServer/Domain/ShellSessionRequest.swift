import Foundation
import RookeryCore

/// What an admin asks for when opening a shell; checked by `validated()` before it is stored.
public struct ShellSessionRequest: Sendable, Equatable {
    public static let maxOpenedByCount = 256
    public static let maxTermCount = 64
    public static let maxCommandCount = 16 * 1024
    /// Terminal sizes go in 16-bit fields of the window-size message.
    public static let sizeRange = 1...Int(UInt16.max)

    public var fingerprint: String
    public var openedBy: String
    public var adminKey: Data
    public var term: String?
    public var rows: Int?
    public var columns: Int?
    public var command: String?
    public var at: Date

    public init(
        fingerprint: String, openedBy: String, adminKey: Data, term: String? = nil, rows: Int? = nil,
        columns: Int? = nil, command: String? = nil, at: Date
    ) {
        self.fingerprint = fingerprint
        self.openedBy = openedBy
        self.adminKey = adminKey
        self.term = term
        self.rows = rows
        self.columns = columns
        self.command = command
        self.at = at
    }

    /// Throws `AdminError.input` naming the first field out of bounds.
    public func validate() throws {
        guard !openedBy.isEmpty, openedBy.utf8.count <= Self.maxOpenedByCount else {
            throw AdminError.input("the user opening a shell must be named in 1 to \(Self.maxOpenedByCount) bytes")
        }
        guard adminKey.count == ShellKeyExchange.publicKeySize else {
            throw AdminError.input(
                "the admin's shell key must be \(ShellKeyExchange.publicKeySize) bytes, not \(adminKey.count)")
        }
        if let term {
            // TERM ends up in the device's environment: printable ASCII only.
            guard !term.isEmpty, term.utf8.count <= Self.maxTermCount,
                term.utf8.allSatisfy({ (0x21...0x7e).contains($0) })
            else { throw AdminError.input("TERM must be 1 to \(Self.maxTermCount) printable ASCII characters") }
        }
        for (name, value) in [("rows", rows), ("columns", columns)] {
            if let value, !Self.sizeRange.contains(value) {
                throw AdminError.input("\(name) must be within \(Self.sizeRange), not \(value)")
            }
        }
        if let command {
            guard !command.isEmpty, command.utf8.count <= Self.maxCommandCount, !command.utf8.contains(0) else {
                throw AdminError.input(
                    "a shell command must be 1 to \(Self.maxCommandCount) bytes without NUL")
            }
        }
    }
}
