import GRDB

extension AggregatorDatabase {
  /// The rejected submissions of a report year (optionally of one reporter), newest first, at
  /// most `limit`, each with its findings in order.
  public func rejectedSubmissions(
    reportYear: Int, reporterCode: String? = nil, limit: Int = 500
  ) async throws -> [RejectedSubmissionRow] {
    try await roundSubmissions(
      "listing the rejected submissions of \(reportYear)", where: "s.status = 'rejected'",
      reportYear: reportYear, reporterCode: reporterCode, limit: limit
    ) { db, row in
      RejectedSubmissionRow(
        submissionId: row["submission_id"],
        reporterCode: row["reporter_code"],
        baseId: row["base_id"],
        baseNameZh: row["name_zh"],
        receivedAtMicros: row["received_at"],
        findings: try Rows.findings(db, submissionRowId: row["id"]))
    }
  }

  /// The accepted submissions of a report year marked late (optionally of one reporter),
  /// newest first, at most `limit`.
  public func lateSubmissions(
    reportYear: Int, reporterCode: String? = nil, limit: Int = 500
  ) async throws -> [LateSubmissionRow] {
    try await roundSubmissions(
      "listing the late submissions of \(reportYear)", where: "s.late = 1 AND s.accession_number IS NOT NULL",
      reportYear: reportYear, reporterCode: reporterCode, limit: limit
    ) { _, row in
      LateSubmissionRow(
        submissionId: row["submission_id"],
        accessionNumber: row["accession_number"],
        reporterCode: row["reporter_code"],
        baseId: row["base_id"],
        baseNameZh: row["name_zh"],
        revision: row["revision"],
        receivedAtMicros: row["received_at"])
    }
  }

  /// Submissions of a report year matching `condition` (optionally of one reporter), newest
  /// first, at most `limit`, with the base's name (empty for a base not in the registry).
  private func roundSubmissions<T: Sendable>(
    _ what: String, where condition: String, reportYear: Int, reporterCode: String?, limit: Int,
    _ make: @escaping @Sendable (Database, Row) throws -> T
  ) async throws -> [T] {
    try await read(what) { db in
      var sql = """
        SELECT s.id, s.submission_id, s.accession_number, s.reporter_code, s.base_id,
          COALESCE(b.name_zh, '') AS name_zh, s.revision, s.received_at
        FROM submissions s LEFT JOIN bases b ON b.base_id = s.base_id
        WHERE s.report_year = ? AND \(condition)
        """
      var arguments: StatementArguments = [reportYear]
      if let reporterCode {
        sql += " AND s.reporter_code = ?"
        arguments += [reporterCode]
      }
      sql += " ORDER BY s.id DESC LIMIT ?"
      arguments += [max(0, limit)]
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map { try make(db, $0) }
    }
  }

  /// The newest `limit` audit entries, newest first.
  public func recentAuditEntries(limit: Int = 50) async throws -> [AuditEntry] {
    try await read("reading the recent audit log") { db in
      try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", arguments: [max(0, limit)])
        .map(Rows.audit)
    }
  }

  /// For each base expected in a report year (as ``arrivalStatus(reportYear:reporterCode:)``
  /// counts them) that has an accepted revision, when its first accepted revision arrived;
  /// oldest first.
  public func firstAcceptances(reportYear: Int, reporterCode: String? = nil) async throws -> [BaseFirstAcceptance] {
    try await read("reading the first acceptances of \(reportYear)") { db in
      var sql = """
        SELECT r.base_id, s.reporter_code, s.received_at, s.late, e.round_clock_at
        FROM report_revisions r
        JOIN submissions s ON s.id = r.submission_row_id
        LEFT JOIN arrival_events e ON e.submission_row_id = s.id
        JOIN bases b ON b.base_id = r.base_id AND b.reporter_code = s.reporter_code
        WHERE r.report_year = ? AND r.revision = 1 AND b.status = 'active' AND b.first_report_year <= ?
        """
      var arguments: StatementArguments = [reportYear, reportYear]
      if let reporterCode {
        sql += " AND s.reporter_code = ?"
        arguments += [reporterCode]
      }
      sql += " ORDER BY s.received_at, r.base_id"
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
        BaseFirstAcceptance(
          baseId: row["base_id"], reporterCode: row["reporter_code"], receivedAtMicros: row["received_at"],
          roundClockMicros: row["round_clock_at"], late: row["late"])
      }
    }
  }

  /// How many distinct reporters sent a submission (any outcome, any year) received at or
  /// after `sinceMicros`.
  public func activeReporterCount(sinceMicros: Int64) async throws -> Int {
    try await read("counting the active reporters") { db in
      try Int.fetchOne(
        db, sql: "SELECT COUNT(DISTINCT reporter_code) FROM submissions WHERE received_at >= ?",
        arguments: [sinceMicros]) ?? 0
    }
  }
}

