import Foundation
import RookeryCore

/// The `port` setting as `configure-ports` changes it: the whole list is read, changed, and
/// written back as one block in place of `port:` (or `listen_port:`, which it replaces), then
/// read back to make sure the file now says exactly that and nothing else moved.
public struct PortsFile: Sendable {
    public let root: InstallRoot

    public init(root: InstallRoot) { self.root = root }

    public var path: String { root.serverSettings }

    public func read() throws -> ServerSettings {
        try SettingsFile.load(ServerSettings.self, from: path)
    }

    /// Applies `change` to the configured ports and writes the result; returns it.
    @discardableResult
    public func change(_ change: (inout [PortSettings]) throws -> Void) throws -> [PortSettings] {
        var result: [PortSettings] = []
        try SettingsFileUpdate(path: path).apply { text in
            var ports = try SettingsFile.decode(ServerSettings.self, text: text, source: path).listeningPorts
            try change(&ports)
            guard !ports.isEmpty else { throw AdminError.conflict("the server needs at least one port; add another before removing this one") }
            ports.sort { $0.number < $1.number }
            result = ports
            return try rewritten(text, ports: ports)
        }
        return result
    }

    /// Sets top-level scalars (client_server_url, client_ca_file) in one edit, checked the same way.
    public func set(_ values: [String: String]) throws {
        try SettingsFileUpdate(path: path).apply { text in
            var edited = text
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                edited = SettingsEditor.setting([key], to: JSONValue.string(value).serializedString, in: edited)
            }
            guard SettingsFileUpdate.reads(edited, as: text, with: { for (key, value) in values { $0[key] = value } }) else {
                let lines = values.sorted { $0.key < $1.key }.map { "\($0.key): \(JSONValue.string($0.value).serializedString)" }
                throw AdminError("cannot edit \(path) safely; set by hand:\n" + lines.joined(separator: "\n"))
            }
            return edited
        }
    }

    private func rewritten(_ text: String, ports: [PortSettings]) throws -> String {
        let block = Self.block(ports)
        let hasPort = text.split(separator: "\n").contains { $0.hasPrefix("port:") }
        var edited = SettingsEditor.replacingTopLevel(hasPort ? "port" : "listen_port", with: block, in: text)
        if hasPort { edited = SettingsEditor.replacingTopLevel("listen_port", with: [], in: edited) }
        // The edit must say these ports, and every other setting must read as before.
        let reread = try? SettingsFile.decode(ServerSettings.self, text: edited, source: path)
        guard reread?.listeningPorts == ports, SettingsFileUpdate.reads(edited, as: text, ignoring: ["port", "listen_port"]) else {
            throw AdminError(
                "cannot edit the port setting in \(path) safely; replace it by hand with:\n"
                    + block.joined(separator: "\n"))
        }
        return edited
    }

    /// The `port:` block, one port per entry, in block style as the template writes it.
    static func block(_ ports: [PortSettings]) -> [String] {
        var lines = ["port:"]
        for port in ports {
            guard port.deprecated || port.tls != nil else {
                lines.append("  \(port.number): {}")
                continue
            }
            lines.append("  \(port.number):")
            if port.deprecated { lines.append("    deprecated: true") }
            if let tls = port.tls {
                lines += [
                    "    tls:",
                    "      certificate: \(JSONValue.string(tls.certificate).serializedString)",
                    "      key: \(JSONValue.string(tls.key).serializedString)"
                ]
            }
        }
        return lines
    }
}
