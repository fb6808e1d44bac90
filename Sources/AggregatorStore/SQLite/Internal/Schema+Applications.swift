extension Schema {
  /// Applications for recognition and upgrades (proto-schemas/APPLICATIONS.md): calls, the
  /// expert pool, applications with their revisions (original bytes and the proposed base's
  /// columns), every submission id answered, state changes, experts' evaluations (one per expert
  /// and application, replaced by a later one), decisions, and the bases' level history.
  /// Revisions, submissions, state changes, decisions and level history are never edited nor
  /// deleted.
  static let v6Applications = """
    CREATE TABLE application_calls (
      call_year INTEGER PRIMARY KEY NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('planned', 'open', 'closed', 'evaluating', 'evaluated')),
      opens_at INTEGER,
      closes_at INTEGER,
      evaluation_starts_at INTEGER,
      evaluation_ends_at INTEGER,
      updated_at INTEGER NOT NULL
    );

    CREATE TABLE experts (
      expert_id TEXT PRIMARY KEY NOT NULL CHECK (expert_id <> ''),
      name TEXT NOT NULL,
      domain TEXT NOT NULL,
      province_code TEXT NOT NULL,
      active INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );

    CREATE TABLE applications (
      application_id TEXT PRIMARY KEY NOT NULL,
      number INTEGER NOT NULL UNIQUE,
      reporter_code TEXT NOT NULL REFERENCES reporters(code),
      application_ref TEXT NOT NULL,
      call_year INTEGER NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('new_national_base', 'upgrade_to_national')),
      upgrades_base_id TEXT NOT NULL DEFAULT '',
      state TEXT NOT NULL CHECK (state IN ('submitted', 'under_evaluation', 'recognised', 'not_recognised', 'withdrawn')),
      latest_revision INTEGER NOT NULL,
      submitted_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      UNIQUE (reporter_code, application_ref)
    );
    CREATE INDEX applications_by_call ON applications(call_year, application_id);

    CREATE TABLE application_revisions (
      application_id TEXT NOT NULL REFERENCES applications(application_id),
      revision INTEGER NOT NULL CHECK (revision >= 1),
      submission_id TEXT NOT NULL UNIQUE,
      content_sha256 BLOB NOT NULL CHECK (length(content_sha256) = 32),
      kind TEXT NOT NULL,
      upgrades_base_id TEXT NOT NULL,
      name_zh TEXT NOT NULL,
      name_en TEXT NOT NULL,
      base_kind TEXT NOT NULL,
      fields TEXT NOT NULL,
      city_code TEXT NOT NULL,
      city_name_zh TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      bytes BLOB NOT NULL,
      PRIMARY KEY (application_id, revision)
    );

    CREATE TABLE application_submissions (
      submission_id TEXT PRIMARY KEY NOT NULL,
      application_id TEXT NOT NULL REFERENCES applications(application_id),
      reporter_code TEXT NOT NULL,
      revision INTEGER NOT NULL,
      content_sha256 BLOB NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate')),
      duplicate_of TEXT NOT NULL DEFAULT '',
      received_at INTEGER NOT NULL
    );

    CREATE TABLE application_history (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      application_id TEXT NOT NULL REFERENCES applications(application_id),
      from_state TEXT NOT NULL DEFAULT '',
      to_state TEXT NOT NULL,
      at INTEGER NOT NULL,
      actor TEXT NOT NULL,
      reason TEXT NOT NULL
    );
    CREATE INDEX application_history_by_application ON application_history(application_id, id);

    CREATE TABLE application_evaluations (
      application_id TEXT NOT NULL REFERENCES applications(application_id),
      expert_id TEXT NOT NULL REFERENCES experts(expert_id),
      scores TEXT NOT NULL,
      comments TEXT NOT NULL,
      recommends INTEGER NOT NULL,
      evaluated_at INTEGER NOT NULL,
      actor TEXT NOT NULL,
      PRIMARY KEY (application_id, expert_id)
    );

    CREATE TABLE application_decisions (
      application_id TEXT PRIMARY KEY NOT NULL REFERENCES applications(application_id),
      recognised INTEGER NOT NULL,
      document_number TEXT NOT NULL,
      document_date TEXT NOT NULL,
      issuer TEXT NOT NULL,
      base_id TEXT NOT NULL,
      first_report_year INTEGER NOT NULL,
      reason TEXT NOT NULL,
      score_milli INTEGER NOT NULL,
      recommended INTEGER NOT NULL,
      weighting_id TEXT NOT NULL,
      decided_by TEXT NOT NULL,
      decided_at INTEGER NOT NULL
    );

    CREATE TABLE base_level_history (
      base_id TEXT NOT NULL REFERENCES bases(base_id),
      position INTEGER NOT NULL CHECK (position >= 0),
      level TEXT NOT NULL,
      effective_date TEXT NOT NULL,
      document_number TEXT NOT NULL,
      issuer TEXT NOT NULL,
      reason TEXT NOT NULL,
      application_id TEXT NOT NULL DEFAULT '',
      recorded_at INTEGER NOT NULL,
      PRIMARY KEY (base_id, position)
    );

    CREATE TRIGGER application_revisions_no_update BEFORE UPDATE ON application_revisions
    BEGIN SELECT RAISE(ABORT, 'application revisions are never edited'); END;
    CREATE TRIGGER application_revisions_no_delete BEFORE DELETE ON application_revisions
    BEGIN SELECT RAISE(ABORT, 'application revisions are never deleted'); END;
    CREATE TRIGGER application_submissions_no_update BEFORE UPDATE ON application_submissions
    BEGIN SELECT RAISE(ABORT, 'application submissions are never edited'); END;
    CREATE TRIGGER application_submissions_no_delete BEFORE DELETE ON application_submissions
    BEGIN SELECT RAISE(ABORT, 'application submissions are never deleted'); END;
    CREATE TRIGGER application_history_no_update BEFORE UPDATE ON application_history
    BEGIN SELECT RAISE(ABORT, 'application history is never edited'); END;
    CREATE TRIGGER application_history_no_delete BEFORE DELETE ON application_history
    BEGIN SELECT RAISE(ABORT, 'application history is never deleted'); END;
    CREATE TRIGGER application_decisions_no_update BEFORE UPDATE ON application_decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are never edited'); END;
    CREATE TRIGGER application_decisions_no_delete BEFORE DELETE ON application_decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are never deleted'); END;
    CREATE TRIGGER base_level_history_no_update BEFORE UPDATE ON base_level_history
    BEGIN SELECT RAISE(ABORT, 'level history is never edited'); END;
    CREATE TRIGGER base_level_history_no_delete BEFORE DELETE ON base_level_history
    BEGIN SELECT RAISE(ABORT, 'level history is never deleted'); END;
    """
}
