import FoundationEssentials
import RookeryCore

/// Sends the device's public key to the server, signed by that same key. Sent again by an
/// accepted device, under a new hostname, it renames the device (see `Submitter`).
public struct Enroller: Sendable {
    let context: ClientContext

    public init(context: ClientContext) { self.context = context }

    /// Returns the state the server reports ("pending" or "accepted"), or throws its refusal.
    @discardableResult
    public func enroll() throws -> ClientState.Enrollment {
        let identity = try DeviceIdentity.loadOrCreate(context)
        let token = context.settings.enrollmentToken
        let hostname = try context.validHostname()
        let request = try context.signedRequest(
            EnrollRequest(
                publicKey: try context.openPGP.exportPublicKey(fingerprint: identity.fingerprint),
                machineID: identity.machineID, enrollmentToken: token.isEmpty ? nil : token), by: identity)
        var state = context.loadState()
        switch try context.connection.send(request, expecting: EnrollAnswer.self) {
        case .ok(let answer):
            state.enrollment = answer.status == .accepted ? .accepted : .pending
            // A server from before renames names none: it keeps the first name, and asking it
            // again would not change that.
            state.serverHostname = answer.hostname ?? hostname
            state.heldHostname = state.serverHostname == hostname ? nil : hostname
            try context.save(state)
            context.log.info("enrolled as \(identity.fingerprint): \(answer.status)")
            if let kept = answer.hostname, kept != hostname {
                context.log.warning(
                    """
                    the server keeps this device's hostname \(kept), not \(hostname): another device uses \(hostname) \
                    (an administrator sees which in `bin/clients show \(identity.fingerprint)`); asked again at each submission
                    """)
            }
            return state.enrollment
        case .refused(_, let refusal):
            let enrollment: ClientState.Enrollment? =
                switch refusal.error {
                case .rejected: .rejected
                case .revoked: .revoked
                // A pending device that asked for another hostname: it may rename once accepted.
                case .notAccepted: .pending
                default: nil
                }
            if let enrollment {
                state.enrollment = enrollment
                try context.save(state)
            }
            throw refusal
        }
    }
}
