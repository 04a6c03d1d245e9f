import Foundation
import RookeryServer

/// How `bin/client_release` prints releases: text for people, JSON for scripts.
enum ReleaseFormatter {
    /// What a release just published carries, and where it is.
    static func published(_ published: ReleasePublishing.Published) -> String {
        var lines = [
            "published release \(published.record.number): \(published.tarball)",
            "\(published.record.files) files, \(published.record.size) bytes, sha256 \(published.record.sha256)",
            "devices will talk to \(published.serverURL) and check signatures against server key \(published.serverKey)"
        ]
        if let pinnedCA = published.pinnedCA { lines.append("they pin the CA in \(pinnedCA)") }
        if let groups = published.record.groups { lines.append("offered only to the members of \(groups.joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }

    static func table(_ releases: [ReleaseRecord]) -> String {
        guard !releases.isEmpty else { return "no releases; publish one with bin/client_release" }
        return
            (["RELEASE  CREATED               FILES  BYTES"]
            + releases.map {
                "\(String($0.number).padding(toLength: 7, withPad: " ", startingAt: 0))  \($0.createdAt)  "
                    + "\(String($0.files).padding(toLength: 5, withPad: " ", startingAt: 0))  \($0.size)"
                    + ($0.groups.map { "  for group \($0.joined(separator: ", "))" } ?? "")
            }).joined(separator: "\n")
    }

    static func json(_ releases: [ReleaseRecord]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(releases)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }
}
