import FoundationEssentials

/// `hd_encryption`: whether what is stored on the device's disks is encrypted.
///
/// For every mounted file system on a block device (/proc/mounts) and every swap area (/proc/swaps) it
/// finds the block device and asks the device mapper: a device-mapper device (dm-N) whose
/// /sys/block/dm-N/dm/uuid starts with "CRYPT-LUKS" (or another dm-crypt format) is encrypted; any other
/// device-mapper device (LVM, RAID) is encrypted when everything under it, /sys/block/dm-N/slaves/*,
/// is, so LVM on LUKS counts; a plain disk or partition is not encrypted.
///
/// `all_encrypted` ignores /boot, /boot/efi and /efi: the boot loader must read them before anything
/// can be unlocked, so they are unencrypted on every encrypted system. zram swap lives in memory, not
/// on a disk, and is left out.
struct HDEncryptionPlugin: BuiltinPlugin {
    static let name = "hd_encryption"

    struct Report: Encodable {
        let mounts: [MountReport]
        let swap: [SwapReport]
        let allEncrypted: Knowable<Bool>
    }

    struct MountReport: Encodable {
        let mountPoint: String
        let device: String
        let filesystem: String
        let encrypted: Knowable<Bool>
    }

    struct SwapReport: Encodable {
        /// The partition or swap file, as /proc/swaps names it.
        let device: String
        let encrypted: Knowable<Bool>
    }

    static let bootMountPoints: Set<String> = ["/boot", "/boot/efi", "/efi"]

    static func collect(_ context: PluginContext) -> Knowable<Report> {
        let root = context.root
        guard let mounts = MountTable.diskMounts(root) else { return .unknown }
        let mountReports = mounts.map { mount in
            MountReport(
                mountPoint: mount.mountPoint,
                device: mount.device,
                filesystem: mount.filesystem,
                encrypted: Knowable(isEncrypted(devicePath: mount.device, root))
            )
        }
        let swapReports = swapAreas(root).map { area in
            SwapReport(device: area.path, encrypted: Knowable(isSwapEncrypted(area, mounts: mountReports, root)))
        }
        let counted =
            mountReports.filter { !bootMountPoints.contains($0.mountPoint) }.map(\.encrypted)
            + swapReports.map(\.encrypted)
        return .known(Report(mounts: mountReports, swap: swapReports, allEncrypted: .all(counted)))
    }

    // MARK: Swap

    private struct SwapArea {
        let path: String
        let isFile: Bool
    }

    /// /proc/swaps, after a header line: "/dev/dm-2  partition  999420  0  -2".
    private static func swapAreas(_ root: SystemRoot) -> [SwapArea] {
        let lines = root.readFile("/proc/swaps")?.split(whereSeparator: \.isNewline).dropFirst() ?? []
        return lines.compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2 else { return nil }
            let path = MountTable.unescape(fields[0])
            guard !path.hasPrefix("/dev/zram") else { return nil }
            return SwapArea(path: path, isFile: fields[1] == "file")
        }
    }

    /// A swap partition is judged like any device; a swap file like the file system it lives on
    /// (the mount with the longest mount point that contains it).
    private static func isSwapEncrypted(_ area: SwapArea, mounts: [MountReport], _ root: SystemRoot) -> Bool? {
        guard area.isFile else { return isEncrypted(devicePath: area.path, root) }
        let holder =
            mounts
            .filter { area.path.hasPrefix($0.mountPoint == "/" ? "/" : $0.mountPoint + "/") }
            .max { $0.mountPoint.count < $1.mountPoint.count }
        guard let holder, case .known(let encrypted) = holder.encrypted else { return nil }
        return encrypted
    }

    // MARK: Block devices

    /// nil when the device cannot be found in /sys.
    private static func isEncrypted(devicePath: String, _ root: SystemRoot) -> Bool? {
        guard let name = blockDeviceName(devicePath, root) else { return nil }
        return isEncrypted(blockDevice: name, root, depth: 0)
    }

    /// The dm-crypt formats, as cryptsetup writes them at the start of a device-mapper uuid.
    /// (dm-verity and dm-integrity use "CRYPT-VERITY" and "CRYPT-INTEGRITY", and encrypt nothing.)
    private static let encryptingUUIDPrefixes = [
        "CRYPT-LUKS", "CRYPT-PLAIN", "CRYPT-LOOPAES", "CRYPT-TCRYPT", "CRYPT-BITLK", "CRYPT-FVAULT2"
    ]

    /// Stacks are a few levels deep at most (LUKS, LVM, RAID); the bound only guards against a loop.
    private static let maximumStackDepth = 16

    private static func isEncrypted(blockDevice name: String, _ root: SystemRoot, depth: Int) -> Bool? {
        // Only device-mapper devices can encrypt; a disk or partition stores what it is given.
        guard name.hasPrefix("dm-") else { return false }
        guard depth < maximumStackDepth, root.isDirectory("/sys/block/\(name)/dm") else { return nil }
        let uuid = root.readValue("/sys/block/\(name)/dm/uuid") ?? ""
        if encryptingUUIDPrefixes.contains(where: uuid.hasPrefix) { return true }

        let underlying = root.listDirectory("/sys/block/\(name)/slaves")
        guard !underlying.isEmpty else { return false }
        let answers = underlying.map { isEncrypted(blockDevice: $0, root, depth: depth + 1) }
        if answers.contains(false) { return false }
        if answers.contains(nil) { return nil }
        return true
    }

    /// The kernel's name for the block device at a /dev path ("sda2", "dm-0"), following symlinks
    /// such as /dev/mapper/NAME -> ../dm-0 or /dev/disk/by-uuid/...; nil when /sys does not know it.
    private static func blockDeviceName(_ devicePath: String, _ root: SystemRoot) -> String? {
        let path = followSymlinks(devicePath, root)
        var name = path.split(separator: "/").last.map(String.init) ?? ""
        // Without the /dev/mapper symlink (udev not running) the mapper name is found in /sys.
        if path.hasPrefix("/dev/mapper/") {
            guard let mapped = deviceMapperDevice(named: name, root) else { return nil }
            name = mapped
        }
        return root.isDirectory("/sys/class/block/\(name)") || root.isDirectory("/sys/block/\(name)") ? name : nil
    }

    /// The dm-N whose /sys/block/dm-N/dm/name is `mapperName`.
    private static func deviceMapperDevice(named mapperName: String, _ root: SystemRoot) -> String? {
        root.listDirectory("/sys/block").first { device in
            device.hasPrefix("dm-") && root.readValue("/sys/block/\(device)/dm/name") == mapperName
        }
    }

    /// Resolves symlinks inside the root; absolute targets are taken inside the root too.
    private static func followSymlinks(_ path: String, _ root: SystemRoot) -> String {
        var current = path
        for _ in 0..<maximumStackDepth {
            guard let target = root.symlinkTarget(current) else { break }
            let directory = current.split(separator: "/").dropLast().joined(separator: "/")
            current = lexicallyNormalized(target.hasPrefix("/") ? target : "/\(directory)/\(target)")
        }
        return current
    }

    /// "/dev/mapper/../dm-0" is "/dev/dm-0". Done on the text alone: asking the file system would
    /// look at this machine instead of the root.
    private static func lexicallyNormalized(_ absolutePath: String) -> String {
        var components: [Substring] = []
        for component in absolutePath.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }
}
