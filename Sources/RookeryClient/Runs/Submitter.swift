import FoundationEssentials
import RookeryCore

/// What one pass over the queue did.
public struct SubmitReport: Sendable, Equatable {
    public var delivered = 0
    public var duplicates = 0
    public var rejected = 0
    public var remaining = 0
    /// Why delivery stopped early, if it did (server down, device not accepted, ...).
    public var stoppedBecause: String?
    /// What to do about it, when the error that stopped delivery says (a certificate to pin).
    public var hint: String?
}

/// Delivers queued collections, oldest first. Only an acknowledgement deletes an item.
public struct Submitter: Sendable {
    let context: ClientContext

    public init(context: ClientContext) { self.context = context }

    /// Enrolls first when the device never did (the server may have been down at install time),
    /// then delivers the queue, then renames the device when it is accepted under another
    /// hostname than it has now.
    public func enrollIfNeededAndSubmit() throws -> SubmitReport {
        if context.loadState().enrollment == .none {
            do { try Enroller(context: context).enroll() } catch {
                let hint = (error as? any KindedError)?.hint
                context.log.warning("enrollment failed: \(error)")
                logHint(hint)
                return SubmitReport(stoppedBecause: "not enrolled: \(error)", hint: hint)
            }
        }
        let report = try submitQueue()
        renameIfNeeded()
        return report
    }

    /// Enrolls again, which renames the device, when the server knows it by another hostname
    /// (renamed since, or enrolled before the server said which name it keeps), or holds a
    /// rename it asked for (which asking under its own name again drops). After delivery,
    /// because a delivery is how a device learns it was accepted; a pending one cannot rename.
    private func renameIfNeeded() {
        let state = context.loadState()
        guard state.enrollment == .accepted,
            state.serverHostname != context.hostname || state.heldHostname != nil
        else { return }
        do { try Enroller(context: context).enroll() } catch { context.log.warning("renaming this device to \(context.hostname) failed: \(error)") }
    }

    /// What to do, for client.log alone: run by hand, `submit` prints it once, under its report.
    private func logHint(_ hint: String?) {
        if let hint { context.log.info("hint: \(hint)") }
    }

    public func submitQueue() throws -> SubmitReport {
        let identity = try DeviceIdentity.loadOrCreate(context)
        let queue = try context.queue()
        let items = try queue.items()
        var report = SubmitReport()
        // Read once per pass, when the first item needs it (see `deliver`).
        var sealer: CollectionSealer?
        for (index, item) in items.enumerated() {
            if let reason = try deliver(item, queue: queue, identity: identity, sealer: &sealer, report: &report) {
                report.stoppedBecause = reason
                report.remaining = items.count - index
                context.log.warning("submission paused: \(reason); \(report.remaining) collections kept")
                logHint(report.hint)
                break
            }
        }
        if report.delivered + report.duplicates > 0 {
            var state = context.loadState()
            state.enrollment = .accepted
            try context.save(state)
        }
        return report
    }

    /// Sends one item. Returns a reason when the whole pass must stop (the item is kept).
    private func deliver(
        _ item: QueuedItem, queue: SubmissionQueue, identity: DeviceIdentity,
        sealer: inout CollectionSealer?, report: inout SubmitReport
    ) throws -> String? {
        let fields: [String: JSONValue]
        do {
            fields = try queue.read(item)
        } catch {
            try queue.reject(item, reason: "unreadable queue item: \(error)")
            report.rejected += 1
            return nil
        }
        // A collection queued before the device learned its current selectors is sealed now, so a
        // selected value never leaves in clear; values sealed already stay as they are.
        let sealed: [String: JSONValue]
        do {
            let itemSealer = try sealer ?? CollectionSealer(context: context)
            sealer = itemSealer
            sealed = try itemSealer.seal(fields)
        } catch {
            return "secret keeping: \(error)"
        }
        // A collection the server would refuse for good (it cannot happen short of a damaged
        // queue) goes to rejected/ without a trip to the server.
        let message: SubmitRequest
        do {
            message = try SubmitRequest(fields: MessageFields(sealed))
        } catch let refusal as ProtocolError {
            try queue.reject(item, reason: "not a submission: \(refusal.message)")
            report.rejected += 1
            return nil
        }
        let request = try context.signedRequest(message, by: identity)
        let answer: ServerAnswer<SubmitAnswer>
        do {
            answer = try context.connection.send(request, expecting: SubmitAnswer.self)
        } catch {
            report.hint = (error as? any KindedError)?.hint
            return "server unreachable (\(error))"
        }
        switch answer {
        case .ok(let ack):
            // Only an acknowledgement of this very item deletes it.
            guard ack.submissionID == message.submissionID else {
                return "the server acknowledged something else (\(ack.status.rawValue) \(ack.submissionID))"
            }
            try queue.remove(item)
            switch ack.status {
            case .duplicate: report.duplicates += 1
            case .stored: report.delivered += 1
            }
            return nil
        case .refused(let status, let refusal):
            if Self.isWorthRetrying(refusal.error) || status >= 500 {
                try noteEnrollment(after: refusal)
                return refusal.description
            }
            try queue.reject(item, reason: "\(status) \(refusal.error.rawValue): \(refusal.message)")
            context.log.warning("server refused \(item.id) for good (\(refusal)); moved to rejected/")
            report.rejected += 1
            return nil
        }
    }

    /// Refusals about who the device is, about time, or about a request that was sent twice on
    /// the way (replay): retrying later can succeed, so keep the data and stop this pass. So do
    /// refusals of how this client speaks the protocol (an endpoint mismatch, a server that
    /// wants a newer client): the collection is fine, and a release will fix the client.
    static func isWorthRetrying(_ code: ProtocolErrorCode) -> Bool {
        switch code {
        case .unknownKey, .badSignature, .missingSignature, .staleTime, .notAccepted, .rejected, .revoked, .replay,
            .tooManyPending, .unauthorized, .tooManyFailures, .busy, .wrongEndpoint, .upgradeRequired:
            return true
        case .bodyTooLarge, .malformed, .notFound, .forbidden, .internalError:
            return false
        }
    }

    private func noteEnrollment(after refusal: ProtocolError) throws {
        let enrollment: ClientState.Enrollment? =
            switch refusal.error {
            case .unknownKey: ClientState.Enrollment.none
            case .notAccepted: .pending
            case .rejected: .rejected
            case .revoked: .revoked
            default: nil
            }
        guard let enrollment else { return }
        var state = context.loadState()
        state.enrollment = enrollment
        try context.save(state)
    }
}
