import Foundation
import Logging
import NIOSSL
import PostgresNIO
import RookeryCore

/// A pool of connections to the server's PostgreSQL database (postgres-nio's `PostgresClient`),
/// running for as long as this value lives. Connections are made as requests need them, up to
/// `maximumConnections`, and verified as `location.sslMode` says.
public final class PostgresPool: Sendable {
    let client: PostgresClient
    public let location: PostgresLocation
    let logger: Logger
    private let running: Task<Void, Never>

    public init(location: PostgresLocation, password: String?, maximumConnections: Int = 20, logger: Logger) throws {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database, tls: try Self.tls(location))
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(Int64(location.connectTimeout))
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.location = location
        self.logger = logger
        running = Task { await client.run() }
    }

    deinit { running.cancel() }

    /// Runs `body` in one transaction; what `body` threw is thrown as it was (rolled back), not
    /// wrapped, so callers see the store's own errors and the server's refusals.
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let failure as PostgresTransactionError where failure.rollbackError == nil {
            throw PostgresFailure.readable(failure.closureError ?? failure.beginError ?? failure.commitError ?? failure)
        } catch {
            throw PostgresFailure.readable(error)
        }
    }

    /// One statement outside a transaction (postgres-nio's `query`), its errors readable.
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        do {
            return try await client.query(query, logger: logger)
        } catch {
            throw PostgresFailure.readable(error)
        }
    }

    /// A statement written out whole, with nothing bound (CREATE DATABASE takes no parameters):
    /// for the benchmarks' scratch databases, never for anything a peer sent.
    package func execute(unsafeSQL sql: String) async throws {
        try await query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// Several statements on one connection, without a transaction, errors readable.
    func withConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw PostgresFailure.readable(error)
        }
    }

    /// libpq's sslmode in postgres-nio's terms.
    static func tls(_ location: PostgresLocation) throws -> PostgresClient.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch location.sslMode {
        case .disable:
            return .disable
        case .prefer, .require:
            configuration.certificateVerification = .none
            return location.sslMode == .prefer ? .prefer(configuration) : .require(configuration)
        case .verifyCA, .verifyFull:
            configuration.certificateVerification = location.sslMode == .verifyCA ? .noHostnameVerification : .fullVerification
            if let root = location.rootCertificate { configuration.trustRoots = .file(root) }
            return .require(configuration)
        }
    }

    /// The password for `location`: the file `passwordFile` names (its first line; refused when
    /// anyone may read it), else ROOKERY_DATABASE_PASSWORD, else none (the server then decides:
    /// `trust` or certificate authentication).
    public static func password(file passwordFile: String?, environment: [String: String]) throws -> String? {
        if let passwordFile {
            var info = stat()
            guard stat(passwordFile, &info) == 0, let data = FileManager.default.contents(atPath: passwordFile) else {
                throw SettingsError(
                    "database_password_file: cannot read \(passwordFile)", setting: ["database_password_file"])
            }
            guard info.st_mode & 0o004 == 0 else {
                throw SettingsError(
                    "database_password_file: \(passwordFile) may be read by anyone; chmod o-r it (0600 or 0640)",
                    setting: ["database_password_file"])
            }
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
            guard !line.isEmpty else {
                throw SettingsError("database_password_file: \(passwordFile) is empty", setting: ["database_password_file"])
            }
            return String(line)
        }
        return environment["ROOKERY_DATABASE_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// What PostgreSQL said, in its own words and SQLSTATE code. postgres-nio's error describes
/// itself with one generic sentence, so that no statement's values reach a log; this keeps the
/// server's message (never the values bound to the statement) for the logs and the admin.
public struct PostgresFailure: Error, CustomStringConvertible {
    /// PostgreSQL's SQLSTATE (23505: a unique key taken); nil when the server never answered.
    public let sqlState: String?
    public let description: String

    /// Errors that are not PostgreSQL's (a store's own refusal thrown inside a transaction) pass as they are.
    static func readable(_ error: any Error) -> any Error {
        guard let error = error as? PSQLError else { return error }
        return PostgresFailure(error)
    }

    init(_ error: PSQLError) {
        sqlState = error.serverInfo?[.sqlState]
        if let message = error.serverInfo?[.message] {
            description = "PostgreSQL: \(message) (SQLSTATE \(sqlState ?? "?"))"
        } else {
            description = "PostgreSQL: \(error.code.description)\(error.underlying.map { ": \($0)" } ?? "")"
        }
    }
}

extension PostgresRowSequence {
    /// The first row's one column (a count, an EXISTS, an id a RETURNING gives back); nil when
    /// the query returned no row. Reads every row, so the connection is left clean.
    func single<Value: PostgresDecodable>(_ type: Value.Type) async throws -> Value? {
        var first: Value?
        do {
            for try await value in decode(Value.self) where first == nil { first = value }
        } catch {
            // An error can come with the rows, after `query` returned: said readably here too.
            throw PostgresFailure.readable(error)
        }
        return first
    }
}
