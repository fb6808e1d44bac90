extension PostgresSchema {
  /// Applications for recognition and upgrades (proto-schemas/APPLICATIONS.md), as in SQLite's
  /// `v6-applications`: calls, the expert pool, applications with their revisions, every
  /// submission id answered, state changes, experts' evaluations, decisions, and the bases' level
  /// history. Revisions, submissions, state changes, decisions and level history are append-only.
  static let v4Applications = """
    CREATE TABLE application_calls (
      call_year INTEGER PRIMARY KEY,
      state TEXT NOT NULL CHECK (state IN ('planned', 'open', 'closed', 'evaluating', 'evaluated')),
      opens_at BIGINT,
      closes_at BIGINT,
      evaluation_starts_at BIGINT,
      evaluation_ends_at BIGINT,
      updated_at BIGINT NOT NULL
    );

    CREATE TABLE experts (
      expert_id TEXT PRIMARY KEY CHECK (expert_id <> ''),
      name TEXT NOT NULL,
      domain TEXT NOT NULL,
      province_code TEXT NOT NULL,
      active BOOLEAN NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    );

    CREATE TABLE applications (
      application_id TEXT PRIMARY KEY,
      number BIGINT NOT NULL UNIQUE,
      reporter_code TEXT NOT NULL REFERENCES reporters(code),
      application_ref TEXT NOT NULL,
      call_year INTEGER NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('new_national_base', 'upgrade_to_national')),
      upgrades_base_id TEXT NOT NULL DEFAULT '',
      state TEXT NOT NULL CHECK (state IN ('submitted', 'under_evaluation', 'recognised', 'not_recognised', 'withdrawn')),
      latest_revision INTEGER NOT NULL,
      submitted_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      UNIQUE (reporter_code, application_ref)
    );
    CREATE INDEX applications_by_call ON applications(call_year, application_id);

    CREATE TABLE application_revisions (
      application_id TEXT NOT NULL REFERENCES applications(application_id),
      revision INTEGER NOT NULL CHECK (revision >= 1),
      submission_id TEXT NOT NULL UNIQUE,
      content_sha256 BYTEA NOT NULL CHECK (length(content_sha256) = 32),
      kind TEXT NOT NULL,
      upgrades_base_id TEXT NOT NULL,
      name_zh TEXT NOT NULL,
      name_en TEXT NOT NULL,
      base_kind TEXT NOT NULL,
      fields TEXT NOT NULL,
      city_code TEXT NOT NULL,
      city_name_zh TEXT NOT NULL,
      received_at BIGINT NOT NULL,
      bytes BYTEA NOT NULL,
      PRIMARY KEY (application_id, revision)
    );

    CREATE TABLE application_submissions (
      submission_id TEXT PRIMARY KEY,
      application_id TEXT NOT NULL REFERENCES applications(application_id),
      reporter_code TEXT NOT NULL,
      revision INTEGER NOT NULL,
      content_sha256 BYTEA NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate')),
      duplicate_of TEXT NOT NULL DEFAULT '',
      received_at BIGINT NOT NULL
    );

    CREATE TABLE application_history (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      application_id TEXT NOT NULL REFERENCES applications(application_id),
      from_state TEXT NOT NULL DEFAULT '',
      to_state TEXT NOT NULL,
      at BIGINT NOT NULL,
      actor TEXT NOT NULL,
      reason TEXT NOT NULL
    );
    CREATE INDEX application_history_by_application ON application_history(application_id, id);

    CREATE TABLE application_evaluations (
      application_id TEXT NOT NULL REFERENCES applications(application_id),
      expert_id TEXT NOT NULL REFERENCES experts(expert_id),
      scores TEXT NOT NULL,
      comments TEXT NOT NULL,
      recommends BOOLEAN NOT NULL,
      evaluated_at BIGINT NOT NULL,
      actor TEXT NOT NULL,
      PRIMARY KEY (application_id, expert_id)
    );

    CREATE TABLE application_decisions (
      application_id TEXT PRIMARY KEY REFERENCES applications(application_id),
      recognised BOOLEAN NOT NULL,
      document_number TEXT NOT NULL,
      document_date TEXT NOT NULL,
      issuer TEXT NOT NULL,
      base_id TEXT NOT NULL,
      first_report_year INTEGER NOT NULL,
      reason TEXT NOT NULL,
      score_milli BIGINT NOT NULL,
      recommended BOOLEAN NOT NULL,
      weighting_id TEXT NOT NULL,
      decided_by TEXT NOT NULL,
      decided_at BIGINT NOT NULL
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
      recorded_at BIGINT NOT NULL,
      PRIMARY KEY (base_id, position)
    );

    CREATE TRIGGER application_revisions_append_only BEFORE UPDATE OR DELETE ON application_revisions
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER application_submissions_append_only BEFORE UPDATE OR DELETE ON application_submissions
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER application_history_append_only BEFORE UPDATE OR DELETE ON application_history
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER application_decisions_append_only BEFORE UPDATE OR DELETE ON application_decisions
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER base_level_history_append_only BEFORE UPDATE OR DELETE ON base_level_history
      FOR EACH ROW EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER application_revisions_no_truncate BEFORE TRUNCATE ON application_revisions
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER application_submissions_no_truncate BEFORE TRUNCATE ON application_submissions
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER application_history_no_truncate BEFORE TRUNCATE ON application_history
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER application_decisions_no_truncate BEFORE TRUNCATE ON application_decisions
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    CREATE TRIGGER base_level_history_no_truncate BEFORE TRUNCATE ON base_level_history
      FOR EACH STATEMENT EXECUTE FUNCTION hitech_append_only();
    """

  /// Serialises the writes of applications of several aggregators (a transaction-level advisory
  /// lock): numbers, revisions and states are decided one transaction at a time.
  static let applicationsLockKey: Int64 = 0x6869_7465_6368_0020
}
