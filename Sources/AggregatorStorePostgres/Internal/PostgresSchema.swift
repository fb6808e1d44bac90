import AggregatorStore
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL store's schema, as a timeline of named migrations recorded in
/// `hitech_schema_migrations`.
///
/// A migration that has shipped is NEVER edited, renamed, reordered or removed: databases in
/// the field record the names of the migrations they ran and will not run an edited one again.
/// To change the schema, append a new migration. Migrations speak SQL only.
///
/// The tables and constraints are those of the SQLite store, in PostgreSQL's types (times are
/// BIGINT microseconds since 1970-01-01T00:00:00Z UTC, flags BOOLEAN, bytes BYTEA). Differences
/// that several aggregators sharing one database need:
/// - accession numbers come from one sequence (`accession_sequence`): unique and never reused,
///   with gaps (a rolled-back batch, a lost race), rather than a dense counter per year that
///   every aggregator would queue on;
/// - submission and notice row ids are identity columns (also sequences);
/// - append-only tables refuse UPDATE, DELETE and TRUNCATE through triggers.
enum PostgresSchema {
  static let migrations: [(name: String, sql: String)] = [
    ("v1", v1),
    ("v2-arrival-events", v2ArrivalEvents),
    ("v3-submissions-log", v3SubmissionsLog),
    ("v4-applications", v4Applications),
    ("v5-registry-generation", v5RegistryGeneration),
  ]

  /// Serialises migrations of several aggregators starting at once (a transaction-level
  /// advisory lock, released at commit).
  static let migrationLockKey: Int64 = 0x6869_7465_6368_0001

  /// Brings the schema up to date in one transaction, refusing a database a newer version of
  /// this software migrated.
  static func migrate(_ connection: PostgresConnection, location: String, logger: Logger) async throws {
    try await connection.query("BEGIN", logger: logger)
    do {
      try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLockKey))", logger: logger)
      // An aggregator logging in as a role without CREATE (deploy/postgres/grants.sql) runs no
      // DDL on a database that is up to date.
      let exists = try await connection.query(
        "SELECT to_regclass('hitech_schema_migrations') IS NOT NULL", logger: logger
      ).collect().first?.decode(Bool.self) ?? false
      if !exists {
        do {
          try await connection.query(
            """
            CREATE TABLE hitech_schema_migrations (
              name TEXT PRIMARY KEY,
              applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """, logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42501" {
          throw mayNotMigrate(location, migration: migrations[0].name, error)
        }
      }
      var applied: Set<String> = []
      for try await name in try await connection.query("SELECT name FROM hitech_schema_migrations", logger: logger)
        .decode(String.self)
      {
        applied.insert(name)
      }
      let known = Set(migrations.map(\.name))
      if let unknown = applied.subtracting(known).sorted().first {
        throw StoreError(
          code: .schemaTooNew,
          message: "the database \(location) was migrated by a newer version of this software (migration \(unknown)); run that version")
      }
      for migration in migrations where !applied.contains(migration.name) {
        for statement in statements(migration.sql) {
          do {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
          } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42501" {
            throw mayNotMigrate(location, migration: migration.name, error)
          }
        }
        try await connection.query(
          "INSERT INTO hitech_schema_migrations (name) VALUES (\(migration.name))", logger: logger)
        logger.info("store migrated", metadata: ["store.location": "\(location)", "store.migration": "\(migration.name)"])
      }
      try await connection.query("COMMIT", logger: logger)
    } catch {
      _ = try? await connection.query("ROLLBACK", logger: logger)
      throw error
    }
  }

  /// The error of a role that may not change the schema (the aggregator's, deploy/postgres/).
  static func mayNotMigrate(_ location: String, migration: String, _ error: any Error) -> StoreError {
    StoreError(
      code: .failedPrecondition,
      message: "the database \(location) needs migration \(migration), and this role may not change the "
        + "schema; run `hitech store migrate` as the role that owns it (deploy/postgres/), then grants.sql",
      cause: error)
  }

  /// The statements of a migration, one by one (the extended query protocol takes one at a
  /// time): split at a `;` ending a line, except inside a `$$` body.
  static func statements(_ sql: String) -> [String] {
    var result: [String] = []
    var current: [Substring] = []
    var inBody = false
    for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
      current.append(line)
      if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
      if !inBody, line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
        let statement = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        if !statement.isEmpty { result.append(statement) }
        current = []
      }
    }
    let rest = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    if !rest.isEmpty { result.append(rest) }
    return result
  }

  private static let v1 = """
    CREATE TABLE reporters (
      code TEXT PRIMARY KEY CHECK (code <> ''),
      name_zh TEXT NOT NULL,
      name_en TEXT NOT NULL,
      kind TEXT NOT NULL,
      parent_code TEXT,
      active BOOLEAN NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    );

    CREATE TABLE reporter_keys (
      public_key_z85 TEXT PRIMARY KEY CHECK (length(public_key_z85) = 40),
      reporter_code TEXT NOT NULL REFERENCES reporters(code),
      comment TEXT NOT NULL DEFAULT '',
      registered_at BIGINT NOT NULL,
      retired_at BIGINT
    );
    CREATE INDEX reporter_keys_by_reporter ON reporter_keys(reporter_code);

    CREATE TABLE principal_keys (
      public_key_z85 TEXT PRIMARY KEY CHECK (length(public_key_z85) = 40),
      role TEXT NOT NULL CHECK (role IN ('coordinator', 'operator')),
      name TEXT NOT NULL CHECK (name <> '' AND name NOT LIKE '%:%'),
      comment TEXT NOT NULL DEFAULT '',
      registered_at BIGINT NOT NULL,
      retired_at BIGINT
    );

    CREATE TABLE bases (
      base_id TEXT PRIMARY KEY CHECK (base_id <> ''),
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
      retired_at BIGINT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    );
    CREATE INDEX bases_by_reporter ON bases(reporter_code);

    CREATE TABLE base_fields (
      base_id TEXT NOT NULL REFERENCES bases(base_id) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      field TEXT NOT NULL,
      PRIMARY KEY (base_id, position),
      UNIQUE (base_id, field)
    );

    -- One row per submission the store recorded: accepted, duplicate or rejected. The unique
    -- submission id is what makes a submission sent to two aggregators at once stored once.
    CREATE TABLE submissions (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      submission_id TEXT NOT NULL,
      accession_number TEXT,
      reporter_code TEXT NOT NULL,
      base_id TEXT NOT NULL,
      report_year INTEGER NOT NULL,
      revision INTEGER NOT NULL,
      replaces_revision INTEGER NOT NULL,
      content_sha256 BYTEA NOT NULL CHECK (octet_length(content_sha256) = 32),
      status TEXT NOT NULL CHECK (status IN
        ('accepted', 'accepted_with_warnings', 'accepted_late', 'duplicate', 'rejected')),
      late BOOLEAN NOT NULL,
      received_at BIGINT NOT NULL,
      explanations TEXT NOT NULL DEFAULT '[]',
      duplicate_of BIGINT REFERENCES submissions(id),
      CONSTRAINT submissions_submission_id_unique UNIQUE (submission_id),
      CONSTRAINT submissions_accession_unique UNIQUE (accession_number),
      CHECK ((accession_number IS NOT NULL) = (status IN ('accepted', 'accepted_with_warnings', 'accepted_late'))),
      CHECK ((duplicate_of IS NOT NULL) = (status = 'duplicate'))
    );
    CREATE INDEX submissions_by_reporter_year ON submissions(reporter_code, report_year, id);
    CREATE INDEX submissions_by_base_year ON submissions(base_id, report_year, id);
    CREATE INDEX submissions_by_received ON submissions(received_at);

    CREATE TABLE submission_bytes (
      submission_row_id BIGINT PRIMARY KEY REFERENCES submissions(id),
      bytes BYTEA NOT NULL
    );

    -- Every stored revision of every (base, year) report; its key is what refuses a second
    -- "revision N" of the same report, whichever aggregator decided it.
    CREATE TABLE report_revisions (
      base_id TEXT NOT NULL,
      report_year INTEGER NOT NULL,
      revision INTEGER NOT NULL CHECK (revision >= 1),
      submission_row_id BIGINT NOT NULL UNIQUE REFERENCES submissions(id),
      CONSTRAINT report_revisions_key PRIMARY KEY (base_id, report_year, revision)
    );
    CREATE INDEX report_revisions_by_year ON report_revisions(report_year, base_id);

    CREATE TABLE findings (
      submission_row_id BIGINT NOT NULL REFERENCES submissions(id),
      position INTEGER NOT NULL,
      rule_code TEXT NOT NULL,
      severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),
      field_path TEXT NOT NULL,
      message TEXT NOT NULL,
      overridden BOOLEAN NOT NULL,
      override_explanation TEXT NOT NULL,
      PRIMARY KEY (submission_row_id, position)
    );

    -- Accession numbers: unique, never reused, gaps allowed.
    CREATE SEQUENCE accession_sequence AS BIGINT MINVALUE 1 MAXVALUE 99999999 NO CYCLE;

    CREATE TABLE audit_log (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      subject TEXT NOT NULL,
      detail TEXT NOT NULL DEFAULT ''
    );

    CREATE TABLE rounds (
      report_year INTEGER PRIMARY KEY CHECK (report_year BETWEEN 2000 AND 2999),
      state TEXT NOT NULL CHECK (state IN ('planned', 'open', 'closed', 'assessed', 'published')),
      late_policy TEXT NOT NULL CHECK (late_policy IN ('accept_mark_late', 'refuse')),
      opens_at BIGINT,
      deadline BIGINT,
      updated_at BIGINT NOT NULL,
      detail BYTEA
    );

    CREATE TABLE round_steps (
      step_id TEXT PRIMARY KEY CHECK (step_id <> ''),
      report_year INTEGER NOT NULL,
      state TEXT NOT NULL,
      applied_at BIGINT NOT NULL,
      actor TEXT NOT NULL,
      addressed TEXT NOT NULL DEFAULT '[]',
      first_sequence BIGINT NOT NULL DEFAULT 0,
      last_sequence BIGINT NOT NULL DEFAULT 0
    );

    CREATE TABLE round_notices (
      sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      reporter_code TEXT NOT NULL,
      report_year INTEGER NOT NULL,
      step_id TEXT NOT NULL REFERENCES round_steps(step_id) DEFERRABLE INITIALLY DEFERRED,
      issued_at BIGINT NOT NULL,
      notice BYTEA NOT NULL
    );
    CREATE INDEX round_notices_by_reporter ON round_notices(reporter_code, sequence);

    CREATE FUNCTION hitech_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: rows are never edited nor deleted', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
    END;
    $$;

    CREATE TRIGGER submissions_append_only BEFORE UPDATE OR DELETE ON submissions
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER submission_bytes_append_only BEFORE UPDATE OR DELETE ON submission_bytes
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER report_revisions_append_only BEFORE UPDATE OR DELETE ON report_revisions
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER findings_append_only BEFORE UPDATE OR DELETE ON findings
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER round_steps_append_only BEFORE UPDATE OR DELETE ON round_steps
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER round_notices_append_only BEFORE UPDATE OR DELETE ON round_notices
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();

    CREATE TRIGGER submissions_no_truncate BEFORE TRUNCATE ON submissions
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER submission_bytes_no_truncate BEFORE TRUNCATE ON submission_bytes
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER report_revisions_no_truncate BEFORE TRUNCATE ON report_revisions
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER findings_no_truncate BEFORE TRUNCATE ON findings
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER round_steps_no_truncate BEFORE TRUNCATE ON round_steps
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER round_notices_no_truncate BEFORE TRUNCATE ON round_notices
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    """

  /// The arrival log: one sequence shared by stored submissions and applied round steps, as in
  /// the SQLite store's v4-arrival-events (see there). Submissions get their events from one
  /// statement-level trigger per insert (a transition table), so a batch costs one more insert,
  /// not one per row. Sequences are taken when the rows are inserted: the reader waits for the
  /// transactions in flight, as for submissions (PostgresReportStore+ArrivalLog).
  private static let v2ArrivalEvents = """
    ALTER TABLE round_steps ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    ALTER TABLE round_steps ADD COLUMN calendar_at BIGINT;
    ALTER TABLE round_steps ADD COLUMN calendar_speed DOUBLE PRECISION NOT NULL DEFAULT 1;

    CREATE TABLE arrival_events (
      sequence BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
      submission_row_id BIGINT UNIQUE REFERENCES submissions(id),
      step_id TEXT UNIQUE REFERENCES round_steps(step_id),
      round_clock_at BIGINT,
      CHECK ((submission_row_id IS NULL) <> (step_id IS NULL))
    );

    INSERT INTO arrival_events (sequence, submission_row_id) SELECT id, id FROM submissions ORDER BY id;
    SELECT setval(pg_get_serial_sequence('arrival_events', 'sequence'),
      greatest((SELECT coalesce(max(id), 0) FROM submissions), 1), (SELECT count(*) > 0 FROM submissions));
    INSERT INTO arrival_events (step_id, round_clock_at)
      SELECT step_id, calendar_at FROM round_steps ORDER BY applied_at, step_id;

    CREATE FUNCTION hitech_submission_arrival_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO arrival_events (submission_row_id, round_clock_at)
      SELECT n.id,
        (SELECT r.calendar_at + ((n.received_at - r.applied_at) * r.calendar_speed)::bigint
         FROM round_steps r
         WHERE r.report_year = n.report_year AND r.calendar_at IS NOT NULL AND r.applied_at <= n.received_at
         ORDER BY r.applied_at DESC LIMIT 1)
      FROM inserted n ORDER BY n.id;
      RETURN NULL;
    END;
    $$;
    CREATE TRIGGER submissions_arrival_events AFTER INSERT ON submissions
      REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
      EXECUTE FUNCTION hitech_submission_arrival_events();

    CREATE FUNCTION hitech_round_step_arrival_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO arrival_events (step_id, round_clock_at) VALUES (NEW.step_id, NEW.calendar_at);
      RETURN NULL;
    END;
    $$;
    CREATE TRIGGER round_steps_arrival_event AFTER INSERT ON round_steps
      FOR EACH ROW EXECUTE FUNCTION hitech_round_step_arrival_event();

    CREATE TRIGGER arrival_events_append_only BEFORE UPDATE OR DELETE ON arrival_events
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER arrival_events_no_truncate BEFORE TRUNCATE ON arrival_events
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    """

  /// The SQLite store's v5-submissions-log (see there). The log's tail is appended under a
  /// transaction-level advisory lock (``PostgresLog/tailLockKey``), so the aggregators sharing
  /// the database append one after another, in commit order.
  private static let v3SubmissionsLog = """
    CREATE TABLE log_entries (
      log_index BIGINT PRIMARY KEY CHECK (log_index >= 0),
      submission_id TEXT NOT NULL UNIQUE REFERENCES submissions(submission_id),
      leaf_hash BYTEA NOT NULL UNIQUE CHECK (length(leaf_hash) = 32),
      attestation BYTEA NOT NULL
    );
    CREATE TABLE log_subtrees (
      level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
      idx BIGINT NOT NULL CHECK (idx >= 0),
      hash BYTEA NOT NULL CHECK (length(hash) = 32),
      PRIMARY KEY (level, idx)
    );
    CREATE TABLE log_tree_heads (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      tree_size BIGINT NOT NULL CHECK (tree_size >= 0),
      root_hash BYTEA NOT NULL CHECK (length(root_hash) = 32),
      issued_at BIGINT NOT NULL,
      encoded BYTEA NOT NULL,
      key_id TEXT NOT NULL,
      signature BYTEA NOT NULL
    );
    CREATE INDEX log_tree_heads_by_size ON log_tree_heads(tree_size, id);
    CREATE TABLE log_signing_keys (
      key_id TEXT PRIMARY KEY,
      public_key BYTEA NOT NULL CHECK (length(public_key) = 32),
      first_used_at BIGINT NOT NULL,
      retired_at BIGINT
    );

    CREATE TRIGGER log_entries_append_only BEFORE UPDATE OR DELETE ON log_entries
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER log_subtrees_append_only BEFORE UPDATE OR DELETE ON log_subtrees
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER log_subtrees_no_truncate BEFORE TRUNCATE ON log_subtrees
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER log_tree_heads_append_only BEFORE UPDATE OR DELETE ON log_tree_heads
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER log_tree_heads_no_truncate BEFORE TRUNCATE ON log_tree_heads
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    """

  /// The registry generation, as in the SQLite store: one number that every write to the
  /// registry or the rounds raises in its own transaction (statement triggers, so every writer
  /// is covered, whichever aggregator or command it is), read before an aggregator trusts its
  /// copy of them in memory. The row is made by the first such write (no row is generation 0).
  private static let v5RegistryGeneration = """
    CREATE TABLE registry_generation (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      generation BIGINT NOT NULL
    );

    CREATE FUNCTION hitech_raise_registry_generation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO registry_generation (id, generation) VALUES (1, 1)
        ON CONFLICT (id) DO UPDATE SET generation = registry_generation.generation + 1;
      RETURN NULL;
    END;
    $$;
    """ + ["reporters", "reporter_keys", "principal_keys", "bases", "base_fields", "rounds"].map { table in
      """

      CREATE TRIGGER \(table)_raises_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON \(table)
        FOR EACH STATEMENT EXECUTE FUNCTION hitech_raise_registry_generation();
      """
    }.joined()
}
