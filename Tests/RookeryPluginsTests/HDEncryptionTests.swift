import Foundation
import Testing

@Suite("hd_encryption")
struct HDEncryptionTests {
    @Test("LVM on LUKS is encrypted all the way down; /boot is listed but not held against it")
    func lvmOnLUKS() throws {
        let report = try Sandbox(fixture: "lvm-on-luks").run("hd_encryption")
        let mounts = report["mounts"]
        #expect(mounts.elements.count == 4)  // no sysfs, proc, tmpfs, or snap image
        #expect(mounts.first(where: "mount_point", is: "/")["device"] == "/dev/mapper/vg-root")
        #expect(mounts.first(where: "mount_point", is: "/")["encrypted"] == true)
        #expect(mounts.first(where: "mount_point", is: "/home")["encrypted"] == true)
        #expect(mounts.first(where: "mount_point", is: "/boot")["encrypted"] == false)
        #expect(mounts.first(where: "mount_point", is: "/boot/efi")["filesystem"] == "vfat")
        #expect(report["swap"] == [["device": "/dev/dm-2", "encrypted": true]])
        #expect(report["all_encrypted"] == true)
    }

    @Test("a /dev/mapper symlink is followed to its dm-N device")
    func mapperSymlink() throws {
        let sandbox = try Sandbox(fixture: "lvm-on-luks")
        // Point vg-home at the plain /boot partition: only the symlink can tell that.
        try sandbox.root.symlink("/dev/mapper/vg-home", to: "../nvme0n1p2")
        let report = try sandbox.run("hd_encryption")
        #expect(report["mounts"].first(where: "mount_point", is: "/home")["encrypted"] == false)
        #expect(report["all_encrypted"] == false)
    }

    @Test("a volume group spanning an encrypted and a plain partition is not encrypted")
    func volumeGroupWithPlainMember() throws {
        let sandbox = try Sandbox(fixture: "lvm-on-luks")
        try sandbox.root.write("/sys/class/block/nvme0n1p4/dev", "259:4\n")
        try sandbox.root.write("/sys/block/dm-3/slaves/nvme0n1p4/dev", "259:4\n")
        let report = try sandbox.run("hd_encryption")
        #expect(report["mounts"].first(where: "mount_point", is: "/home")["encrypted"] == false)
        #expect(report["mounts"].first(where: "mount_point", is: "/")["encrypted"] == true)
        #expect(report["all_encrypted"] == false)
    }

    @Test("dm-verity is not encryption")
    func verityIsNotEncryption() throws {
        let sandbox = try Sandbox(fixture: "lvm-on-luks")
        try sandbox.root.write("/sys/block/dm-0/dm/uuid", "CRYPT-VERITY-0123456789abcdef-nvme0n1p3_verity\n")
        #expect(try sandbox.run("hd_encryption")["all_encrypted"] == false)
    }

    @Test("plain ext4 is not encrypted; an unknown device is \"unknown\"; a swap file follows its file system")
    func plainExt4() throws {
        let report = try Sandbox(fixture: "plain-ext4").run("hd_encryption")
        #expect(
            report["mounts"] == [
                ["mount_point": "/", "device": "/dev/sda1", "filesystem": "ext4", "encrypted": false],
                // The space is written "\040" in /proc/mounts; /dev/sdb1 is not in the fixture's /sys.
                ["mount_point": "/srv/backup disk", "device": "/dev/sdb1", "filesystem": "ext4", "encrypted": "unknown"]
            ])
        // zram swap is memory, not disk, and is left out.
        #expect(report["swap"] == [["device": "/swapfile", "encrypted": false]])
        #expect(report["all_encrypted"] == false)
    }
}
