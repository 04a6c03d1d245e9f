import Foundation
import RookeryCore
import RookeryCurl

/// What `bin/client_parameters` does: per-device parameters the audit reads.
/// - `user_email`: the owner, who gets `bin/issues audit --email` mail about this device;
/// - `user_clients`: other devices of the same person. Links are symmetric: linking A to B and C
///   links all three with each other, and a not-reporting device stays quiet while another of
///   its group reports (for at most 31 days).
public struct ClientParameters: Sendable {
    public static let names = ["user_email", "user_clients"]
    let store: any Store
    let devices: DeviceAdmin

    public init(store: any Store) {
        self.store = store
        devices = DeviceAdmin(store: store)
    }

    /// The device's parameters; user_clients as hostnames (fingerprints where a hostname is shared).
    public func list(_ host: String) async throws -> (Device, [String: [String]]) {
        let device = try await devices.resolve(host)
        var parameters = try await store.parameters(fingerprint: device.fingerprint).mapValues { [$0] }
        var linked: [String] = []
        for fingerprint in try await store.links(fingerprint: device.fingerprint) {
            linked.append(try await store.device(fingerprint: fingerprint)?.hostname ?? fingerprint)
        }
        if !linked.isEmpty { parameters["user_clients"] = linked.sorted() }
        return (device, parameters)
    }

    public func set(_ host: String, _ name: String, values: [String]) async throws -> Device {
        let device = try await devices.resolve(host)
        switch try validName(name) {
        case "user_email":
            guard values.count == 1, let email = values.first, Self.isPlausibleEmail(email) else {
                throw AdminError(.input, "user_email takes one address like alice@example.com")
            }
            try await store.setParameter(name, value: email, fingerprint: device.fingerprint)
        default:
            guard !values.isEmpty else { throw AdminError(.input, "user_clients takes one or more other hosts") }
            let others = try await resolveAll(values, except: device)
            try await store.link([device.fingerprint] + others.map(\.fingerprint))
        }
        return device
    }

    /// Removes a parameter; for user_clients, only the links to `values` when given, else all of
    /// this device's links. The other devices keep their links with each other.
    public func unset(_ host: String, _ name: String, values: [String]) async throws -> Device {
        let device = try await devices.resolve(host)
        switch try validName(name) {
        case "user_email":
            try await store.setParameter(name, value: nil, fingerprint: device.fingerprint)
        default:
            let others =
                values.isEmpty
                ? try await store.links(fingerprint: device.fingerprint)
                : try await resolveAll(values, except: device).map(\.fingerprint)
            try await store.unlink(device.fingerprint, from: others)
        }
        return device
    }

    private func validName(_ name: String) throws -> String {
        guard Self.names.contains(name) else {
            throw AdminError(.input, "unknown parameter \(name); known: \(Self.names.joined(separator: ", "))")
        }
        return name
    }

    private func resolveAll(_ hosts: [String], except device: Device) async throws -> [Device] {
        var found: [Device] = []
        for host in hosts {
            let other = try await devices.resolve(host)
            guard other.fingerprint != device.fingerprint else {
                throw AdminError(.input, "\(host) is \(device.hostname) itself; name its other devices")
            }
            found.append(other)
        }
        return found
    }

    /// An address the mailer will send to, with a dot in its domain (a bare `alice@host` is more
    /// likely a typo than a mailbox): one rule for both, so an address accepted here never fails
    /// every `--email` run later.
    static func isPlausibleEmail(_ text: String) -> Bool {
        SMTPMailer.accepts(address: text) && text.split(separator: "@").last?.contains(".") == true
    }
}
