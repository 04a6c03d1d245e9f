import FoundationEssentials
import RookeryCore

/// `users`: the people with accounts on the device, and who is logged in right now.
///
/// Accounts are the /etc/passwd entries with a uid of 1000 or more (the range distributions give to
/// people), except "nobody" (65534). Logins come from the utmp file (/run/utmp, or /var/run/utmp on
/// systems without /run), which login, sshd and display managers write; it is parsed directly rather
/// than by running `who`, so no command is needed.
struct UsersPlugin: BuiltinPlugin {
    static let name = "users"

    struct Report: Encodable {
        let accounts: Knowable<[Account]>
        let loggedIn: Knowable<[Login]>
    }

    struct Account: Encodable {
        let name: String
        let uid: Int
        let home: String
        let shell: String
    }

    struct Login: Encodable {
        let user: String
        /// The terminal: "tty2", "pts/0", or ":0" for some display managers.
        let line: String
        /// Where the login came from (an ssh client's address); absent for local logins.
        let host: String?
        /// RFC 3339, UTC.
        let since: String
    }

    static func collect(_ context: PluginContext) -> Report {
        let root = context.root
        let accounts = PasswdFile.read(root)?
            .filter { $0.uid >= firstPersonUID && $0.uid != nobodyUID }
            .map { Account(name: $0.name, uid: $0.uid, home: $0.home, shell: $0.shell) }
        let utmp = ["/run/utmp", "/var/run/utmp"].lazy.compactMap { root.readData($0) }.first
        return Report(accounts: Knowable(accounts), loggedIn: Knowable(utmp.map(logins)))
    }

    private static let firstPersonUID = 1000
    private static let nobodyUID = 65534

    // MARK: utmp

    /// The layout of `struct utmp` in glibc on 64-bit Linux (x86_64, aarch64): 384-byte records.
    private enum UTMPLayout {
        static let recordSize = 384
        static let type = 0  // short
        static let line = (offset: 8, length: 32)
        static let user = (offset: 44, length: 32)
        static let host = (offset: 76, length: 256)
        static let seconds = 340  // int32 ut_tv.tv_sec
        static let userProcess: Int16 = 7
    }

    /// The USER_PROCESS records of a utmp file; a trailing partial record is ignored.
    private static func logins(_ utmp: Data) -> [Login] {
        let bytes = [UInt8](utmp)
        return stride(from: 0, to: bytes.count - UTMPLayout.recordSize + 1, by: UTMPLayout.recordSize).compactMap { start in
            let record = bytes[start..<start + UTMPLayout.recordSize]
            guard littleEndianInteger(record, at: UTMPLayout.type, as: Int16.self) == UTMPLayout.userProcess else {
                return nil
            }
            let user = text(record, UTMPLayout.user)
            guard !user.isEmpty else { return nil }
            let host = text(record, UTMPLayout.host)
            let seconds = littleEndianInteger(record, at: UTMPLayout.seconds, as: Int32.self)
            return Login(
                user: user,
                line: text(record, UTMPLayout.line),
                host: host.isEmpty ? nil : host,
                since: RFC3339.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            )
        }
    }

    /// A fixed-size, NUL-padded string field of a record.
    private static func text(_ record: ArraySlice<UInt8>, _ field: (offset: Int, length: Int)) -> String {
        let start = record.startIndex + field.offset
        let bytes = record[start..<start + field.length].prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func littleEndianInteger<Integer: FixedWidthInteger>(
        _ record: ArraySlice<UInt8>, at offset: Int, as: Integer.Type
    ) -> Integer {
        let start = record.startIndex + offset
        return record[start..<start + MemoryLayout<Integer>.size].reversed().reduce(Integer.zero) { value, byte in
            value << 8 | Integer(truncatingIfNeeded: byte)
        }
    }
}
