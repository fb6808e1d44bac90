import GRDB

/// The coordinator store's schema, as a timeline of named migrations.
///
/// A migration that has shipped is NEVER edited, renamed, reordered or removed: append a new
/// one ("v2-…"). Migrations speak SQL only, so their meaning never drifts with the code.
///
/// Times are INTEGER microseconds since 1970-01-01T00:00:00Z. Rows of transitions and
/// audit_log are never updated nor deleted (triggers abort any attempt).
enum CoordinatorSchema {
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1-coordinator") { db in
      try db.execute(sql: v1)
    }
    return migrator
  }

  private static let v1 = """
    CREATE TABLE rounds (
      report_year INTEGER PRIMARY KEY NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('planned', 'open', 'closed', 'assessed', 'published')),
      schedule TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );

    CREATE TABLE steps (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      step_id TEXT NOT NULL UNIQUE,
      report_year INTEGER NOT NULL REFERENCES rounds(report_year),
      kind TEXT NOT NULL CHECK (kind IN ('opened', 'reminder', 'closed', 'assessed', 'published')),
      reminder_offset INTEGER,
      due_at INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'skipped')),
      recorded_at INTEGER NOT NULL,
      applied_at INTEGER,
      round BLOB,
      detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX steps_pending ON steps(state, seq);

    CREATE TABLE transitions (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      report_year INTEGER NOT NULL REFERENCES rounds(report_year),
      from_state TEXT NOT NULL,
      to_state TEXT NOT NULL,
      at INTEGER NOT NULL,
      reason TEXT NOT NULL,
      actor TEXT NOT NULL,
      step_id TEXT NOT NULL
    );

    CREATE TABLE expert_scores (
      report_year INTEGER NOT NULL,
      base_id TEXT NOT NULL,
      expert_id TEXT NOT NULL CHECK (expert_id <> ''),
      score_milli INTEGER NOT NULL CHECK (score_milli BETWEEN 0 AND 100000),
      comment TEXT NOT NULL DEFAULT '',
      recorded_at INTEGER NOT NULL,
      actor TEXT NOT NULL,
      PRIMARY KEY (report_year, base_id, expert_id)
    );

    CREATE TABLE assessments (
      report_year INTEGER PRIMARY KEY NOT NULL REFERENCES rounds(report_year),
      results TEXT NOT NULL,
      assessed_at INTEGER NOT NULL,
      step_id TEXT NOT NULL
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
    CREATE TRIGGER transitions_no_update BEFORE UPDATE ON transitions
    BEGIN SELECT RAISE(ABORT, 'transitions are never edited'); END;
    CREATE TRIGGER transitions_no_delete BEFORE DELETE ON transitions
    BEGIN SELECT RAISE(ABORT, 'transitions are never deleted'); END;
    CREATE TRIGGER assessments_no_update BEFORE UPDATE ON assessments
    BEGIN SELECT RAISE(ABORT, 'an assessment is never edited'); END;
    CREATE TRIGGER steps_no_delete BEFORE DELETE ON steps
    BEGIN SELECT RAISE(ABORT, 'steps are never deleted'); END;
    CREATE TRIGGER steps_settled BEFORE UPDATE ON steps WHEN OLD.state <> 'pending'
    BEGIN SELECT RAISE(ABORT, 'an applied or skipped step is never changed'); END;
    """
}
