import Foundation
import RookeryCore

/// Which groups one device is in, as a release for some groups asks it: static members from the
/// store, dynamic groups by their condition over the device's latest document. Read only while
/// such a release is newer than what the device runs, so an update check costs nothing more
/// the rest of the time.
struct ReleaseAudience {
    let groups: Set<String>

    static func of(_ fingerprint: String, in store: any Store) async throws -> ReleaseAudience {
        let membership = try await GroupMembership.load(from: store)
        var device: AuditSubject?
        if let found = try await store.device(fingerprint: fingerprint) {
            var subject = AuditSubject(device: found)
            if membership.groups.contains(where: \.isDynamic), let document = try await store.latestDocument(fingerprint: fingerprint) {
                for path in membership.paths { subject.projection.values[path] = document.value(at: path) }
            }
            device = subject
        }
        return ReleaseAudience(groups: device.map { Set(membership.groups(of: $0)) } ?? [])
    }

    func isIn(anyOf wanted: [String]) -> Bool { wanted.contains(where: groups.contains) }
}
