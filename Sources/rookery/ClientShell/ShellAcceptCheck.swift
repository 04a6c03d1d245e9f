import Foundation
import RookeryCore
import RookeryServer

/// The device's own word that it answered: its signed `shell_accept`, passed on by the server as
/// it came. The admin's side takes the device's half of the key exchange from it, and only once
/// it is signed by the key whose fingerprint the admin was shown, for this session: a server that
/// put a key of its own in the device's place could then read and forge the session.
enum ShellAcceptCheck {
    /// The device's X25519 public key, from its signed answer; throws `AdminShellError` saying
    /// what does not hold.
    static func deviceKey(in answer: ShellStateAnswer, sessionID: String, fingerprint: String) throws -> Data {
        guard let body = answer.acceptBody, let signature = answer.acceptSignature, let armored = answer.devicePublicKey
        else {
            throw AdminShellError("the server did not pass on the device's signed answer, so the device cannot be checked")
        }
        let key: NativePublicKey
        do { key = try NativePublicKey(armored: armored) } catch {
            throw AdminShellError("the device's public key, as the server gave it, cannot be read: \(error)")
        }
        guard key.fingerprint.uppercased() == fingerprint.uppercased() else {
            throw AdminShellError("the key the server gave for the device is \(key.fingerprint), not \(fingerprint)")
        }
        guard case .accepted = NativeSignatureCheck.verify(signature: signature, data: body, key: key) else {
            throw AdminShellError("the device's answer is not signed by \(fingerprint)")
        }
        guard let fields = try? JSONValue.parse(body),
            fields[WireProtocol.Field.endpoint]?.stringValue == WireProtocol.Endpoint.shellAccept.rawValue,
            fields[WireProtocol.Field.key]?.stringValue?.uppercased() == fingerprint.uppercased(),
            fields["session_id"]?.stringValue == sessionID,
            let encoded = fields["device_key"]?.stringValue, let deviceKey = Data(base64Encoded: encoded),
            deviceKey.count == ShellKeyExchange.publicKeySize
        else { throw AdminShellError("the device's signed answer is not an answer to session \(sessionID)") }
        return deviceKey
    }
}
