import Foundation
import Logging
import RookeryCore

/// Every `interval`, renders the managed state again in the server, so a rule written from a
/// group's addresses follows a member that moved, and a device that joined a group gets its
/// settings, without an admin applying anything. Each server process refreshes; the writes are
/// idempotent.
public struct ManagedStateRefresher: Sendable {
    let renderer: ManagedStateRenderer
    let logger: Logger
    public static let interval = Duration.seconds(60)

    public init(store: any Store, logger: Logger) {
        renderer = ManagedStateRenderer(store: store)
        self.logger = logger
    }

    /// Refreshes until the task is cancelled; a failed refresh is logged and tried again next time.
    public func run() async {
        while !Task.isCancelled {
            do {
                let changed = try await renderer.refresh()
                if changed > 0 { logger.notice("managed state rendered again", metadata: ["devices_changed": "\(changed)"]) }
            } catch {
                logger.warning("managed state refresh failed: \(error)")
            }
            try? await Task.sleep(for: Self.interval)
        }
    }
}
