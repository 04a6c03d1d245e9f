import Foundation

/// A device's signed `shell_accept`: the exact body and its detached signature. The server keeps
/// and hands it to the admin's side, which checks it against the device's key: the server cannot
/// put a key of its own in the device's place.
public struct ShellAcceptProof: Sendable, Equatable {
    public var body: Data
    public var signature: Data

    public init(body: Data, signature: Data) {
        self.body = body
        self.signature = signature
    }
}
