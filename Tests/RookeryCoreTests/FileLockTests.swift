import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// The one `flock` both sides use: the server's steps wait for it, the client's cron run gives up.
/// Each `FileLock` opens the file anew, and `flock` locks belong to the open file, so two locks
/// in one process exclude each other as two processes' do.
@Suite struct FileLockTests {
    let sandbox: Sandbox
    init() throws { sandbox = try Sandbox() }

    @Test func ifFreeGivesNothingWhileAnotherHoldsTheLock() throws {
        let path = sandbox.path + "/var/run.lock"
        let held = try #require(try FileLock.ifFree(path: path, access: .owner))
        #expect(try FileLock.ifFree(path: path, access: .owner) == nil)
        held.release()
        let again = try #require(try FileLock.ifFree(path: path, access: .owner))
        again.release()
    }

    @Test func aWaitingLockIsTakenOnceTheHolderReleasesIt() async throws {
        let path = sandbox.path + "/settings.lock"
        let held = try FileLock(path: path)
        let taken = Locked(false)
        let waiter = Thread {
            guard let lock = try? FileLock(path: path) else { return }
            taken.withLock { $0 = true }
            lock.release()
        }
        waiter.start()
        try await Task.sleep(for: .milliseconds(200))
        #expect(!taken.current)
        held.release()
        let deadline = Date().addingTimeInterval(10)
        while !taken.current, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(taken.current)
    }

    /// The server's lock files stay readable for its own user when root made them; the client's
    /// are its own. The directory is made when missing.
    @Test func theAccessSetsTheFileMode() throws {
        for (access, mode) in [(FileLock.Access.everyone, 0o644), (.owner, 0o600)] {
            let path = sandbox.path + "/\(mode)/deeper/x.lock"
            try FileLock(path: path, access: access).release()
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == mode)
        }
    }

    @Test func failuresNameTheFileAndSayWhatToDo() throws {
        try sandbox.write("not a directory", to: "file")
        #expect { try FileLock(path: sandbox.path + "/file/x.lock") } throws: { error in
            "\(error)".hasPrefix("cannot make the directory of the lock file \(sandbox.path)/file/x.lock: ")
                && "\(error)".hasSuffix("; check that \(sandbox.path)/file exists and is writable")
        }
        let directory = try sandbox.directory("a-directory")
        #expect { try FileLock.ifFree(path: directory) } throws: { error in
            "\(error)" == "cannot open the lock file \(directory): Is a directory; check that \(sandbox.path) exists and is writable"
        }
    }
}
