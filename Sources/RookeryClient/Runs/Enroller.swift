import FoundationEssentials
import RookeryCore

/// Sends the device's public key to the server, signed by that same key.
public struct Enroller: Sendable {
    let context: ClientContext

    public init(context: ClientContext) { self.context = context }

    /// Returns the state the server reports ("pending" or "accepted"), or throws its refusal.
    @discardableResult
    public func enroll() throws -> ClientState.Enrollment {
        let identity = try DeviceIdentity.loadOrCreate(context)
        let token = context.settings.enrollmentToken
        let request = try context.signedRequest(EnrollRequest(
            publicKey: try context.openPGP.exportPublicKey(fingerprint: identity.fingerprint),
            machineID: identity.machineID, enrollmentToken: token.isEmpty ? nil : token), by: identity)
        var state = context.loadState()
        switch try context.connection.send(request, expecting: EnrollAnswer.self) {
        case .ok(let answer):
            state.enrollment = answer.status == .accepted ? .accepted : .pending
            try context.save(state)
            context.log.info("enrolled as \(identity.fingerprint): \(answer.status)")
            return state.enrollment
        case .refused(_, let refusal):
            if refusal.error == .rejected || refusal.error == .revoked {
                state.enrollment = refusal.error == .rejected ? .rejected : .revoked
                try context.save(state)
            }
            throw refusal
        }
    }
}
