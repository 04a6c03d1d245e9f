import Foundation
import RookeryCore

/// Where a queued file change stands. Only `pending` patches go to the device.
public enum PatchState: String, Codable, Sendable, CaseIterable {
    case pending, applied, refused, failed, cancelled
}

/// A file change queued for one device (`bin/patch_hosts`, `bin/client_command`, `bin/client_wipe`).
public struct Patch: Sendable, Equatable {
    public var id: Int64
    public var fingerprint: String
    public var target: String
    public var action: PatchAction
    public var mode: Int
    public var content: Data
    public var state: PatchState
    public var createdAt: Date
    public var finishedAt: Date?
    /// What the device said when it acknowledged, or why an admin cancelled.
    public var message: String

    public init(
        id: Int64 = 0, fingerprint: String, target: String, action: PatchAction, mode: Int,
        content: Data, state: PatchState = .pending, createdAt: Date, finishedAt: Date? = nil,
        message: String = ""
    ) {
        self.id = id
        self.fingerprint = fingerprint
        self.target = target
        self.action = action
        self.mode = mode
        self.content = content
        self.state = state
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.message = message
    }

    var instruction: PatchInstruction {
        PatchInstruction(id: id, target: target, action: action, mode: mode, content: content)
    }
}
