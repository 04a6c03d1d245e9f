import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore: DeviceStore {
    /// The columns `device(from:)` reads, in its order.
    static let deviceColumns = """
        fingerprint, public_key, hostname, machine_id, state, enrolled_at, accepted_at, last_submission_at, flags,
        client_release, suspended_at
        """

    typealias DeviceRow = (String, String, String, String, String, Date, Date?, Date?, String, Int64?, Date?)

    static func device(from row: DeviceRow) -> Device {
        let flags = (try? JSONDecoder().decode([String].self, from: Data(row.8.utf8))) ?? []
        return Device(
            fingerprint: row.0, publicKey: row.1, hostname: row.2, machineID: row.3,
            state: DeviceState(rawValue: row.4) ?? .pending, enrolledAt: row.5, acceptedAt: row.6,
            lastSubmissionAt: row.7, flags: flags, clientRelease: row.9.map { Int($0) }, suspendedAt: row.10)
    }

    static func devices(_ rows: PostgresRowSequence) async throws -> [Device] {
        var devices: [Device] = []
        for try await row in rows.decode(DeviceRow.self) { devices.append(device(from: row)) }
        return devices
    }

    static func device(fingerprint: String, on connection: PostgresConnection, logger: Logger) async throws -> Device? {
        let rows = try await connection.query(
            "SELECT \(unescaped: deviceColumns) FROM devices WHERE fingerprint = \(fingerprint)", logger: logger)
        return try await devices(rows).first
    }

    public func device(fingerprint: String) async throws -> Device? {
        try await pool.withConnection { connection in
            try await Self.device(fingerprint: fingerprint, on: connection, logger: logger)
        }
    }

    public func devices(named nameOrFingerprint: String) async throws -> [Device] {
        let upper = nameOrFingerprint.uppercased()
        // A fingerprint prefix of 8+ hex digits matches too (no LIKE wildcards can be in it).
        let prefix = upper.count >= 8 && upper.allSatisfy(InputValidation.isASCIIHex) ? upper + "%" : "-"
        return try await Self.devices(
            try await pool.query(
                """
                SELECT \(unescaped: Self.deviceColumns) FROM devices
                WHERE hostname = \(nameOrFingerprint) OR fingerprint = \(upper) OR fingerprint LIKE \(prefix)
                ORDER BY hostname COLLATE "C", fingerprint
                """, logger: logger))
    }

    public func devices(in state: DeviceState?) async throws -> [Device] {
        let query: PostgresQuery =
            if let state {
                "SELECT \(unescaped: Self.deviceColumns) FROM devices WHERE state = \(state.rawValue) ORDER BY hostname COLLATE \"C\", fingerprint"
            } else {
                "SELECT \(unescaped: Self.deviceColumns) FROM devices ORDER BY hostname COLLATE \"C\", fingerprint"
            }
        return try await Self.devices(try await pool.query(query, logger: logger))
    }

    public func deviceCount(in state: DeviceState) async throws -> Int {
        try await pool.query("SELECT count(*) FROM devices WHERE state = \(state.rawValue)", logger: logger)
            .single(Int.self) ?? 0
    }

    public func acceptedDevices(reportingOn port: Int) async throws -> [Device] {
        try await Self.devices(
            try await pool.query(
                """
                SELECT \(unescaped: Self.deviceColumns) FROM devices WHERE state = 'accepted' AND last_port = \(port)
                ORDER BY hostname COLLATE "C", fingerprint
                """, logger: logger))
    }

    public func enroll(_ candidate: Device, acceptUnlessFlagged: Bool) async throws -> Device {
        let logger = logger
        return try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.deviceNamesLock))", logger: logger)
            if let existing = try await Self.device(fingerprint: candidate.fingerprint, on: connection, logger: logger) {
                return existing
            }
            let others = try await Self.devices(
                try await connection.query(
                    """
                    SELECT \(unescaped: Self.deviceColumns) FROM devices
                    WHERE (lower(rtrim(hostname, '.')) = \(Device.clashName(of: candidate.hostname))
                           OR machine_id = \(candidate.machineID))
                      AND fingerprint <> \(candidate.fingerprint)
                    ORDER BY hostname COLLATE "C"
                    """, logger: logger))
            let forgottenAt = try await connection.query(
                "SELECT forgotten_at FROM forgotten_keys WHERE fingerprint = \(candidate.fingerprint)", logger: logger
            ).single(Date.self)
            let device = candidate.enrolling(besides: others, forgottenAt: forgottenAt, acceptUnlessFlagged: acceptUnlessFlagged)
            try await connection.query(
                """
                INSERT INTO devices (fingerprint, public_key, hostname, machine_id, state, enrolled_at, accepted_at,
                                     last_submission_at, flags)
                VALUES (\(device.fingerprint), \(device.publicKey), \(device.hostname), \(device.machineID),
                        \(device.state.rawValue), \(device.enrolledAt), \(device.acceptedAt), \(device.lastSubmissionAt),
                        \(try Self.flagsText(device.flags)))
                """, logger: logger)
            return device
        }
    }

    static func flagsText(_ flags: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(flags), as: UTF8.self)
    }

    public func rename(fingerprint: String, to hostname: String, at: Date) async throws -> RenameOutcome {
        let logger = logger
        return try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.deviceNamesLock))", logger: logger)
            guard let device = try await Self.device(fingerprint: fingerprint, on: connection, logger: logger) else {
                return .notAccepted(nil)
            }
            guard device.state == .accepted else { return .notAccepted(device.state) }
            var updated = device
            updated.flags.removeAll(where: Device.isRenameHeldFlag)
            func saveFlags() async throws {
                try await connection.query(
                    "UPDATE devices SET flags = \(try Self.flagsText(updated.flags)) WHERE fingerprint = \(fingerprint)",
                    logger: logger)
            }
            if hostname == device.hostname {
                try await saveFlags()
                return .unchanged(updated)
            }
            var wanted = device
            wanted.hostname = hostname
            let holders = try await Self.devices(
                try await connection.query(
                    """
                    SELECT \(unescaped: Self.deviceColumns) FROM devices
                    WHERE lower(rtrim(hostname, '.')) = \(Device.clashName(of: hostname)) AND fingerprint <> \(fingerprint)
                    ORDER BY hostname COLLATE "C"
                    """, logger: logger))
            let clashes = wanted.clashFlags(with: holders)
            if !clashes.isEmpty {
                updated.flags.append(Device.renameHeldFlag(to: hostname, clashes: clashes))
                try await saveFlags()
                return .held(updated)
            }
            updated.hostname = hostname
            try await connection.query(
                """
                UPDATE devices SET hostname = \(hostname), flags = \(try Self.flagsText(updated.flags))
                WHERE fingerprint = \(fingerprint)
                """, logger: logger)
            let rename = DeviceRename(fingerprint: fingerprint, oldHostname: device.hostname, newHostname: hostname, renamedAt: at)
            try await connection.query(
                """
                INSERT INTO device_renames (fingerprint, old_hostname, new_hostname, renamed_at)
                VALUES (\(fingerprint), \(rename.oldHostname), \(rename.newHostname), \(at))
                """, logger: logger)
            // An accepted device could rename itself back and forth forever: keep the newest.
            try await connection.query(
                """
                DELETE FROM device_renames WHERE fingerprint = \(fingerprint) AND id NOT IN
                    (SELECT id FROM device_renames WHERE fingerprint = \(fingerprint) ORDER BY id DESC LIMIT \(DeviceRename.kept))
                """, logger: logger)
            return .renamed(updated, rename)
        }
    }

    public func renames(fingerprint: String) async throws -> [DeviceRename] {
        var renames: [DeviceRename] = []
        let rows = try await pool.query(
            """
            SELECT fingerprint, old_hostname, new_hostname, renamed_at FROM device_renames
            WHERE fingerprint = \(fingerprint) ORDER BY id DESC
            """, logger: logger)
        for try await (fingerprint, old, new, at) in rows.decode((String, String, String, Date).self) {
            renames.append(DeviceRename(fingerprint: fingerprint, oldHostname: old, newHostname: new, renamedAt: at))
        }
        return renames
    }

    public func setState(_ state: DeviceState, fingerprint: String, at: Date) async throws {
        let logger = logger
        try await transaction { connection in
            if state == .accepted {
                try await connection.query(
                    "UPDATE devices SET state = \(state.rawValue), accepted_at = \(at) WHERE fingerprint = \(fingerprint)",
                    logger: logger)
            } else {
                try await connection.query(
                    "UPDATE devices SET state = \(state.rawValue) WHERE fingerprint = \(fingerprint)", logger: logger)
                // A shell runs on the device's word that it is this device: not past its revocation.
                try await connection.query(
                    """
                    UPDATE shell_sessions SET state = 'closed', closed_at = \(at), close_reason = \("the device was \(state.rawValue)")
                    WHERE fingerprint = \(fingerprint) AND state IN ('requested', 'open')
                    """, logger: logger)
            }
        }
    }

    public func forget(fingerprint: String, at: Date) async throws {
        let logger = logger
        try await transaction { connection in
            try await connection.query(
                """
                INSERT INTO forgotten_keys (fingerprint, hostname, forgotten_at)
                SELECT fingerprint, hostname, \(at) FROM devices WHERE fingerprint = \(fingerprint) AND state = 'revoked'
                ON CONFLICT (fingerprint) DO UPDATE SET hostname = EXCLUDED.hostname, forgotten_at = EXCLUDED.forgotten_at
                """, logger: logger)
            // Documents, history and submission ids go with the device (ON DELETE CASCADE).
            try await connection.query("DELETE FROM devices WHERE fingerprint = \(fingerprint)", logger: logger)
        }
    }

    public func lookUpSigner(fingerprint: String, nonce: String) async throws -> SignerLookup {
        let logger = logger
        return try await pool.withConnection { connection in
            let device = try await Self.device(fingerprint: fingerprint, on: connection, logger: logger)
            let seen = try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM nonces WHERE nonce = \(nonce))", logger: logger
            ).single(Bool.self)
            return SignerLookup(device: device, nonceSeen: seen ?? false)
        }
    }

    public func recordNonce(_ nonce: String, seenAt: Date, pruneBefore: Date) async throws -> Bool {
        let logger = logger
        return try await transaction { connection in
            // Rows another process is pruning are left to it: no waiting on each other's locks.
            try await connection.query(
                """
                DELETE FROM nonces WHERE nonce IN
                    (SELECT nonce FROM nonces WHERE seen_at < \(pruneBefore) FOR UPDATE SKIP LOCKED)
                """, logger: logger)
            let inserted = try await connection.query(
                "INSERT INTO nonces (nonce, seen_at) VALUES (\(nonce), \(seenAt)) ON CONFLICT (nonce) DO NOTHING RETURNING nonce",
                logger: logger
            ).single(String.self)
            return inserted != nil
        }
    }
}
