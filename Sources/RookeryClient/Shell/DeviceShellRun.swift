import FoundationEssentials
import RookeryCore
import RookeryCurl
import RookeryPlugins

#if canImport(Glibc)
import Glibc
#endif

/// One remote shell on the device, from a checked offer to its end (`rookery-client
/// shell-session`): refused when the owner said no or it cannot start, else the device's half of
/// the key exchange, `shell_accept`, the shell, and the relay until the shell ends.
public struct DeviceShellRun {
    let context: ClientContext
    let offer: CheckedShellOffer

    public static let ownerRefusal = "the device's owner does not allow remote shells"

    public init(context: ClientContext, offer: CheckedShellOffer) {
        self.context = context
        self.offer = offer
    }

    /// Runs the session; the process's exit status: the shell's, or 1 when it did not run.
    public func run() -> Int32 {
        let id = offer.sessionID
        guard context.settings.allowShells else {
            refuse(Self.ownerRefusal)
            return 1
        }
        let prepared: PreparedShell
        do {
            prepared = try prepare()
        } catch {
            refuse("the device cannot open a shell: \(error)")
            return 1
        }
        // The shell starts only once the server has accepted, so a failed accept never leaves a
        // root shell running. If the server committed the accept and only its answer was lost, the
        // device has no token: the admin sees the session open and silent until the idle sweep.
        let token: String
        do {
            token = try accept(deviceKey: prepared.deviceKey)
        } catch {
            context.log.warning("shell \(id): shell_accept failed: \(error)")
            return 1
        }
        let session: ShellSession
        do {
            session = try prepared.start()
        } catch {
            // Accepted already: a refusal would come too late, the session's own close says why.
            context.log.warning("shell \(id): the shell did not start: \(error)")
            try? link(token: token).close(reason: "the device cannot open a shell: \(error)")
            return 1
        }
        context.log.info("shell \(id) opened by \(LogText.escaped(offer.offer.openedBy, limit: 256)) as \(session.account.name)")
        let ending = relay(session, keys: prepared.keys, token: token)
        context.log.info("shell \(id) ended: \(ending)")
        return ending.status ?? 1
    }

    /// Everything the shell needs, checked, before the server hears of it: the device's key, the
    /// session's keys, the account; the shell itself starts later (`start`).
    struct PreparedShell {
        let deviceKey: Data
        let keys: ShellSessionKeys
        let start: () throws -> ShellSession
    }

    private func prepare() throws -> PreparedShell {
        let identity = try DeviceIdentity.loadOrCreate(context)
        let exchange = ShellKeyExchange(side: .device)
        let transcript = try ShellTranscript(
            sessionID: offer.sessionID, adminPublicKey: offer.offer.adminKey, devicePublicKey: exchange.publicKey,
            deviceFingerprint: identity.fingerprint)
        let keys = try exchange.deriveKeys(peerPublicKey: offer.offer.adminKey, transcript: transcript)
        let settings = context.settings
        let account = try ShellAccount.named(settings.shellAccount, in: SystemRoot(path: settings.systemRoot))
        let log = ShellSessionLog(directory: ShellLauncher.directory(context.root), keepsTranscripts: settings.shellTranscripts)
        let serverKey = try PinnedServerKey(root: context.root).fingerprint()
        let offer = offer
        return PreparedShell(deviceKey: exchange.publicKey, keys: keys) {
            try ShellSession(
                sessionID: offer.sessionID, account: account, terminal: offer.terminal,
                idleTimeout: .seconds(settings.shellIdleSeconds), serverKey: serverKey,
                log: log, command: offer.offer.command, openedBy: offer.offer.openedBy)
        }
    }

    private func accept(deviceKey: Data) throws -> String {
        let identity = try DeviceIdentity.loadOrCreate(context)
        let request = try context.signedRequest(ShellAcceptRequest(sessionID: offer.sessionID, deviceKey: deviceKey), by: identity)
        switch try context.connection.send(request, expecting: ShellAcceptAnswer.self) {
        case .ok(let answer):
            guard answer.sessionID == offer.sessionID, answer.token.utf8.count == 64,
                answer.token.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
            else { throw UpdateRefused("the shell_accept answer is not for this session or carries no valid token") }
            return answer.token
        case .refused(_, let refusal): throw refusal
        }
    }

    private func refuse(_ reason: String) { Self.refuse(sessionID: offer.sessionID, reason: reason, context: context) }

    /// Tells the server (signed), so the admin sees why at once; logged either way.
    public static func refuse(sessionID: String, reason: String, context: ClientContext) {
        context.log.warning("shell \(sessionID) refused: \(reason)")
        do {
            let identity = try DeviceIdentity.loadOrCreate(context)
            let request = try context.signedRequest(ShellRefuseRequest(sessionID: sessionID, reason: reason), by: identity)
            if case .refused(_, let refusal) = try context.connection.exchange(request) { throw refusal }
        } catch {
            context.log.warning("shell \(sessionID): the refusal did not reach the server: \(error)")
        }
    }

    private func link(token: String) -> ShellLink {
        ShellLink(
            serverURL: context.connection.baseURL, sessionID: offer.sessionID, side: .device,
            headers: [WireProtocol.shellTokenHeader: token], caFile: context.pinnedCA,
            reconnectSeconds: context.settings.shellReconnectSeconds)
    }

    /// The relay: a receiving thread long-polls for the admin's frames and opens them; this one
    /// drives the shell and hands its output to the outbox's sending thread.
    private func relay(_ session: ShellSession, keys: ShellSessionKeys, token: String) -> ShellEnding {
        let link = link(token: token)
        let inbox: ShellInbox
        let outbox: ShellOutbox
        do {
            inbox = try ShellInbox()
            outbox = try ShellOutbox(link: link)
        } catch {
            return session.terminate(grace: .zero, because: "cannot start the relay: \(error)")
        }
        do {
            let receiver = ShellReceiver(link: link, opener: ShellChannel(side: .device, keys: keys))
            try DedicatedThread.start { receiver.run(into: inbox) }
        } catch {
            outbox.stop()
            return session.terminate(grace: .zero, because: "cannot start the relay: \(error)")
        }
        defer {
            inbox.stop()
            outbox.stop()
        }
        let relay = DeviceShellRelay(
            session: session, sender: ShellChannel(side: .device, keys: keys), idleSeconds: context.settings.shellIdleSeconds)
        while true {
            var output = relay.step()
            // Every event that can be taken now: puts wake the poll below, takes do not.
            while output.finished == nil, let event = inbox.take(acceptingData: relay.wantsInput) {
                let taken = relay.take(event)
                output.frames += taken.frames
                output.closeReason = taken.closeReason
                output.finished = taken.finished
            }
            if let ending = deliver(output, through: outbox, link: link, session: session) { return ending }
            var ready = [
                pollfd(fd: session.descriptor, events: session.pollEvents, revents: 0),
                pollfd(fd: inbox.wakeDescriptor, events: Int16(POLLIN), revents: 0)
            ]
            _ = poll(&ready, 2, session.pollTimeoutMilliseconds)
        }
    }

    /// Queues what one step made for sending (all of it sent before a close or the end); the
    /// ending, once there is one (or the link failed).
    private func deliver(
        _ output: ShellRelayOutput, through outbox: ShellOutbox, link: ShellLink, session: ShellSession
    ) -> ShellEnding? {
        var failure = outbox.put(output.frames)
        if failure == nil && (output.closeReason != nil || output.finished != nil) { failure = outbox.flush() }
        if let failure, output.finished == nil { return session.terminate(because: "\(failure)") }
        if let reason = output.closeReason {
            context.log.warning("shell \(offer.sessionID): \(reason)")
            do { try link.close(reason: reason) } catch { context.log.warning("shell \(offer.sessionID): close failed: \(error)") }
        }
        return output.finished
    }
}

/// The receiving thread's work: long-poll the admin's frames, open each in order, hand the
/// messages on; the first frame that fails to open, or the link's end, is the last thing handed.
struct ShellReceiver: Sendable {
    let link: ShellLink
    let opener: ShellChannel

    func run(into inbox: ShellInbox) {
        var opener = opener
        var after: Int64 = 0
        while true {
            let events: [ShellInbound]
            var last = false
            do {
                let (frames, next) = try link.receive(after: after)
                after = next
                (events, last) = Self.open(frames, with: &opener)
            } catch let error as ShellChannelError {
                (events, last) = ([.broken(reason: "\(error)")], true)
            } catch {
                (events, last) = ([.over(reason: "\(error)")], true)
            }
            guard inbox.put(events), !last else { return }
        }
    }

    /// The messages in `frames`, in order, up to and including the first that fails to open
    /// (`last`), or a close from the admin.
    static func open(_ frames: [ShellFrame], with opener: inout ShellChannel) -> (events: [ShellInbound], last: Bool) {
        var events: [ShellInbound] = []
        for frame in frames {
            do {
                let message = try opener.open(frame)
                events.append(.message(message))
                if case .close = message { return (events, true) }
            } catch {
                events.append(.broken(reason: "\(error)"))
                return (events, true)
            }
        }
        return (events, false)
    }
}
