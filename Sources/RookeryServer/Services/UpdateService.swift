import Foundation
import RookeryCore

/// An answer body and the server's detached signature over exactly those bytes.
public struct SignedAnswer: Sendable {
    public let body: Data
    public let signature: Data
}

/// Answers `update`: a newer release if there is one, the device's pending patches and what it
/// must keep secret, signed by the server and bound to the request's nonce and key.
public struct UpdateService: Sendable {
    let store: any Store
    let releases: ReleaseLibrary
    let signingKey: @Sendable () throws -> ServerSigningKey
    let pool: BlockingPool
    /// `remote_shells`: whether answers carry the device's requested shells.
    var offersShells = false

    public func update(_ request: Verified<UpdateRequest>) async throws -> SignedAnswer {
        let reported = request.message.release
        guard let patches = try await store.recordUpdateRequest(fingerprint: request.fingerprint, release: reported) else {
            throw Self.noLongerAccepted
        }
        let answer = UpdateAnswer(
            nonce: request.nonce, key: request.fingerprint,
            release: try await newestRelease(after: reported, for: request.fingerprint)?.offer,
            patches: patches.map(\.instruction), secretKeeping: try await store.secretKeepingPolicy(),
            shells: try await shellOffers(fingerprint: request.fingerprint),
            managed: try await managedState(request))
        let body = try answer.encoded()
        let signingKey = self.signingKey
        return SignedAnswer(body: body, signature: try await pool.run { try signingKey() }.sign(body))
    }

    /// The newest release above `number` meant for the device: for every device, or for a group
    /// it is in (`bin/client_release --group`).
    private func newestRelease(after number: Int, for fingerprint: String) async throws -> ReleaseRecord? {
        let releases = self.releases
        let newer = try await pool.run { try releases.offerable() }.filter { $0.number > number }
        var groups: ReleaseAudience?
        for release in newer {
            guard let wanted = release.groups else { return release }
            if groups == nil { groups = try await ReleaseAudience.of(fingerprint, in: store) }
            if groups!.isIn(anyOf: wanted) { return release }
        }
        return nil
    }

    /// What the server manages on the device, unless the device already has this very state.
    private func managedState(_ request: Verified<UpdateRequest>) async throws -> ManagedState? {
        guard let text = try await store.managedState(fingerprint: request.fingerprint) else { return nil }
        let state = try ManagedStateText.decode(text)
        return state.sha256 == request.message.managedSHA256 ? nil : state
    }

    /// The device's requested shells; nil when there are none, so the answer leaves them out.
    private func shellOffers(fingerprint: String) async throws -> [ShellOffer]? {
        guard offersShells else { return nil }
        let offers = try await store.pendingShellSessions(fingerprint: fingerprint).map(\.offer)
        return offers.isEmpty ? nil : offers
    }

    /// The tarball a device asked for with `release`; only published releases are served.
    public func releaseTarball(_ request: Verified<ReleaseRequest>) async throws -> String {
        let number = request.message.release
        let releases = self.releases
        guard let release = try await pool.run({ releases.servable(number) }) else {
            throw ProtocolError(.notFound, "no release \(number)")
        }
        // A release for some groups is served to their members only, as it is offered.
        if let wanted = release.groups, try await !ReleaseAudience.of(request.fingerprint, in: store).isIn(anyOf: wanted) {
            throw ProtocolError(.notFound, "no release \(number)")
        }
        // Checked again just before the file goes out: the device may have been revoked meanwhile.
        guard try await store.device(fingerprint: request.fingerprint)?.state == .accepted else {
            throw Self.noLongerAccepted
        }
        return releases.tarballPath(number)
    }

    /// Revoked or forgotten while its request was being checked.
    static let noLongerAccepted = ProtocolError(.revoked, "this device is no longer accepted")

    /// Records a device's report on one of its pending patches.
    public func acknowledge(_ request: Verified<AcknowledgePatchRequest>, now: Date = Date()) async throws -> AcknowledgeAnswer {
        let (id, target, result) = (request.message.patchID, request.message.target, request.message.result)
        // Admins read it in a terminal: no control characters from a device get that far.
        let message = String(
            request.message.message.prefix(2000).map { character in
                character.unicodeScalars.contains { $0.properties.generalCategory == .control } ? "?" : character
            })
        let state: PatchState =
            switch result {
            case .applied: .applied
            case .refused: .refused
            case .failed: .failed
            }
        // Only the device the patch was queued for, naming its target, may end it.
        guard
            try await store.finishPatch(
                id: id, fingerprint: request.fingerprint, target: target,
                state: state, message: message, at: now, byAcceptedDevice: true)
        else {
            guard try await store.device(fingerprint: request.fingerprint)?.state == .accepted else {
                throw Self.noLongerAccepted
            }
            throw ProtocolError(.notFound, "this device has no pending patch \(id) for \(target)")
        }
        return AcknowledgeAnswer(patchID: id, state: result)
    }
}
