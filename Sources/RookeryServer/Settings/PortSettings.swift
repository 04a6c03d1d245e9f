import RookeryCore

/// One port the server listens on, from the `port` setting: a number (`8080`), a list
/// (`[8080, 8443]`), or a map of port to options (`8080: {deprecated: true}`).
public struct PortSettings: Codable, Sendable, Equatable {
    public var number: Int
    /// Still served, but the audit's deprecated-port check names the devices that use it.
    public var deprecated: Bool
    /// Certificate and key files for TLS on this port (PEM).
    public var tls: TLSFiles?

    public init(number: Int, deprecated: Bool = false, tls: TLSFiles? = nil) {
        self.number = number
        self.deprecated = deprecated
        self.tls = tls
    }

    public struct TLSFiles: Codable, Sendable, Equatable {
        public var certificate: String
        public var key: String

        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case certificate, key }

        public init(from decoder: Decoder) throws {
            let c = try decoder.containerRefusingUnknownKeys(keyedBy: CodingKeys.self)
            certificate = try c.decode(String.self, forKey: .certificate)
            key = try c.decode(String.self, forKey: .key)
        }
    }

    /// Reads any of the three forms; ports come back in ascending order.
    static func list(from decoder: Decoder) throws -> [PortSettings] {
        let single = try decoder.singleValueContainer()
        if let number = try? single.decode(Int.self) { return try [PortSettings(number: number)].checked(decoder) }
        if let numbers = try? single.decode([Int].self) { return try numbers.map { PortSettings(number: $0) }.checked(decoder) }
        let map = try single.decode([String: Options?].self)
        return try map.map { key, options in
            guard let number = Int(key) else {
                throw SettingRefusal(codingPath: decoder.codingPath + [AnyKey(stringValue: key)!], reason: "a port must be a number")
            }
            return PortSettings(number: number, deprecated: options?.deprecated ?? false, tls: options?.tls)
        }.sorted { $0.number < $1.number }.checked(decoder)
    }

    struct Options: Decodable {
        var deprecated: Bool?
        var tls: TLSFiles?

        enum CodingKeys: String, CodingKey, CaseIterable { case deprecated, tls }

        init(from decoder: Decoder) throws {
            let c = try decoder.containerRefusingUnknownKeys(keyedBy: CodingKeys.self)
            deprecated = try c.decodeIfPresent(Bool.self, forKey: .deprecated)
            tls = try c.decodeIfPresent(TLSFiles.self, forKey: .tls)
        }
    }
}

extension Array where Element == PortSettings {
    fileprivate func checked(_ decoder: Decoder) throws -> [PortSettings] {
        let numbers = map(\.number)
        guard !isEmpty, numbers.allSatisfy({ (0...65535).contains($0) }), Set(numbers).count == count else {
            throw SettingRefusal(codingPath: decoder.codingPath, reason: "port: one or more distinct ports from 0 to 65535")
        }
        return self
    }
}
