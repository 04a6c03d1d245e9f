import FoundationEssentials
import Glibc

/// `disk`: how big each mounted file system is and how full.
///
/// File systems are the /proc/mounts entries on a block device (no tmpfs, proc, snap images, ...);
/// sizes come from statvfs(3) on the mount point. The mount point is looked up under the root, so in
/// a fixture tree the numbers are those of the file system holding the fixture directory: tests can
/// check that sizes are there and consistent, not particular values.
struct DiskPlugin: BuiltinPlugin {
    static let name = "disk"

    struct Report: Encodable {
        let filesystems: [Filesystem]
    }

    struct Filesystem: Encodable {
        let mountPoint: String
        let device: String
        let filesystem: String
        let sizeBytes: Knowable<UInt64>
        let usedBytes: Knowable<UInt64>
        /// What an ordinary user can still write: root's reserved blocks are not counted.
        let availableBytes: Knowable<UInt64>
    }

    static func collect(_ context: PluginContext) -> Knowable<Report> {
        guard let mounts = MountTable.diskMounts(context.root) else { return .unknown }
        let filesystems = mounts.map { mount in
            let usage = usage(of: context.root.resolve(mount.mountPoint))
            return Filesystem(
                mountPoint: mount.mountPoint,
                device: mount.device,
                filesystem: mount.filesystem,
                sizeBytes: Knowable(usage?.size),
                usedBytes: Knowable(usage?.used),
                availableBytes: Knowable(usage?.available)
            )
        }
        return .known(Report(filesystems: filesystems))
    }

    private struct Usage {
        let size: UInt64
        let used: UInt64
        let available: UInt64
    }

    private static func usage(of path: String) -> Usage? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let blockSize = UInt64(stats.f_frsize)
        let blocks = UInt64(stats.f_blocks)
        let freeBlocks = min(UInt64(stats.f_bfree), blocks)
        let (size, sizeOverflow) = blocks.multipliedReportingOverflow(by: blockSize)
        let (available, availableOverflow) = UInt64(stats.f_bavail).multipliedReportingOverflow(by: blockSize)
        guard !sizeOverflow, !availableOverflow else { return nil }
        return Usage(size: size, used: (blocks - freeBlocks) * blockSize, available: available)
    }
}
