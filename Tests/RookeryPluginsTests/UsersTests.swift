import Foundation
import Testing

@Suite("users")
struct UsersTests {
    /// One glibc `struct utmp` record for 64-bit Linux: 384 bytes, little-endian.
    private func utmpRecord(type: Int16, pid: Int32, line: String, user: String, host: String = "", seconds: Int32) -> Data {
        var record = [UInt8](repeating: 0, count: 384)
        func put(_ bytes: [UInt8], at offset: Int) {
            record.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        }
        func littleEndian<Integer: FixedWidthInteger>(_ value: Integer) -> [UInt8] {
            withUnsafeBytes(of: value.littleEndian, Array.init)
        }
        put(littleEndian(type), at: 0)
        put(littleEndian(pid), at: 4)
        put(Array(line.utf8), at: 8)
        put(Array(user.utf8), at: 44)
        put(Array(host.utf8), at: 76)
        put(littleEndian(seconds), at: 340)
        return Data(record)
    }

    @Test("accounts are uids from 1000 but nobody; logins are the USER_PROCESS records of utmp")
    func accountsAndLogins() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        var utmp = Data()
        utmp += utmpRecord(type: 2, pid: 0, line: "~", user: "reboot", seconds: 1_714_560_000)  // BOOT_TIME
        utmp += utmpRecord(type: 6, pid: 901, line: "tty1", user: "LOGIN", seconds: 1_714_560_010)  // LOGIN_PROCESS
        utmp += utmpRecord(type: 7, pid: 1502, line: "tty2", user: "alice", seconds: 1_714_560_100)
        utmp += utmpRecord(type: 7, pid: 2210, line: "pts/0", user: "bob", host: "203.0.113.9", seconds: 1_714_563_600)
        utmp += utmpRecord(type: 8, pid: 2300, line: "pts/1", user: "bob", seconds: 1_714_563_000)  // DEAD_PROCESS
        utmp += Data(repeating: 0x41, count: 100)  // a torn last record
        try sandbox.root.write("/run/utmp", data: utmp)

        let report = try sandbox.run("users")
        #expect(
            report["accounts"] == [
                ["name": "alice", "uid": 1000, "home": "/home/alice", "shell": "/bin/bash"],
                ["name": "bob", "uid": 1001, "home": "/home/bob", "shell": "/usr/bin/zsh"]
            ])
        #expect(
            report["logged_in"] == [
                ["user": "alice", "line": "tty2", "since": "2024-05-01T10:41:40Z"],
                ["user": "bob", "line": "pts/0", "host": "203.0.113.9", "since": "2024-05-01T11:40:00Z"]
            ])
    }

    @Test("without a utmp file logins are \"unknown\"; an empty one means nobody")
    func missingAndEmptyUtmp() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        #expect(try sandbox.run("users")["logged_in"] == "unknown")
        try sandbox.root.write("/var/run/utmp", "")
        #expect(try sandbox.run("users")["logged_in"] == [])
    }
}
