import Foundation
import RookeryCore

/// Where the server's database is, from the `database` setting: a SQLite file (a path, relative to
/// the install root) or a PostgreSQL server (`postgresql://USER@HOST:PORT/DATABASE?sslmode=...`).
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    public static func parse(_ setting: String) throws -> DatabaseLocation {
        guard setting.contains("://") else { return .sqlite(path: setting) }
        return .postgres(try PostgresLocation(url: setting))
    }
}

/// A PostgreSQL server and database, as a `postgresql://` URL names them. The password is never
/// part of it: it comes from the environment (ROOKERY_DATABASE_PASSWORD) or a file only its
/// owners read (`PostgresPool.password`), so that the settings file, which admins read and
/// backups copy, holds none.
public struct PostgresLocation: Sendable, Equatable {
    /// libpq's modes, with libpq's meanings.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP (a server on this host, or a trusted network).
        case disable
        /// TLS when the server offers it, unverified; plain otherwise (libpq's default).
        case prefer
        /// TLS, unverified: encrypted, but anyone on the path can pretend to be the server.
        case require
        /// TLS, the certificate checked against `sslrootcert` (or the system's CAs), not the name.
        case verifyCA = "verify-ca"
        /// TLS, the certificate and the host name checked.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode
    /// The CA file for verify-ca and verify-full; nil: the system's CAs.
    public var rootCertificate: String?
    /// libpq's `connect_timeout`: how long reaching the database and logging in may take, in
    /// seconds, before the server or a command gives up (exit 3). Unlike libpq's, never unbounded.
    public var connectTimeout = PostgresLocation.defaultConnectTimeout
    public static let defaultConnectTimeout = 30
    public static let connectTimeoutRange = 1...600

    public init(url: String) throws {
        let scheme = url.prefix { $0 != ":" }
        guard scheme == "postgresql" || scheme == "postgres", url.dropFirst(scheme.count).hasPrefix("://") else {
            throw Self.refusal("only postgresql://USER@HOST:PORT/DATABASE URLs are understood")
        }
        let rest = url.dropFirst(scheme.count + 3)
        let (beforeQuery, query) = Self.split(rest, at: "?")
        let (authority, path) = Self.split(beforeQuery, at: "/")
        guard let at = authority.lastIndex(of: "@") else {
            throw Self.refusal("name the user: postgresql://USER@HOST:PORT/DATABASE")
        }
        let userInfo = authority[..<at]
        guard !userInfo.contains(":") else {
            throw Self.refusal(
                "the URL holds a password; give it in the environment as ROOKERY_DATABASE_PASSWORD instead, which keeps it out of the settings file")
        }
        user = try Self.decoded(userInfo, "user")
        let hostPort = authority[authority.index(after: at)...]
        let (hostText, portText) = Self.hostAndPort(hostPort)
        guard !hostText.isEmpty else { throw Self.refusal("name the host: postgresql://USER@HOST:PORT/DATABASE") }
        host = hostText
        guard let port = portText.map({ Int($0) }) ?? 5432, (1...65535).contains(port) else {
            throw Self.refusal("the port must be a number from 1 to 65535")
        }
        self.port = port
        database = try Self.decoded(path ?? "", "database")
        guard !database.isEmpty, !database.contains("/") else {
            throw Self.refusal("name the database: postgresql://USER@HOST:PORT/DATABASE")
        }
        sslMode = .prefer
        for parameter in (query ?? "").split(separator: "&") {
            let (name, value) = Self.split(parameter, at: "=")
            switch name {
            case "sslmode":
                guard let mode = value.flatMap({ SSLMode(rawValue: String($0)) }) else {
                    throw Self.refusal(
                        "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert":
                rootCertificate = try Self.decoded(value ?? "", "sslrootcert")
            case "connect_timeout":
                guard let seconds = value.flatMap({ Int($0) }), Self.connectTimeoutRange.contains(seconds) else {
                    throw Self.refusal("connect_timeout must be a number of seconds from 1 to 600")
                }
                connectTimeout = seconds
            default:
                throw Self.refusal("unknown parameter \(name); sslmode, sslrootcert and connect_timeout are understood")
            }
        }
    }

    /// The URL without anything secret (there is nothing secret in it), for logs and errors.
    public var description: String {
        "postgresql://\(user)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
            + (connectTimeout == Self.defaultConnectTimeout ? "" : "&connect_timeout=\(connectTimeout)")
    }

    private static func split(_ text: Substring, at separator: Character) -> (Substring, Substring?) {
        guard let index = text.firstIndex(of: separator) else { return (text, nil) }
        return (text[..<index], text[text.index(after: index)...])
    }

    private static func hostAndPort(_ text: Substring) -> (String, Substring?) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            return (host, after.hasPrefix(":") ? after.dropFirst() : nil)
        }
        let (host, port) = split(text, at: ":")
        return (String(host), port)
    }

    private static func decoded(_ text: Substring, _ what: String) throws -> String {
        guard let value = String(text).removingPercentEncoding, !value.isEmpty || what == "database" else {
            throw refusal("the \(what) is not valid in a URL")
        }
        return value
    }

    private static func refusal(_ reason: String) -> SettingsError {
        SettingsError("database: \(reason)", setting: ["database"])
    }
}
