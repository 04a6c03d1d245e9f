import Foundation
import Logging
import PostgresNIO
import RookeryCore

/// The PostgreSQL schema, one migration per change, each a list of statements run in one
/// transaction. PostgreSQL's history is its own (SQLite's is in `SQLiteMigrations`); the two
/// describe the same tables. Never edit a migration that has shipped: add one.
enum PostgresMigrations {
    struct Migration: Sendable {
        let id: String
        let statements: [String]
    }

    /// Taken for the whole migration, so that several server processes starting together
    /// migrate once: the others wait, then find nothing left to do.
    static let lockKey: Int64 = 0x726F_6F6B_6572_7931  // "rookery1"

    static let all: [Migration] = [
        Migration(
            id: "v1-devices",
            statements: [
                """
                CREATE TABLE devices (
                    fingerprint TEXT PRIMARY KEY,
                    public_key TEXT NOT NULL,
                    hostname TEXT NOT NULL,
                    machine_id TEXT NOT NULL,
                    state TEXT NOT NULL,
                    enrolled_at TIMESTAMPTZ NOT NULL,
                    accepted_at TIMESTAMPTZ,
                    last_submission_at TIMESTAMPTZ,
                    flags TEXT NOT NULL DEFAULT '[]',
                    client_release BIGINT,
                    suspended_at TIMESTAMPTZ,
                    last_port BIGINT,
                    last_port_deprecated BOOLEAN NOT NULL DEFAULT false,
                    history_unpruned BIGINT NOT NULL DEFAULT 0
                )
                """,
                "CREATE INDEX devices_hostname ON devices (hostname)",
                "CREATE INDEX devices_machine_id ON devices (machine_id)",
                // Device.clashName, for the enrollment's and the rename's look-up.
                "CREATE INDEX devices_hostname_folded ON devices (lower(rtrim(hostname, '.')))",
                """
                CREATE TABLE forgotten_keys (
                    fingerprint TEXT PRIMARY KEY,
                    hostname TEXT NOT NULL,
                    forgotten_at TIMESTAMPTZ NOT NULL
                )
                """,
                """
                CREATE TABLE device_renames (
                    id BIGSERIAL PRIMARY KEY,
                    fingerprint TEXT NOT NULL REFERENCES devices (fingerprint) ON DELETE CASCADE,
                    old_hostname TEXT NOT NULL,
                    new_hostname TEXT NOT NULL,
                    renamed_at TIMESTAMPTZ NOT NULL
                )
                """,
                "CREATE INDEX device_renames_device ON device_renames (fingerprint, id)",
                """
                CREATE TABLE documents (
                    fingerprint TEXT PRIMARY KEY REFERENCES devices (fingerprint) ON DELETE CASCADE,
                    document TEXT NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL,
                    failed_plugins TEXT NOT NULL DEFAULT '[]'
                )
                """,
                """
                CREATE TABLE changes (
                    id BIGSERIAL PRIMARY KEY,
                    fingerprint TEXT NOT NULL REFERENCES devices (fingerprint) ON DELETE CASCADE,
                    path TEXT NOT NULL,
                    old TEXT,
                    new TEXT,
                    changed_at TIMESTAMPTZ NOT NULL
                )
                """,
                "CREATE INDEX changes_device ON changes (fingerprint, id)",
                """
                CREATE TABLE submissions (
                    fingerprint TEXT NOT NULL REFERENCES devices (fingerprint) ON DELETE CASCADE,
                    submission_id TEXT NOT NULL,
                    received_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (fingerprint, submission_id)
                )
                """,
                "CREATE TABLE nonces (nonce TEXT PRIMARY KEY, seen_at TIMESTAMPTZ NOT NULL)",
                "CREATE INDEX nonces_seen_at ON nonces (seen_at)",
                // Remote-shell sessions (see SQLiteMigrations v9, v11): revoking a device closes its own.
                """
                CREATE TABLE shell_sessions (
                    id TEXT PRIMARY KEY,
                    fingerprint TEXT NOT NULL REFERENCES devices (fingerprint) ON DELETE CASCADE,
                    opened_by TEXT NOT NULL,
                    opened_at TIMESTAMPTZ NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('requested', 'open', 'refused', 'closed')),
                    admin_key BYTEA NOT NULL,
                    device_key BYTEA,
                    term TEXT,
                    rows BIGINT,
                    columns BIGINT,
                    command TEXT,
                    device_token_hash BYTEA,
                    last_activity TIMESTAMPTZ NOT NULL,
                    bytes_to_device BIGINT NOT NULL DEFAULT 0,
                    bytes_to_admin BIGINT NOT NULL DEFAULT 0,
                    frames_to_device BIGINT NOT NULL DEFAULT 0,
                    frames_to_admin BIGINT NOT NULL DEFAULT 0,
                    closed_at TIMESTAMPTZ,
                    close_reason TEXT,
                    accept_body BYTEA,
                    accept_signature BYTEA,
                    -- The order sessions were requested in (SQLite's rowid), for ties of opened_at.
                    number BIGSERIAL
                )
                """,
                "CREATE INDEX shell_sessions_device ON shell_sessions (fingerprint, opened_at)"
            ]),
        Migration(
            id: "v2-patches",
            statements: [
                """
                CREATE TABLE patches (
                    id BIGSERIAL PRIMARY KEY,
                    fingerprint TEXT NOT NULL REFERENCES devices (fingerprint) ON DELETE CASCADE,
                    target TEXT NOT NULL,
                    action TEXT NOT NULL,
                    mode BIGINT NOT NULL,
                    content BYTEA NOT NULL,
                    state TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL,
                    finished_at TIMESTAMPTZ,
                    message TEXT NOT NULL DEFAULT ''
                )
                """,
                // Two pending changes of one file on one device would race; the second is refused.
                "CREATE UNIQUE INDEX patches_one_pending ON patches (fingerprint, target) WHERE state = 'pending'",
                "CREATE INDEX patches_device ON patches (fingerprint, id)",
                // What a waiting agent's poll is woken by, whichever process queued it (SQLite v10).
                """
                CREATE TABLE agent_wakeups (
                    id BIGSERIAL PRIMARY KEY,
                    fingerprint TEXT NOT NULL,
                    at TIMESTAMPTZ NOT NULL
                )
                """,
                "CREATE INDEX agent_wakeups_at ON agent_wakeups (at)"
            ]),
        Migration(
            id: "v3-issues-secrets-shells",
            statements: [
                // SQLite v3: the audit's issues, client parameters and user_clients links.
                """
                CREATE TABLE issues (
                    id BIGSERIAL PRIMARY KEY,
                    fingerprint TEXT NOT NULL REFERENCES devices (fingerprint) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    opened_at TIMESTAMPTZ NOT NULL,
                    opened_by TEXT NOT NULL,
                    closed_at TIMESTAMPTZ,
                    close_reason TEXT,
                    alerted_at TIMESTAMPTZ,
                    snoozed_until TIMESTAMPTZ,
                    held BOOLEAN NOT NULL DEFAULT false,
                    held_data_at TIMESTAMPTZ,
                    detail TEXT NOT NULL DEFAULT ''
                )
                """,
                "CREATE UNIQUE INDEX issues_one_open ON issues (fingerprint, name) WHERE closed_at IS NULL",
                "CREATE INDEX issues_live ON issues (fingerprint) WHERE closed_at IS NULL OR held",
                "CREATE INDEX issues_device ON issues (fingerprint, id)",
                """
                CREATE TABLE client_parameters (
                    fingerprint TEXT NOT NULL REFERENCES devices (fingerprint) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (fingerprint, name)
                )
                """,
                """
                CREATE TABLE device_links (
                    fingerprint TEXT NOT NULL REFERENCES devices (fingerprint) ON DELETE CASCADE,
                    linked TEXT NOT NULL REFERENCES devices (fingerprint) ON DELETE CASCADE,
                    PRIMARY KEY (fingerprint, linked)
                )
                """,
                // The audit walks accepted devices in this order (hostnames by their bytes).
                #"CREATE INDEX devices_audit_order ON devices (state, hostname COLLATE "C", fingerprint)"#,
                // SQLite v6: secret keeping; the access log refuses changes and deletions.
                """
                CREATE TABLE secret_keeping (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    fingerprint TEXT NOT NULL,
                    public_key TEXT NOT NULL,
                    shares BIGINT NOT NULL,
                    threshold BIGINT NOT NULL,
                    share_checksums TEXT NOT NULL,
                    enabled BOOLEAN NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL
                )
                """,
                "CREATE TABLE secret_selectors (selector TEXT PRIMARY KEY, added_at TIMESTAMPTZ NOT NULL)",
                """
                CREATE TABLE secret_access_log (
                    id BIGSERIAL PRIMARY KEY,
                    at TIMESTAMPTZ NOT NULL,
                    action TEXT NOT NULL,
                    "user" TEXT NOT NULL,
                    sudo_user TEXT,
                    hosts TEXT NOT NULL,
                    selectors TEXT NOT NULL,
                    outcome TEXT NOT NULL
                )
                """,
                """
                CREATE FUNCTION secret_access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'the secret access log is append-only'; END $$
                """,
                """
                CREATE TRIGGER secret_access_log_append_only BEFORE UPDATE OR DELETE ON secret_access_log
                FOR EACH ROW EXECUTE FUNCTION secret_access_log_append_only()
                """,
                """
                CREATE TRIGGER secret_access_log_no_truncate BEFORE TRUNCATE ON secret_access_log
                FOR EACH STATEMENT EXECUTE FUNCTION secret_access_log_append_only()
                """,
                // SQLite v9: the frames waiting in a shell session, each direction numbered.
                """
                CREATE TABLE shell_frames (
                    session_id TEXT NOT NULL REFERENCES shell_sessions (id) ON DELETE CASCADE,
                    direction TEXT NOT NULL CHECK (direction IN ('to_device', 'to_admin')),
                    seq BIGINT NOT NULL,
                    frame BYTEA NOT NULL,
                    PRIMARY KEY (session_id, direction, seq)
                )
                """
            ]),
        // SQLite v12: guesses of passwords and enrollment tokens, counted for every process.
        Migration(
            id: "v4-guess-attempts",
            statements: [
                "CREATE TABLE guess_attempts (id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL, at TIMESTAMPTZ NOT NULL)",
                "CREATE INDEX guess_attempts_key ON guess_attempts (key, at)",
                "CREATE INDEX guess_attempts_at ON guess_attempts (at)"
            ]),
        // The dashboard (see SQLite's v13-dashboard).
        Migration(
            id: "v5-dashboard",
            statements: [
                "CREATE INDEX issues_open_by_check ON issues (name, opened_at) WHERE closed_at IS NULL",
                """
                CREATE TABLE compliance_daily (
                    day TEXT NOT NULL, check_name TEXT NOT NULL,
                    passed INTEGER NOT NULL, failed INTEGER NOT NULL, unknown INTEGER NOT NULL,
                    PRIMARY KEY (check_name, day))
                """,
                """
                CREATE TABLE audit_runs (
                    id BIGSERIAL PRIMARY KEY, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL,
                    devices INTEGER NOT NULL, opened INTEGER NOT NULL, closed INTEGER NOT NULL)
                """,
                """
                CREATE TABLE check_exceptions (
                    id BIGSERIAL PRIMARY KEY,
                    fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                    check_name TEXT NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL, until TIMESTAMPTZ NOT NULL)
                """,
                "CREATE INDEX check_exceptions_device ON check_exceptions (fingerprint, check_name)",
                "CREATE INDEX check_exceptions_until ON check_exceptions (until)"
            ]),
        // Groups of devices (see SQLite's v14-groups).
        Migration(
            id: "v6-groups",
            statements: [
                """
                CREATE TABLE device_groups (
                    name TEXT PRIMARY KEY, description TEXT NOT NULL, condition TEXT,
                    created_by TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)
                """,
                """
                CREATE TABLE group_members (
                    group_name TEXT NOT NULL REFERENCES device_groups(name) ON DELETE CASCADE,
                    fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                    added_by TEXT NOT NULL, added_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (group_name, fingerprint))
                """,
                "CREATE INDEX group_members_device ON group_members (fingerprint)",
                """
                CREATE TABLE group_changes (
                    id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, changed_by TEXT NOT NULL,
                    group_name TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL)
                """,
                "CREATE INDEX group_changes_group ON group_changes (group_name, id)"
            ]),
        // What the server manages on devices (see SQLite's v15-managed-state).
        Migration(
            id: "v7-managed-state",
            statements: [
                """
                CREATE TABLE managed_configs (
                    id BIGSERIAL PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL, applied_by TEXT NOT NULL,
                    settings_text TEXT, firewall_text TEXT, access_text TEXT)
                """,
                """
                CREATE TABLE managed_states (
                    fingerprint TEXT PRIMARY KEY REFERENCES devices(fingerprint) ON DELETE CASCADE,
                    state TEXT NOT NULL, sha256 TEXT NOT NULL, rendered_at TIMESTAMPTZ NOT NULL)
                """
            ])
    ]

    static var ids: [String] { all.map(\.id) }

    /// Brings the database to this binary's schema; refuses one a newer binary migrated further.
    /// Applies what is missing, in one transaction; the ids it applied.
    static func migrate(_ database: PostgresPool) async throws -> [String] {
        let logger = database.logger
        return try await database.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS rookery_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger: logger)
            let applied = try await appliedIDs(connection, logger: logger)
            let unknown = applied.subtracting(ids)
            guard unknown.isEmpty else {
                throw SettingsError(
                    "database \(database.location.description) has migrations this server does not know "
                        + "(\(unknown.sorted().joined(separator: ", "))): a newer server migrated it; upgrade this one",
                    setting: ["database"])
            }
            let missing = all.filter { !applied.contains($0.id) }
            for migration in missing {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO rookery_migrations (id) VALUES (\(migration.id))", logger: logger)
            }
            return missing.map(\.id)
        }
    }

    /// Where the database stands against `all`.
    static func schemaState(_ database: PostgresPool) async throws -> SchemaState {
        let applied = try await database.withConnection { connection in
            try await appliedIDs(connection, logger: database.logger)
        }
        let unknown = applied.subtracting(ids)
        if !unknown.isEmpty { return .ahead(unknown: unknown.sorted()) }
        let missing = ids.filter { !applied.contains($0) }
        return missing.isEmpty ? .current : .behind(missing: missing)
    }

    private static func appliedIDs(_ connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        let exists = try await connection.query("SELECT to_regclass('rookery_migrations') IS NOT NULL", logger: logger)
        guard try await exists.single(Bool.self) == true else { return [] }
        var applied: Set<String> = []
        for try await id in try await connection.query("SELECT id FROM rookery_migrations", logger: logger).decode(String.self) {
            applied.insert(id)
        }
        return applied
    }
}
