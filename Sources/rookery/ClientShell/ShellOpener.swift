import Foundation
import RookeryCore
import RookeryServer

/// Opens a session to a device, waits for it to answer, checks that the device that answered is
/// the one asked for, and runs the session. Says on stderr what it is waiting for.
struct ShellOpener {
    let api: ShellAdminAPI
    /// Seconds to wait for the device's answer.
    let wait: Int
    let reconnectSeconds: Int

    /// The remote status (0-255), or throws `AdminShellError` saying why there is none.
    func run(host: String, command: String?) throws -> Int32 {
        let terminal = AdminTerminal()
        let interactive = command == nil
        let exchange = ShellKeyExchange(side: .admin)
        let term = ProcessInfo.processInfo.environment["TERM"].flatMap { $0.isEmpty ? nil : $0 }
        let opened = try api.open(
            host: host, adminKey: exchange.publicKey, term: interactive ? term : nil,
            size: interactive ? terminal.size : nil, command: command)
        guard ShellOffer.isSessionID(opened.sessionID) else {
            throw AdminShellError("the server answered with a session id that is not one: \(LogText.escaped(opened.sessionID, limit: 80))")
        }
        say("waiting for \(opened.host) (\(opened.fingerprint)) to answer; session \(opened.sessionID)")
        let answered = try awaitAnswer(opened)
        guard answered.fingerprint == opened.fingerprint else {
            _ = try? api.close(opened.sessionID, reason: "the device that answered is not the one asked for")
            throw AdminShellError("the answer came from \(answered.fingerprint), not \(opened.fingerprint): session closed")
        }
        let channel = try channel(exchange: exchange, session: answered)
        if interactive { say("connected to \(opened.host), whose signature by \(opened.fingerprint) checked; ~. ends the session") }
        let relay = try AdminShellRelay(
            link: api.link(for: opened.sessionID, reconnectSeconds: reconnectSeconds), channel: channel, terminal: terminal)
        if interactive { try terminal.makeRaw() }
        let ending = relay.run(interactive: interactive)
        terminal.restore()
        switch ending {
        case .exited(let status):
            return status
        case .ended(let why):
            throw AdminShellError("session \(opened.sessionID) to \(opened.host) ended: \(why)")
        }
    }

    /// The session once the device accepted it; throws when it refused, or did not answer in time.
    private func awaitAnswer(_ opened: ShellOpenAnswer) throws -> ShellStateAnswer {
        let deadline = Date().addingTimeInterval(TimeInterval(wait))
        var session = try api.state(of: opened.sessionID, wait: 0)
        while session.state == "requested" {
            let left = Int(deadline.timeIntervalSinceNow.rounded(.up))
            guard left > 0 else {
                _ = try? api.close(opened.sessionID, reason: "the device did not answer within \(wait) s")
                throw AdminShellError(
                    "\(opened.host) did not answer within \(wait) s; is its agent running "
                        + "(rookery-client agent), or its client-cron? The session was closed")
            }
            session = try api.state(of: opened.sessionID, wait: min(25, left))
        }
        switch session.state {
        case "open": return session
        case "refused":
            throw AdminShellError("\(opened.host) refused the shell: \(session.closeReason ?? "no reason given")")
        default:
            throw AdminShellError("the session was closed before it opened: \(session.closeReason ?? "no reason given")")
        }
    }

    private func channel(exchange: ShellKeyExchange, session: ShellStateAnswer) throws -> ShellChannel {
        let deviceKey: Data
        do {
            deviceKey = try ShellAcceptCheck.deviceKey(in: session, sessionID: session.sessionID, fingerprint: session.fingerprint)
        } catch {
            _ = try? api.close(session.sessionID, reason: "the admin's side could not check the device's answer")
            throw error
        }
        do {
            let transcript = try ShellTranscript(
                sessionID: session.sessionID, adminPublicKey: exchange.publicKey, devicePublicKey: deviceKey,
                deviceFingerprint: session.fingerprint)
            return ShellChannel(side: .admin, keys: try exchange.deriveKeys(peerPublicKey: deviceKey, transcript: transcript))
        } catch {
            _ = try? api.close(session.sessionID, reason: "the admin's side refused the device's key: \(error)")
            throw AdminShellError("the device's key cannot be used (\(error)): session closed")
        }
    }

    private func say(_ text: String) {
        FileHandle.standardError.write(Data("client_shell: \(text)\n".utf8))
    }
}
