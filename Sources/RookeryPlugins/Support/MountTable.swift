import FoundationEssentials

/// One line of /proc/mounts.
struct Mount: Equatable {
    let device: String
    let mountPoint: String
    let filesystem: String
}

/// The kernel's list of mounted file systems, /proc/mounts.
enum MountTable {
    /// Read-only images (snap packages, CDs) sit on block devices but hold no data of the device's own.
    private static let imageFilesystems: Set<String> = ["squashfs", "iso9660", "udf", "erofs"]

    /// Every mount, in the kernel's order; nil when /proc/mounts cannot be read.
    static func all(_ root: SystemRoot) -> [Mount]? {
        guard let text = root.readFile("/proc/mounts") else { return nil }
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3 else { return nil }
            return Mount(
                device: unescape(fields[0]),
                mountPoint: unescape(fields[1]),
                filesystem: String(fields[2])
            )
        }
    }

    /// Mounts of real file systems: those on a block device ("/dev/..."), which leaves out tmpfs, proc,
    /// sysfs, cgroups and the like, and read-only images. Nil when /proc/mounts cannot be read.
    static func diskMounts(_ root: SystemRoot) -> [Mount]? {
        all(root)?.filter { $0.device.hasPrefix("/dev/") && !imageFilesystems.contains($0.filesystem) }
    }

    /// The kernel writes space, tab, newline and backslash in paths as octal escapes ("\040").
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        let source = Array(field.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 3 < source.count,
                let value = UInt8(String(decoding: source[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
