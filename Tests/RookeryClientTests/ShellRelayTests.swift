import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// The device's relay between real channels and a real shell: the admin's side is a real
/// `ShellChannel` too, so what the device sends is checked by opening it. A frame that fails to
/// open ends the session: the device says why in a close frame the admin can open, asks for
/// device/close, and logs the reason. (The HTTP part is the end-to-end tests'.) Part of
/// `ShellSessionTests`, whose serialized runs count the process's pseudo-terminals.
extension ShellSessionTests {
    static let fingerprint = "0123456789ABCDEF0123456789ABCDEF01234567"

    /// Both sides' channels for one session, from a real key exchange.
    func channels(_ id: String) throws -> (admin: ShellChannel, device: ShellChannel) {
        let admin = ShellKeyExchange(side: .admin)
        let device = ShellKeyExchange(side: .device)
        let transcript = try ShellTranscript(
            sessionID: id, adminPublicKey: admin.publicKey, devicePublicKey: device.publicKey, deviceFingerprint: Self.fingerprint)
        return (
            ShellChannel(side: .admin, keys: try admin.deriveKeys(peerPublicKey: device.publicKey, transcript: transcript)),
            ShellChannel(side: .device, keys: try device.deriveKeys(peerPublicKey: admin.publicKey, transcript: transcript))
        )
    }

    func relay(_ id: String, sender: ShellChannel) throws -> DeviceShellRelay {
        let session = try ShellSession(
            sessionID: id, account: account, terminal: terminal,
            idleTimeout: .seconds(60), serverKey: "AB12CD34", log: log, openedBy: "user admin")
        return DeviceShellRelay(session: session, sender: sender, idleSeconds: 60)
    }

    enum Fault: String, CaseIterable, Sendable {
        case altered, dropped, reordered, replayed
    }

    /// What reaches the device instead of frames 0, 1, 2 in order.
    static func delivered(_ frames: [ShellFrame], _ fault: Fault) throws -> (frames: [ShellFrame], failing: UInt64) {
        switch fault {
        case .altered:
            var bytes = frames[1].encoded
            bytes[bytes.count - 20] ^= 0x01
            return ([frames[0], try ShellFrame(encoded: bytes), frames[2]], 1)
        case .dropped: return ([frames[0], frames[2]], 1)
        case .reordered: return ([frames[1], frames[0], frames[2]], 0)
        case .replayed: return ([frames[0], frames[0], frames[1]], 1)
        }
    }

    @Test(arguments: Fault.allCases)
    func aFrameThatFailsToOpenEndsTheSessionWithACloseTheAdminCanRead(fault: Fault) throws {
        var (admin, device) = try channels(fault.rawValue)
        let relay = try relay(fault.rawValue, sender: device)
        let sealed = try ["echo one\n", "echo two\n", "echo three\n"].map { try admin.seal(.data(Data($0.utf8))) }
        let (frames, failing) = try Self.delivered(sealed, fault)

        let (events, last) = ShellReceiver.open(frames, with: &device)
        #expect(last)
        let reason = "\(ShellChannelError.authenticationFailed(frame: failing))"
        #expect(events.last == .broken(reason: reason))
        #expect(events.count == Int(failing) + 1)

        var sent: [ShellFrame] = relay.step().frames
        var output = ShellRelayOutput()
        for event in events {
            output = relay.take(event)
            sent += output.frames
        }
        #expect(output.closeReason == reason)
        #expect(output.finished?.reason == .terminated)
        // Everything the device sent opens in order on the admin's side, and the last is the close.
        let opened = try sent.map { try admin.open($0) }
        #expect(opened.last == .close(reason: reason))
        let record = try lastRecord()
        #expect(record.detail == reason)
        #expect(record.openedBy == "user admin")
    }

    @Test func theShellsEndIsAnExitFrame() throws {
        var (admin, device) = try channels("exit")
        let relay = try relay("exit", sender: device)
        let (events, _) = ShellReceiver.open([try admin.seal(.data(Data("exit 3\n".utf8)))], with: &device)
        var sent = relay.take(try #require(events.first)).frames
        let deadline = ContinuousClock.now + .seconds(30)
        var output = ShellRelayOutput()
        while output.finished == nil && ContinuousClock.now < deadline {
            output = relay.step(waitingAtMost: .milliseconds(100))
            sent += output.frames
        }
        #expect(output.finished == ShellEnding(status: 3, reason: .exited))
        #expect(output.closeReason == nil)
        #expect(try sent.map { try admin.open($0) }.last == .exit(status: 3))
    }

    @Test func theAdminsCloseEndsTheShellAndIsLogged() throws {
        var (admin, device) = try channels("closed")
        let relay = try relay("closed", sender: device)
        let (events, last) = ShellReceiver.open(
            [try admin.seal(.windowSize(rows: 50, columns: 132)), try admin.seal(.close(reason: "closed by the admin"))],
            with: &device)
        #expect(last)
        #expect(relay.take(events[0]).finished == nil)
        let output = relay.take(events[1])
        #expect(output.finished?.reason == .terminated)
        #expect(output.frames.isEmpty && output.closeReason == nil)
        #expect(try lastRecord().detail == "closed by the admin side: closed by the admin")
    }
}
