import Foundation
import RookeryCore
import Testing

@testable import RookeryClient

/// `ShellInbox`, between the receiving thread and the shell's: events in order, a wake-up on the
/// pipe for each put, and a shell that does not read its input cannot hold back the admin's close.
@Suite struct ShellInboxTests {
    @Test func controlEventsPassDataTheShellCannotTakeYet() throws {
        let inbox = try ShellInbox()
        let keys = [ShellInbound.message(.data(Data("a".utf8))), .message(.data(Data("b".utf8)))]
        #expect(inbox.put(keys + [.message(.windowSize(rows: 5, columns: 6)), .message(.close(reason: "bye"))]))
        var ready = pollfd(fd: inbox.wakeDescriptor, events: Int16(POLLIN), revents: 0)
        #expect(poll(&ready, 1, 1000) == 1)
        #expect(inbox.take(acceptingData: false) == .message(.windowSize(rows: 5, columns: 6)))
        #expect(inbox.take(acceptingData: false) == .message(.close(reason: "bye")))
        #expect(inbox.take(acceptingData: false) == nil)
        #expect(inbox.take(acceptingData: true) == keys[0])
        #expect(inbox.take(acceptingData: true) == keys[1])
        #expect(inbox.take(acceptingData: true) == nil)
        // Taking drained the pipe: nothing wakes the shell's thread until the next put.
        #expect(poll(&ready, 1, 0) == 0)
        inbox.stop()
        #expect(!inbox.put([.over(reason: "late")]))
    }
}
