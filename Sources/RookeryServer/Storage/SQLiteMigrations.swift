import GRDB

/// The SQLite schema, one migration per change; never edit a migration that has shipped.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-devices-documents") { db in
            try db.execute(
                sql: """
                    CREATE TABLE devices (
                        fingerprint TEXT PRIMARY KEY NOT NULL,
                        public_key TEXT NOT NULL,
                        hostname TEXT NOT NULL,
                        machine_id TEXT NOT NULL,
                        state TEXT NOT NULL,
                        enrolled_at DATETIME NOT NULL,
                        accepted_at DATETIME,
                        last_submission_at DATETIME,
                        flags TEXT NOT NULL DEFAULT '[]'
                    );
                    CREATE INDEX devices_hostname ON devices(hostname);
                    CREATE INDEX devices_machine_id ON devices(machine_id);

                    CREATE TABLE documents (
                        fingerprint TEXT PRIMARY KEY NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        document TEXT NOT NULL,
                        updated_at DATETIME NOT NULL
                    );

                    CREATE TABLE changes (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        path TEXT NOT NULL,
                        old TEXT,
                        new TEXT,
                        changed_at DATETIME NOT NULL
                    );
                    CREATE INDEX changes_device ON changes(fingerprint, id);

                    CREATE TABLE submissions (
                        fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        submission_id TEXT NOT NULL,
                        received_at DATETIME NOT NULL,
                        PRIMARY KEY (fingerprint, submission_id)
                    );

                    CREATE TABLE nonces (
                        nonce TEXT PRIMARY KEY NOT NULL,
                        seen_at DATETIME NOT NULL
                    );
                    CREATE INDEX nonces_seen_at ON nonces(seen_at);
                    """)
        }
        migrator.registerMigration("v2-patches-releases") { db in
            try db.execute(
                sql: """
                    CREATE TABLE patches (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        target TEXT NOT NULL,
                        action TEXT NOT NULL,
                        mode INTEGER NOT NULL,
                        content BLOB NOT NULL,
                        state TEXT NOT NULL,
                        created_at DATETIME NOT NULL,
                        finished_at DATETIME,
                        message TEXT NOT NULL DEFAULT ''
                    );
                    -- Two pending changes of one file on one device would race; the second is refused.
                    CREATE UNIQUE INDEX patches_one_pending ON patches(fingerprint, target) WHERE state = 'pending';
                    CREATE INDEX patches_device ON patches(fingerprint, id);

                    ALTER TABLE devices ADD COLUMN client_release INTEGER;
                    """)
        }
        migrator.registerMigration("v3-issues-parameters") { db in
            try db.execute(
                sql: """
                    CREATE TABLE issues (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        opened_at DATETIME NOT NULL,
                        opened_by TEXT NOT NULL,
                        closed_at DATETIME,
                        close_reason TEXT,
                        alerted_at DATETIME,
                        snoozed_until DATETIME,
                        held INTEGER NOT NULL DEFAULT 0,
                        held_data_at DATETIME,
                        detail TEXT NOT NULL DEFAULT ''
                    );
                    -- One open issue per device and check; the audit's batches read open and held ones.
                    CREATE UNIQUE INDEX issues_one_open ON issues(fingerprint, name) WHERE closed_at IS NULL;
                    CREATE INDEX issues_live ON issues(fingerprint) WHERE closed_at IS NULL OR held = 1;
                    CREATE INDEX issues_device ON issues(fingerprint, id);

                    CREATE TABLE client_parameters (
                        fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        value TEXT NOT NULL,
                        PRIMARY KEY (fingerprint, name)
                    );
                    -- user_clients: stored both ways, so a link is found from either end.
                    CREATE TABLE device_links (
                        fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        linked TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        PRIMARY KEY (fingerprint, linked)
                    );

                    ALTER TABLE devices ADD COLUMN suspended_at DATETIME;
                    -- The audit walks devices in this order, a batch at a time.
                    CREATE INDEX devices_audit_order ON devices(state, hostname, fingerprint);
                    """)
        }
        migrator.registerMigration("v4-failed-plugins") { db in
            // Which plugins' whole output is "unknown", kept beside the document when it is stored,
            // so the audit need not take every document apart to find them.
            try db.execute(
                sql: """
                    ALTER TABLE documents ADD COLUMN failed_plugins TEXT NOT NULL DEFAULT '[]';
                    UPDATE documents SET failed_plugins = COALESCE((SELECT json_group_array(key) FROM json_each(document, '$.plugins')
                                                                    WHERE type = 'text' AND atom = 'unknown'), '[]')
                    WHERE json_valid(document);
                    """)
        }
        migrator.registerMigration("v5-device-port") { db in
            try db.execute(
                sql: """
                    ALTER TABLE devices ADD COLUMN last_port INTEGER;
                    ALTER TABLE devices ADD COLUMN last_port_deprecated INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v5-forgotten-keys") { db in
            // Keys that were revoked and then forgotten: enrolling again, one waits for an admin
            // whatever token it brings. And hostnames as clash detection compares them
            // (Device.clashName), indexed for the enrollment's look-up.
            try db.execute(
                sql: """
                    CREATE TABLE forgotten_keys (
                        fingerprint TEXT PRIMARY KEY NOT NULL,
                        hostname TEXT NOT NULL,
                        forgotten_at DATETIME NOT NULL
                    );
                    CREATE INDEX devices_hostname_folded ON devices(lower(rtrim(hostname, '.')));
                    """)
        }
        migrator.registerMigration("v6-secret-keeping") { db in
            // One row at most: the public half of the secret-keeping key and how it was split.
            // The access log refuses changes and deletions, so what was read stays on record.
            try db.execute(
                sql: """
                    CREATE TABLE secret_keeping (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        fingerprint TEXT NOT NULL,
                        public_key TEXT NOT NULL,
                        shares INTEGER NOT NULL,
                        threshold INTEGER NOT NULL,
                        share_checksums TEXT NOT NULL,
                        enabled INTEGER NOT NULL,
                        created_at DATETIME NOT NULL
                    );
                    CREATE TABLE secret_selectors (
                        selector TEXT PRIMARY KEY NOT NULL,
                        added_at DATETIME NOT NULL
                    );
                    CREATE TABLE secret_access_log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at DATETIME NOT NULL,
                        action TEXT NOT NULL,
                        user TEXT NOT NULL,
                        sudo_user TEXT,
                        hosts TEXT NOT NULL,
                        selectors TEXT NOT NULL,
                        outcome TEXT NOT NULL
                    );
                    CREATE TRIGGER secret_access_log_no_update BEFORE UPDATE ON secret_access_log
                    BEGIN SELECT RAISE(ABORT, 'the secret access log is append-only'); END;
                    CREATE TRIGGER secret_access_log_no_delete BEFORE DELETE ON secret_access_log
                    BEGIN SELECT RAISE(ABORT, 'the secret access log is append-only'); END;
                    """)
        }
        migrator.registerMigration("v7-device-renames") { db in
            // The hostnames an accepted device renamed itself from and to, its newest
            // `DeviceRename.kept`; they go with the device (bin/clients forget).
            try db.execute(
                sql: """
                    CREATE TABLE device_renames (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        old_hostname TEXT NOT NULL,
                        new_hostname TEXT NOT NULL,
                        renamed_at DATETIME NOT NULL
                    );
                    CREATE INDEX device_renames_device ON device_renames(fingerprint, id);
                    """)
        }
        migrator.registerMigration("v8-history-prune-schedule") { db in
            // History rows a device added since its history was last pruned to its length
            // (see `SQLiteStore.pruneHistoryIfDue`). Until now it was pruned at every
            // submission, so no device is over its length: every count starts at 0.
            try db.execute(sql: "ALTER TABLE devices ADD COLUMN history_unpruned INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v9-shell-sessions") { db in
            // Remote-shell sessions and the frames waiting in them (issue 17): who opened which
            // session to which device and how many bytes passed, never the content. frames_to_*
            // count every frame ever queued, so sequence numbers keep rising after the waiting
            // frames were fetched and deleted.
            try db.execute(
                sql: """
                    CREATE TABLE shell_sessions (
                        id TEXT PRIMARY KEY NOT NULL,
                        fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        opened_by TEXT NOT NULL,
                        opened_at DATETIME NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('requested', 'open', 'refused', 'closed')),
                        admin_key BLOB NOT NULL,
                        device_key BLOB,
                        term TEXT,
                        rows INTEGER,
                        columns INTEGER,
                        command TEXT,
                        device_token_hash BLOB,
                        last_activity DATETIME NOT NULL,
                        bytes_to_device INTEGER NOT NULL DEFAULT 0,
                        bytes_to_admin INTEGER NOT NULL DEFAULT 0,
                        frames_to_device INTEGER NOT NULL DEFAULT 0,
                        frames_to_admin INTEGER NOT NULL DEFAULT 0,
                        closed_at DATETIME,
                        close_reason TEXT
                    );
                    CREATE INDEX shell_sessions_device ON shell_sessions(fingerprint, opened_at);
                    CREATE TABLE shell_frames (
                        session_id TEXT NOT NULL REFERENCES shell_sessions(id) ON DELETE CASCADE,
                        direction TEXT NOT NULL CHECK (direction IN ('to_device', 'to_admin')),
                        seq INTEGER NOT NULL,
                        frame BLOB NOT NULL,
                        PRIMARY KEY (session_id, direction, seq)
                    ) WITHOUT ROWID;
                    """)
        }
        // A device's agent waits in one server process; what it waits for may be queued by
        // another (an admin command, a shell opened elsewhere). Each process's watcher reads the
        // rows added since it last looked and wakes its own waiting polls.
        migrator.registerMigration("v10-agent-wakeups") { db in
            try db.execute(
                sql: """
                    CREATE TABLE agent_wakeups (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        fingerprint TEXT NOT NULL,
                        at DATETIME NOT NULL
                    );
                    CREATE INDEX agent_wakeups_at ON agent_wakeups(at);
                    """)
        }
        // The device's signed shell_accept, kept as it came, so the admin's side checks the
        // device's key itself rather than trusting the server's word for it.
        migrator.registerMigration("v11-shell-accept-proof") { db in
            try db.execute(
                sql: """
                    ALTER TABLE shell_sessions ADD COLUMN accept_body BLOB;
                    ALTER TABLE shell_sessions ADD COLUMN accept_signature BLOB;
                    """)
        }
        // Guesses of passwords and enrollment tokens, counted for every server process sharing
        // the database (see `GuessAttemptStore`); rows older than the window are dropped.
        migrator.registerMigration("v12-guess-attempts") { db in
            try db.execute(
                sql: """
                    CREATE TABLE guess_attempts (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        key TEXT NOT NULL,
                        at DATETIME NOT NULL
                    );
                    CREATE INDEX guess_attempts_key ON guess_attempts(key, at);
                    CREATE INDEX guess_attempts_at ON guess_attempts(at);
                    """)
        }
        // The dashboard (issue 19): one check's open issues, oldest first, without reading the
        // closed ones every device has piled up; each day's compliance per check ("*": every
        // check at once), as the day's last audit counted it; when each audit ran; and the
        // checks accepted as not applicable to a device until a date (`bin/issues except`).
        migrator.registerMigration("v13-dashboard") { db in
            try db.execute(
                sql: """
                    CREATE INDEX issues_open_by_check ON issues(name, opened_at) WHERE closed_at IS NULL;
                    CREATE TABLE compliance_daily (
                        day TEXT NOT NULL,
                        check_name TEXT NOT NULL,
                        passed INTEGER NOT NULL,
                        failed INTEGER NOT NULL,
                        unknown INTEGER NOT NULL,
                        PRIMARY KEY (check_name, day)
                    );
                    CREATE TABLE audit_runs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        started_at DATETIME NOT NULL,
                        finished_at DATETIME NOT NULL,
                        devices INTEGER NOT NULL,
                        opened INTEGER NOT NULL,
                        closed INTEGER NOT NULL
                    );
                    CREATE TABLE check_exceptions (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        check_name TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        created_by TEXT NOT NULL,
                        created_at DATETIME NOT NULL,
                        until DATETIME NOT NULL
                    );
                    CREATE INDEX check_exceptions_device ON check_exceptions(fingerprint, check_name);
                    CREATE INDEX check_exceptions_until ON check_exceptions(until);
                    """)
        }
        migrator.registerMigration("v14-groups") { db in
            try db.execute(
                sql: """
                    CREATE TABLE device_groups (
                        name TEXT PRIMARY KEY,
                        description TEXT NOT NULL,
                        condition TEXT,
                        created_by TEXT NOT NULL,
                        created_at DATETIME NOT NULL
                    );
                    CREATE TABLE group_members (
                        group_name TEXT NOT NULL REFERENCES device_groups(name) ON DELETE CASCADE,
                        fingerprint TEXT NOT NULL REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        added_by TEXT NOT NULL,
                        added_at DATETIME NOT NULL,
                        PRIMARY KEY (group_name, fingerprint)
                    );
                    CREATE INDEX group_members_device ON group_members(fingerprint);
                    CREATE TABLE group_changes (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at DATETIME NOT NULL,
                        changed_by TEXT NOT NULL,
                        group_name TEXT NOT NULL,
                        action TEXT NOT NULL,
                        detail TEXT NOT NULL
                    );
                    CREATE INDEX group_changes_group ON group_changes(group_name, id);
                    """)
        }
        migrator.registerMigration("v15-managed-state") { db in
            try db.execute(
                sql: """
                    CREATE TABLE managed_configs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        applied_at DATETIME NOT NULL,
                        applied_by TEXT NOT NULL,
                        settings_text TEXT,
                        firewall_text TEXT,
                        access_text TEXT
                    );
                    CREATE TABLE managed_states (
                        fingerprint TEXT PRIMARY KEY REFERENCES devices(fingerprint) ON DELETE CASCADE,
                        state TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        rendered_at DATETIME NOT NULL
                    );
                    """)
        }
        return migrator
    }
}
