import Foundation
import RookeryCore
import RookeryServer

/// One remote-shell session in `bin/clients show`: who opened it, when, its state, how long it
/// lasted (so far, while live), the bytes each way and why it ended. Never content: the server has none.
enum ShellSessionFormatter {
    static func line(_ session: ShellSessionRecord, now: Date) -> String {
        var text =
            "\(session.id)  \(RFC3339.string(from: session.openedAt))  \(session.state.rawValue)  "
            + "\(duration(session, now: now)) s  by \(session.openedBy)  "
            + "\(session.bytesToDevice) B to device, \(session.bytesToAdmin) B to admin"
        if let command = session.command { text += "  command: \(LogText.escaped(command, limit: 60))" }
        if let reason = session.closeReason { text += "  (\(LogText.escaped(reason, limit: 200)))" }
        return text
    }

    static func json(_ session: ShellSessionRecord, now: Date) -> JSONValue {
        .object([
            "session_id": .string(session.id), "opened_by": .string(session.openedBy),
            "opened_at": .string(RFC3339.string(from: session.openedAt)), "state": .string(session.state.rawValue),
            "seconds": .integer(duration(session, now: now)),
            "bytes_to_device": .integer(session.bytesToDevice), "bytes_to_admin": .integer(session.bytesToAdmin),
            "command": session.command.map(JSONValue.string) ?? .null,
            "closed_at": session.closedAt.map { .string(RFC3339.string(from: $0)) } ?? .null,
            "close_reason": session.closeReason.map(JSONValue.string) ?? .null
        ])
    }

    /// Whole seconds from opening to closing, or to now while it is live.
    static func duration(_ session: ShellSessionRecord, now: Date) -> Int64 {
        Int64(max(0, ((session.closedAt ?? now).timeIntervalSince(session.openedAt)).rounded()))
    }
}
