import GRDB

/// The store's schema, as a timeline of named migrations.
///
/// A migration that has shipped is NEVER edited, renamed, reordered or removed: databases in
/// the field record the names of the migrations they ran and will not run an edited one again.
/// To change the schema, append a new migration ("v2", "v3", ...). Migrations speak SQL only and
/// use no application type, so their meaning never drifts with the code.
enum Schema {
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(sql: v1)
    }
    migrator.registerMigration("v2-rounds") { db in
      try db.execute(sql: v2Rounds)
    }
    migrator.registerMigration("v3-round-relay") { db in
      try db.execute(sql: v3RoundRelay)
    }
    migrator.registerMigration("v4-arrival-events") { db in
      try db.execute(sql: v4ArrivalEvents)
    }
    migrator.registerMigration("v5-submissions-log") { db in
      try db.execute(sql: v5SubmissionsLog)
    }
    migrator.registerMigration("v6-applications") { db in
      try db.execute(sql: v6Applications)
    }
    migrator.registerMigration("v7-registry-generation") { db in
      try db.execute(sql: v7RegistryGeneration)
    }
    return migrator
  }

  /// Times are INTEGER microseconds since 1970-01-01T00:00:00Z (UTC). Enumerations are TEXT raw
  /// values. Rows of submissions, submission_bytes, findings, report_revisions and audit_log are
  /// never updated nor deleted (triggers abort any attempt): a receipt is rebuilt from them
  /// identically every time.
  private static let v1 = """
    CREATE TABLE reporters (
      code TEXT PRIMARY KEY NOT NULL CHECK (code <> ''),
      name_zh TEXT NOT NULL,
      name_en TEXT NOT NULL,
      kind TEXT NOT NULL,
      parent_code TEXT,
      active INTEGER NOT NULL CHECK (active IN (0, 1)),
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );

    CREATE TABLE reporter_keys (
      public_key_z85 TEXT PRIMARY KEY NOT NULL CHECK (length(public_key_z85) = 40),
      reporter_code TEXT NOT NULL REFERENCES reporters(code),
      comment TEXT NOT NULL DEFAULT '',
      registered_at INTEGER NOT NULL,
      retired_at INTEGER
    );
    CREATE INDEX reporter_keys_by_reporter ON reporter_keys(reporter_code);

    CREATE TABLE bases (
      base_id TEXT PRIMARY KEY NOT NULL CHECK (base_id <> ''),
      name_zh TEXT NOT NULL,
      name_en TEXT NOT NULL,
      reporter_code TEXT NOT NULL REFERENCES reporters(code),
      kind TEXT NOT NULL,
      level TEXT NOT NULL,
      city_code TEXT NOT NULL DEFAULT '',
      city_name_zh TEXT NOT NULL DEFAULT '',
      recognition_document TEXT NOT NULL DEFAULT '',
      recognition_date TEXT NOT NULL DEFAULT '',
      first_report_year INTEGER NOT NULL,
      status TEXT NOT NULL,
      retired_at INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX bases_by_reporter ON bases(reporter_code);

    CREATE TABLE base_fields (
      base_id TEXT NOT NULL REFERENCES bases(base_id) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      field TEXT NOT NULL,
      PRIMARY KEY (base_id, position),
      UNIQUE (base_id, field)
    );

    -- One row per submission the store recorded: accepted, duplicate or rejected.
    -- No foreign keys to the registry: a rejected submission may name an unknown base.
    CREATE TABLE submissions (
      id INTEGER PRIMARY KEY,
      submission_id TEXT NOT NULL UNIQUE,
      accession_number TEXT UNIQUE,
      reporter_code TEXT NOT NULL,
      base_id TEXT NOT NULL,
      report_year INTEGER NOT NULL,
      revision INTEGER NOT NULL,
      replaces_revision INTEGER NOT NULL,
      content_sha256 BLOB NOT NULL CHECK (length(content_sha256) = 32),
      status TEXT NOT NULL CHECK (status IN
        ('accepted', 'accepted_with_warnings', 'accepted_late', 'duplicate', 'rejected')),
      late INTEGER NOT NULL CHECK (late IN (0, 1)),
      received_at INTEGER NOT NULL,
      explanations TEXT NOT NULL DEFAULT '[]',
      duplicate_of INTEGER REFERENCES submissions(id),
      CHECK ((accession_number IS NOT NULL) = (status IN ('accepted', 'accepted_with_warnings', 'accepted_late'))),
      CHECK ((duplicate_of IS NOT NULL) = (status = 'duplicate'))
    );
    CREATE INDEX submissions_by_reporter_year ON submissions(reporter_code, report_year, id);
    CREATE INDEX submissions_by_base_year ON submissions(base_id, report_year, id);

    -- The original bytes, apart from the indexed rows (large blobs waste their pages).
    CREATE TABLE submission_bytes (
      submission_row_id INTEGER PRIMARY KEY REFERENCES submissions(id),
      bytes BLOB NOT NULL
    );

    -- Every stored revision of every (base, year) report; one per accepted submission.
    CREATE TABLE report_revisions (
      base_id TEXT NOT NULL,
      report_year INTEGER NOT NULL,
      revision INTEGER NOT NULL CHECK (revision >= 1),
      submission_row_id INTEGER NOT NULL UNIQUE REFERENCES submissions(id),
      PRIMARY KEY (base_id, report_year, revision)
    ) WITHOUT ROWID;

    CREATE TABLE findings (
      submission_row_id INTEGER NOT NULL REFERENCES submissions(id),
      position INTEGER NOT NULL,
      rule_code TEXT NOT NULL,
      severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),
      field_path TEXT NOT NULL,
      message TEXT NOT NULL,
      overridden INTEGER NOT NULL CHECK (overridden IN (0, 1)),
      override_explanation TEXT NOT NULL,
      PRIMARY KEY (submission_row_id, position)
    ) WITHOUT ROWID;

    -- The last accession sequence number given out per report year (dense, never reused).
    CREATE TABLE accession_counters (
      report_year INTEGER PRIMARY KEY NOT NULL,
      last_sequence INTEGER NOT NULL
    );

    CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at INTEGER NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      subject TEXT NOT NULL,
      detail TEXT NOT NULL DEFAULT ''
    );

    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

    CREATE TRIGGER submissions_no_update BEFORE UPDATE ON submissions
    BEGIN SELECT RAISE(ABORT, 'submissions are never edited'); END;
    CREATE TRIGGER submissions_no_delete BEFORE DELETE ON submissions
    BEGIN SELECT RAISE(ABORT, 'submissions are never deleted'); END;
    CREATE TRIGGER submission_bytes_no_update BEFORE UPDATE ON submission_bytes
    BEGIN SELECT RAISE(ABORT, 'submission bytes are never edited'); END;
    CREATE TRIGGER submission_bytes_no_delete BEFORE DELETE ON submission_bytes
    BEGIN SELECT RAISE(ABORT, 'submission bytes are never deleted'); END;
    CREATE TRIGGER report_revisions_no_update BEFORE UPDATE ON report_revisions
    BEGIN SELECT RAISE(ABORT, 'report revisions are never edited'); END;
    CREATE TRIGGER report_revisions_no_delete BEFORE DELETE ON report_revisions
    BEGIN SELECT RAISE(ABORT, 'report revisions are never deleted'); END;
    CREATE TRIGGER findings_no_update BEFORE UPDATE ON findings
    BEGIN SELECT RAISE(ABORT, 'findings are never edited'); END;
    CREATE TRIGGER findings_no_delete BEFORE DELETE ON findings
    BEGIN SELECT RAISE(ABORT, 'findings are never deleted'); END;
    """

  /// The aggregator's view of the yearly rounds: whether a report year is open, closed (and
  /// whether late reports are then accepted), as set by the coordinator or an operator.
  static let v2Rounds = """
    CREATE TABLE rounds (
      report_year INTEGER PRIMARY KEY CHECK (report_year BETWEEN 2000 AND 2999),
      state TEXT NOT NULL CHECK (state IN ('planned', 'open', 'closed', 'assessed', 'published')),
      late_policy TEXT NOT NULL CHECK (late_policy IN ('accept_mark_late', 'refuse')),
      opens_at INTEGER,
      deadline INTEGER,
      updated_at INTEGER NOT NULL
    );
    """

  /// The coordinator's link (RoundRelay): the keys of central principals (the coordinator,
  /// operators), the steps the coordinator applied (idempotency by step id), the notices issued
  /// to reporters (served by RoundNotices.Subscribe), and the full round as the coordinator sent
  /// it (serialized `ndrc.hitech.v1.Round`).
  static let v3RoundRelay = """
    CREATE TABLE principal_keys (
      public_key_z85 TEXT PRIMARY KEY NOT NULL CHECK (length(public_key_z85) = 40),
      role TEXT NOT NULL CHECK (role IN ('coordinator', 'operator')),
      name TEXT NOT NULL CHECK (name <> '' AND name NOT LIKE '%:%'),
      comment TEXT NOT NULL DEFAULT '',
      registered_at INTEGER NOT NULL,
      retired_at INTEGER
    );

    ALTER TABLE rounds ADD COLUMN detail BLOB;

    CREATE TABLE round_steps (
      step_id TEXT PRIMARY KEY NOT NULL CHECK (step_id <> ''),
      report_year INTEGER NOT NULL,
      state TEXT NOT NULL,
      applied_at INTEGER NOT NULL,
      actor TEXT NOT NULL,
      addressed TEXT NOT NULL DEFAULT '[]',
      first_sequence INTEGER NOT NULL DEFAULT 0,
      last_sequence INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE round_notices (
      sequence INTEGER PRIMARY KEY AUTOINCREMENT,
      reporter_code TEXT NOT NULL,
      report_year INTEGER NOT NULL,
      step_id TEXT NOT NULL REFERENCES round_steps(step_id) DEFERRABLE INITIALLY DEFERRED,
      issued_at INTEGER NOT NULL,
      notice BLOB NOT NULL
    );
    CREATE INDEX round_notices_by_reporter ON round_notices(reporter_code, sequence);

    CREATE TRIGGER round_steps_no_update BEFORE UPDATE ON round_steps
    BEGIN SELECT RAISE(ABORT, 'round steps are never edited'); END;
    CREATE TRIGGER round_steps_no_delete BEFORE DELETE ON round_steps
    BEGIN SELECT RAISE(ABORT, 'round steps are never deleted'); END;
    CREATE TRIGGER round_notices_no_update BEFORE UPDATE ON round_notices
    BEGIN SELECT RAISE(ABORT, 'round notices are never edited'); END;
    CREATE TRIGGER round_notices_no_delete BEFORE DELETE ON round_notices
    BEGIN SELECT RAISE(ABORT, 'round notices are never deleted'); END;
    """

  /// The arrival log: one sequence shared by stored submissions and applied round steps
  /// (ArrivalStatus.WatchArrivals), filled by triggers so that no writer can forget it. The
  /// submissions stored before keep their row id as their sequence; the steps applied before
  /// follow them in the order they were applied. A round step records the round's calendar
  /// (the coordinator's clock and its speed) when the coordinator sent it, and each submission's
  /// event its time on that calendar (`round_clock_at`), from the round's latest step with a
  /// calendar.
  static let v4ArrivalEvents = """
    ALTER TABLE round_steps ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    ALTER TABLE round_steps ADD COLUMN calendar_at INTEGER;
    ALTER TABLE round_steps ADD COLUMN calendar_speed REAL NOT NULL DEFAULT 1;

    CREATE TABLE arrival_events (
      sequence INTEGER PRIMARY KEY AUTOINCREMENT,
      submission_row_id INTEGER UNIQUE REFERENCES submissions(id),
      step_id TEXT UNIQUE REFERENCES round_steps(step_id),
      round_clock_at INTEGER,
      CHECK ((submission_row_id IS NULL) <> (step_id IS NULL))
    );

    INSERT INTO arrival_events (sequence, submission_row_id) SELECT id, id FROM submissions ORDER BY id;
    INSERT INTO arrival_events (step_id, round_clock_at)
      SELECT step_id, calendar_at FROM round_steps ORDER BY applied_at, step_id;

    CREATE TRIGGER submissions_arrival_event AFTER INSERT ON submissions
    BEGIN
      INSERT INTO arrival_events (submission_row_id, round_clock_at) VALUES (
        NEW.id,
        (SELECT r.calendar_at + CAST((NEW.received_at - r.applied_at) * r.calendar_speed AS INTEGER)
         FROM round_steps r
         WHERE r.report_year = NEW.report_year AND r.calendar_at IS NOT NULL AND r.applied_at <= NEW.received_at
         ORDER BY r.applied_at DESC LIMIT 1));
    END;
    CREATE TRIGGER round_steps_arrival_event AFTER INSERT ON round_steps
    BEGIN
      INSERT INTO arrival_events (step_id, round_clock_at) VALUES (NEW.step_id, NEW.calendar_at);
    END;

    CREATE TRIGGER arrival_events_no_update BEFORE UPDATE ON arrival_events
    BEGIN SELECT RAISE(ABORT, 'arrival events are never edited'); END;
    CREATE TRIGGER arrival_events_no_delete BEFORE DELETE ON arrival_events
    BEGIN SELECT RAISE(ABORT, 'arrival events are never deleted'); END;
    """

  /// The submissions log (RECEIPTS.md): one leaf per stored revision with its attestation, the
  /// perfect subtrees of the Merkle tree (level 0 are the leaf hashes), the signed tree heads and
  /// the keys that signed them. Revisions stored before this migration are appended when the
  /// store opens, in row order.
  private static let v5SubmissionsLog = """
    CREATE TABLE log_entries (
      log_index INTEGER PRIMARY KEY NOT NULL CHECK (log_index >= 0),
      submission_id TEXT NOT NULL UNIQUE REFERENCES submissions(submission_id),
      leaf_hash BLOB NOT NULL UNIQUE CHECK (length(leaf_hash) = 32),
      attestation BLOB NOT NULL
    );
    CREATE TABLE log_subtrees (
      level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
      idx INTEGER NOT NULL CHECK (idx >= 0),
      hash BLOB NOT NULL CHECK (length(hash) = 32),
      PRIMARY KEY (level, idx)
    ) WITHOUT ROWID;
    CREATE TABLE log_tree_heads (
      id INTEGER PRIMARY KEY,
      tree_size INTEGER NOT NULL CHECK (tree_size >= 0),
      root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
      issued_at INTEGER NOT NULL,
      encoded BLOB NOT NULL,
      key_id TEXT NOT NULL,
      signature BLOB NOT NULL
    );
    CREATE INDEX log_tree_heads_by_size ON log_tree_heads(tree_size, id);
    CREATE TABLE log_signing_keys (
      key_id TEXT PRIMARY KEY NOT NULL,
      public_key BLOB NOT NULL CHECK (length(public_key) = 32),
      first_used_at INTEGER NOT NULL,
      retired_at INTEGER
    );

    CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
    BEGIN SELECT RAISE(ABORT, 'the submissions log is never edited'); END;
    CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries
    BEGIN SELECT RAISE(ABORT, 'the submissions log is never edited'); END;
    CREATE TRIGGER log_subtrees_no_update BEFORE UPDATE ON log_subtrees
    BEGIN SELECT RAISE(ABORT, 'the submissions log is never edited'); END;
    CREATE TRIGGER log_subtrees_no_delete BEFORE DELETE ON log_subtrees
    BEGIN SELECT RAISE(ABORT, 'the submissions log is never edited'); END;
    CREATE TRIGGER log_tree_heads_no_update BEFORE UPDATE ON log_tree_heads
    BEGIN SELECT RAISE(ABORT, 'signed tree heads are never edited'); END;
    CREATE TRIGGER log_tree_heads_no_delete BEFORE DELETE ON log_tree_heads
    BEGIN SELECT RAISE(ABORT, 'signed tree heads are never edited'); END;
    """

  /// The registry generation: one number that every write to the registry or the rounds raises,
  /// in its own transaction, so that a process keeping them in memory (``RegistryReadModel``)
  /// knows with one cheap read whether its copy is current, whichever process wrote. Triggers
  /// raise it, so every write is covered: the registry commands, the round steps, the daemon
  /// seeding its reporters, and anything written later that touches these tables. The row is
  /// made by the first such write (an empty table is generation 0), so a new store holds no row.
  private static let v7RegistryGeneration = """
    CREATE TABLE registry_generation (
      id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
      generation INTEGER NOT NULL
    );
    """ + ["reporters", "reporter_keys", "principal_keys", "bases", "base_fields", "rounds"].map { table in
      ["INSERT", "UPDATE", "DELETE"].map { event in
        """

        CREATE TRIGGER \(table)_\(event.lowercased())_raises_generation AFTER \(event) ON \(table)
        BEGIN
          INSERT INTO registry_generation (id, generation) VALUES (1, 1)
            ON CONFLICT (id) DO UPDATE SET generation = generation + 1;
        END;
        """
      }.joined()
    }.joined()
}
