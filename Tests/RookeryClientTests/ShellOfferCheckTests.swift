import Foundation
import RookeryCore
import Testing

@testable import RookeryClient

/// `CheckedShellOffer`: the device checks every field of a signed offer again before it names a
/// file, derives keys, sets TERM or runs a command. Each bad field is refused on its own.
@Suite struct ShellOfferCheckTests {
    static let id = String(repeating: "ab", count: 16)
    static let key = Data(repeating: 9, count: 32)

    static func offer(
        id: String = id, key: Data = key, openedBy: String = "user admin", term: String? = "xterm-256color",
        rows: Int? = 40, columns: Int? = 120, command: String? = nil
    ) -> ShellOffer {
        ShellOffer(sessionID: id, adminKey: key, openedBy: openedBy, term: term, rows: rows, columns: columns, command: command)
    }

    @Test func aGoodOfferPassesWithItsTerminal() throws {
        let checked = try CheckedShellOffer(Self.offer(command: "uptime"))
        #expect(checked.terminal == (try ShellTerminal(type: "xterm-256color", rows: 40, columns: 120)))
        #expect(checked.sessionID == Self.id)
        let plain = try CheckedShellOffer(Self.offer(term: nil, rows: nil, columns: nil))
        #expect(plain.terminal == (try ShellTerminal(type: "xterm", rows: 24, columns: 80)))
    }

    @Test(arguments: [
        (offer(id: String(repeating: "AB", count: 16)), "session id"),
        (offer(id: String(repeating: "a", count: 31)), "session id"),
        (offer(id: "../../../../etc/passwd0123456789"), "session id"),
        (offer(key: Data(repeating: 9, count: 31)), "admin's key"),
        (offer(key: Data(repeating: 9, count: 33)), "admin's key"),
        (offer(openedBy: ""), "who opened"),
        (offer(openedBy: "user a\nforged log line"), "who opened"),
        (offer(openedBy: String(repeating: "u", count: 257)), "who opened"),
        (offer(term: "xterm\nLD_PRELOAD=/tmp/x"), "TERM"),
        (offer(term: ""), "TERM"),
        (offer(term: String(repeating: "x", count: 65)), "TERM"),
        (offer(rows: 0), "rows"),
        (offer(rows: -1), "rows"),
        (offer(rows: 70_000), "rows"),
        (offer(columns: 10_001), "columns"),
        (offer(command: ""), "command"),
        (offer(command: "echo a\u{0}rm -rf /"), "command"),
        (offer(command: String(repeating: "x", count: ShellSession.maxCommandCount + 1)), "command")
    ])
    func eachBadFieldIsRefused(offer: ShellOffer, names: String) {
        #expect {
            try CheckedShellOffer(offer)
        } throws: { error in
            "\(error)".contains(names)
        }
    }
}
