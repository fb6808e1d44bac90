import Foundation
import Logging
import PostgresNIO

/// The coordinator's tables on PostgreSQL, as a timeline of named migrations recorded in
/// `hitech_coordinator_migrations` — its own bookkeeping, apart from the aggregator's
/// `hitech_schema_migrations`, so that both may share one database and neither takes the
/// other's migrations for a newer version's.
///
/// A migration that has shipped is NEVER edited, renamed, reordered or removed: append a new
/// one. Migrations speak SQL only, one statement per entry. The tables are those of the SQLite
/// store (``CoordinatorSchema``) under a `coordinator_` prefix, in PostgreSQL's types (times
/// BIGINT microseconds since 1970-01-01T00:00:00Z, the round message BYTEA); append-only rows
/// are kept so by triggers.
enum PostgresCoordinatorSchema {
  static let migrations: [(name: String, statements: [String])] = [
    ("coordinator-v1", v1)
  ]

  /// Serialises the migrations of coordinators starting at once (a transaction-level lock).
  static let migrationLockKey: Int64 = 0x6869_7465_6368_0011

  static func migrate(_ db: PostgresConnection, location: String, logger: Logger) async throws {
    try await db.run("BEGIN", logger)
    do {
      try await db.run("SELECT pg_advisory_xact_lock(\(migrationLockKey))", logger)
      try await db.run(
        """
        CREATE TABLE IF NOT EXISTS hitech_coordinator_migrations (
          name TEXT PRIMARY KEY,
          applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """, logger)
      var applied: Set<String> = []
      for row in try await db.rows("SELECT name FROM hitech_coordinator_migrations", logger) {
        applied.insert(try row.decode(column: 0, as: String.self))
      }
      let known = Set(migrations.map(\.name))
      if let unknown = applied.subtracting(known).sorted().first {
        throw CoordinatorError(
          .storage,
          "the database \(location) was migrated by a newer version of the coordinator (migration \(unknown)); run that version")
      }
      for migration in migrations where !applied.contains(migration.name) {
        for statement in migration.statements {
          try await db.run(PostgresQuery(unsafeSQL: statement), logger)
        }
        try await db.run("INSERT INTO hitech_coordinator_migrations (name) VALUES (\(migration.name))", logger)
        logger.info("coordinator store migrated", metadata: ["store.location": "\(location)", "store.migration": "\(migration.name)"])
      }
      try await db.run("COMMIT", logger)
    } catch {
      _ = try? await db.run("ROLLBACK", logger)
      throw error
    }
  }

  private static let v1: [String] = [
    """
    CREATE TABLE coordinator_rounds (
      report_year BIGINT PRIMARY KEY,
      state TEXT NOT NULL CHECK (state IN ('planned', 'open', 'closed', 'assessed', 'published')),
      schedule TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE coordinator_steps (
      seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      step_id TEXT NOT NULL,
      report_year BIGINT NOT NULL REFERENCES coordinator_rounds(report_year),
      kind TEXT NOT NULL CHECK (kind IN ('opened', 'reminder', 'closed', 'assessed', 'published')),
      reminder_offset BIGINT,
      due_at BIGINT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'skipped')),
      recorded_at BIGINT NOT NULL,
      applied_at BIGINT,
      round BYTEA,
      detail TEXT NOT NULL DEFAULT '{}',
      CONSTRAINT coordinator_steps_step_id_unique UNIQUE (step_id)
    )
    """,
    "CREATE INDEX coordinator_steps_pending ON coordinator_steps (state, seq)",
    """
    CREATE TABLE coordinator_transitions (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      report_year BIGINT NOT NULL REFERENCES coordinator_rounds(report_year),
      from_state TEXT NOT NULL,
      to_state TEXT NOT NULL,
      at BIGINT NOT NULL,
      reason TEXT NOT NULL,
      actor TEXT NOT NULL,
      step_id TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE coordinator_expert_scores (
      report_year BIGINT NOT NULL,
      base_id TEXT NOT NULL,
      expert_id TEXT NOT NULL CHECK (expert_id <> ''),
      score_milli BIGINT NOT NULL CHECK (score_milli BETWEEN 0 AND 100000),
      comment TEXT NOT NULL DEFAULT '',
      recorded_at BIGINT NOT NULL,
      actor TEXT NOT NULL,
      PRIMARY KEY (report_year, base_id, expert_id)
    )
    """,
    """
    CREATE TABLE coordinator_assessments (
      report_year BIGINT PRIMARY KEY REFERENCES coordinator_rounds(report_year),
      results TEXT NOT NULL,
      assessed_at BIGINT NOT NULL,
      step_id TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE coordinator_audit_log (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      subject TEXT NOT NULL,
      detail TEXT NOT NULL DEFAULT ''
    )
    """,
    """
    CREATE FUNCTION coordinator_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'P0001';
    END
    $$
    """,
    """
    CREATE TRIGGER coordinator_audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON coordinator_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION coordinator_refuse('audit_log is append-only')
    """,
    """
    CREATE TRIGGER coordinator_transitions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON coordinator_transitions
    FOR EACH STATEMENT EXECUTE FUNCTION coordinator_refuse('transitions are never edited nor deleted')
    """,
    """
    CREATE TRIGGER coordinator_assessments_kept BEFORE UPDATE OR DELETE OR TRUNCATE ON coordinator_assessments
    FOR EACH STATEMENT EXECUTE FUNCTION coordinator_refuse('an assessment is never edited')
    """,
    """
    CREATE TRIGGER coordinator_steps_no_delete BEFORE DELETE OR TRUNCATE ON coordinator_steps
    FOR EACH STATEMENT EXECUTE FUNCTION coordinator_refuse('steps are never deleted')
    """,
    """
    CREATE TRIGGER coordinator_steps_settled BEFORE UPDATE ON coordinator_steps
    FOR EACH ROW WHEN (OLD.state <> 'pending') EXECUTE FUNCTION coordinator_refuse('an applied or skipped step is never changed')
    """,
  ]
}
