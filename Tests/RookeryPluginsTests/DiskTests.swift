import Foundation
import Testing

@Suite("disk")
struct DiskTests {
    /// The fixture's "/" is the fixture directory, so its numbers are those of the disk the tests run
    /// on: consistent, but not known in advance.
    @Test("real file systems only, sized with statvfs; a mount point missing from the tree is \"unknown\"")
    func filesystems() throws {
        let report = try Sandbox(fixture: "plain-ext4").run("disk")
        let filesystems = report["filesystems"].elements
        #expect(filesystems.map { $0["mount_point"] } == ["/", "/srv/backup disk"])

        let root = report["filesystems"].first(where: "mount_point", is: "/")
        #expect(root["device"] == "/dev/sda1")
        #expect(root["filesystem"] == "ext4")
        let size = try #require(root["size_bytes"].number)
        let used = try #require(root["used_bytes"].number)
        let available = try #require(root["available_bytes"].number)
        #expect(size > 0)
        #expect(used + available <= size)

        let backup = report["filesystems"].first(where: "mount_point", is: "/srv/backup disk")
        #expect(backup["size_bytes"] == "unknown")
        #expect(backup["available_bytes"] == "unknown")
    }
}
