import AggregatorStore
import Foundation
import Logging
import PostgresNIO

/// Receipts, reports, the submission context.
extension PostgresReportStore: IngestStore {
  public func receipt(submissionId: String) async throws -> StoredReceipt? {
    let logger = self.logger
    return try await read("reading the receipt of \(submissionId)") { db in
      guard
        let row = try await db.row(
          """
          SELECT \(unescaped: PostgresRows.receiptColumns) FROM \(unescaped: PostgresRows.receiptFrom)
          WHERE s.submission_id = \(submissionId)
          """, logger)
      else { return nil }
      return try await PostgresRows.receipt(db, row, logger)
    }
  }

  public func receipt(accessionNumber: String) async throws -> StoredReceipt? {
    let logger = self.logger
    return try await read("reading the receipt of \(accessionNumber)") { db in
      guard
        let row = try await db.row(
          """
          SELECT \(unescaped: PostgresRows.receiptColumns) FROM \(unescaped: PostgresRows.receiptFrom)
          WHERE s.accession_number = \(accessionNumber)
          """, logger)
      else { return nil }
      return try await PostgresRows.receipt(db, row, logger)
    }
  }

  public func submissions(
    reporterCode: String, reportYear: Int, baseId: String?, pageSize: Int, pageToken: String?
  ) async throws -> SubmissionPage {
    let limit = min(max(pageSize, 1), 1000)
    var before = Int64.max
    if let pageToken, !pageToken.isEmpty {
      guard let rowId = SubmissionPage.rowId(fromToken: pageToken) else {
        throw StoreError(code: .invalidArgument, message: "the page token \"\(pageToken)\" is not one this store made")
      }
      before = rowId
    }
    let beforeRowId = before
    let base = (baseId?.isEmpty ?? true) ? nil : baseId
    let logger = self.logger
    return try await read("listing the submissions of \(reporterCode) for \(reportYear)") { db in
      let rows = try await db.rows(
        """
        SELECT \(unescaped: PostgresRows.receiptColumns) FROM \(unescaped: PostgresRows.receiptFrom)
        WHERE s.reporter_code = \(reporterCode) AND s.report_year = \(reportYear) AND s.id < \(beforeRowId)
          AND (\(base)::text IS NULL OR s.base_id = \(base))
        ORDER BY s.id DESC LIMIT \(limit + 1)
        """, logger)
      let page = rows.prefix(limit)
      var receipts: [StoredReceipt] = []
      for row in page { receipts.append(try await PostgresRows.receipt(db, row, logger)) }
      let next = rows.count > limit ? try page.last.map { SubmissionPage.token(before: try $0.get("row_id")) } : nil
      return SubmissionPage(receipts: receipts, nextPageToken: next)
    }
  }

  public func submissionContext(baseId: String, reportYear: Int) async throws -> SubmissionContext {
    let logger = self.logger
    return try await read("reading the context of \(baseId) for \(reportYear)") { db in
      var base: BaseRecord?
      if let row = try await db.row("SELECT * FROM bases WHERE base_id = \(baseId)", logger) {
        base = try await PostgresRows.base(db, row, logger)
      }
      return SubmissionContext(
        base: base,
        round: try await db.row("SELECT * FROM rounds WHERE report_year = \(reportYear)", logger).map(PostgresRows.round),
        previousYearReport: try await PostgresRows.reports(
          db, baseId: baseId, reportYear: reportYear - 1, latestOnly: true, logger
        ).first)
    }
  }

  public func latestReport(baseId: String, reportYear: Int) async throws -> StoredReport? {
    let logger = self.logger
    return try await read("reading the latest report of \(baseId) for \(reportYear)") { db in
      try await PostgresRows.reports(db, baseId: baseId, reportYear: reportYear, latestOnly: true, logger).first
    }
  }

  public func latestReports(
    baseId: String, reportYear: Int
  ) async throws -> (current: StoredReport?, previousYear: StoredReport?) {
    let logger = self.logger
    let pair = try await read("reading the latest reports of \(baseId) for \(reportYear) and \(reportYear - 1)") { db in
      [
        try await PostgresRows.reports(db, baseId: baseId, reportYear: reportYear, latestOnly: true, logger).first,
        try await PostgresRows.reports(db, baseId: baseId, reportYear: reportYear - 1, latestOnly: true, logger).first,
      ]
    }
    return (pair[0], pair[1])
  }

  public func revisions(baseId: String, reportYear: Int) async throws -> [StoredReport] {
    let logger = self.logger
    return try await read("reading the revisions of \(baseId) for \(reportYear)") { db in
      try await PostgresRows.reports(db, baseId: baseId, reportYear: reportYear, latestOnly: false, logger)
    }
  }
}

/// Arrival monitoring.
extension PostgresReportStore: ArrivalQueries {
  public func arrivalStatus(reportYear: Int, reporterCode: String?) async throws -> ArrivalStatus {
    let logger = self.logger
    return try await read("reading the arrival status of \(reportYear)") { db in
      try await Self.arrival(db, reportYear: reportYear, reporterCode: reporterCode, logger)
    }
  }

  static func arrival(
    _ db: PostgresConnection, reportYear: Int, reporterCode: String?, _ logger: Logger
  ) async throws -> ArrivalStatus {
    var perReporter: [String: (last: Int64?, rejected: Int)] = [:]
    for row in try await db.rows(
      """
      SELECT reporter_code, MAX(received_at) AS last_at, COUNT(*) FILTER (WHERE status = 'rejected') AS rejected
      FROM submissions WHERE report_year = \(reportYear) GROUP BY reporter_code
      """, logger)
    {
      perReporter[try row.get("reporter_code")] = (try row.get("last_at"), try row.get("rejected"))
    }
    let reporters = try await db.rows(
      """
      SELECT code, name_zh FROM reporters
      WHERE active AND (\(reporterCode)::text IS NULL OR code = \(reporterCode)) ORDER BY code
      """, logger
    ).map { row in
      let code: String = try row.get("code")
      return ArrivalFacts.Reporter(
        code: code, nameZh: try row.get("name_zh"), lastSubmissionAtMicros: perReporter[code]?.last,
        rejectedSubmissions: perReporter[code]?.rejected ?? 0)
    }

    // One row per expected base, with what its own reporter sent for the year; the latest
    // revision, its warnings, and whether revision 1 was late.
    var bases: [ArrivalFacts.Base] = []
    for row in try await db.rows(
      """
      SELECT b.base_id, b.name_zh, b.reporter_code,
        COALESCE(c.accepted, 0) AS accepted, COALESCE(c.rejected, 0) AS rejected, c.last_at, c.last_rejected,
        cur.revision AS current_revision, cur.accession_number AS current_accession,
        COALESCE(cur.warnings, 0) AS warnings, COALESCE(first.late, false) AS first_late
      FROM bases b
      LEFT JOIN LATERAL (
        SELECT COUNT(*) FILTER (WHERE s.accession_number IS NOT NULL) AS accepted,
          COUNT(*) FILTER (WHERE s.status = 'rejected') AS rejected,
          MAX(s.received_at) AS last_at, MAX(s.id) FILTER (WHERE s.status = 'rejected') AS last_rejected
        FROM submissions s
        WHERE s.base_id = b.base_id AND s.reporter_code = b.reporter_code AND s.report_year = \(reportYear)
      ) c ON true
      LEFT JOIN LATERAL (
        SELECT r.revision, s.accession_number,
          (SELECT COUNT(*) FROM findings f
           WHERE f.submission_row_id = s.id AND f.severity = 'warning' AND NOT f.overridden) AS warnings
        FROM report_revisions r JOIN submissions s ON s.id = r.submission_row_id
        WHERE r.base_id = b.base_id AND r.report_year = \(reportYear)
        ORDER BY r.revision DESC LIMIT 1
      ) cur ON true
      LEFT JOIN LATERAL (
        SELECT s.late FROM report_revisions r JOIN submissions s ON s.id = r.submission_row_id
        WHERE r.base_id = b.base_id AND r.report_year = \(reportYear) AND r.revision = 1
      ) first ON true
      WHERE b.status = 'active' AND b.first_report_year <= \(reportYear)
        AND (\(reporterCode)::text IS NULL OR b.reporter_code = \(reporterCode))
      ORDER BY b.reporter_code, b.base_id
      """, logger)
    {
      let revision = try row.get("current_revision", as: Int?.self)
      let accession = try row.get("current_accession", as: String?.self)
      var base = ArrivalFacts.Base(
        baseId: try row.get("base_id"),
        nameZh: try row.get("name_zh"),
        reporterCode: try row.get("reporter_code"),
        acceptedRevisions: try row.get("accepted"),
        rejectedSubmissions: try row.get("rejected"),
        lastSubmissionAtMicros: try row.get("last_at"),
        current: revision.map { (revision: $0, accessionNumber: accession ?? "") },
        firstRevisionLate: try row.get("first_late"),
        warnings: try row.get("warnings"),
        lastRejectionFindings: [])
      if base.showsRejection, let rowId = try row.get("last_rejected", as: Int64?.self) {
        base.lastRejectionFindings = try await PostgresRows.findings(db, submissionRowId: rowId, logger)
      }
      bases.append(base)
    }
    return ArrivalFacts(reporters: reporters, bases: bases).status(reportYear: reportYear)
  }

  public func rejectedSubmissions(reportYear: Int, reporterCode: String?, limit: Int) async throws -> [RejectedSubmissionRow] {
    let logger = self.logger
    return try await read("listing the rejected submissions of \(reportYear)") { db in
      var result: [RejectedSubmissionRow] = []
      for row in try await Self.roundSubmissions(
        db, where: "s.status = 'rejected'", reportYear: reportYear, reporterCode: reporterCode, limit: limit, logger)
      {
        result.append(
          RejectedSubmissionRow(
            submissionId: try row.get("submission_id"),
            reporterCode: try row.get("reporter_code"),
            baseId: try row.get("base_id"),
            baseNameZh: try row.get("name_zh"),
            receivedAtMicros: try row.get("received_at"),
            findings: try await PostgresRows.findings(db, submissionRowId: try row.get("id"), logger)))
      }
      return result
    }
  }

  public func lateSubmissions(reportYear: Int, reporterCode: String?, limit: Int) async throws -> [LateSubmissionRow] {
    let logger = self.logger
    return try await read("listing the late submissions of \(reportYear)") { db in
      try await Self.roundSubmissions(
        db, where: "s.late AND s.accession_number IS NOT NULL", reportYear: reportYear, reporterCode: reporterCode,
        limit: limit, logger
      ).map { row in
        LateSubmissionRow(
          submissionId: try row.get("submission_id"),
          accessionNumber: try row.get("accession_number"),
          reporterCode: try row.get("reporter_code"),
          baseId: try row.get("base_id"),
          baseNameZh: try row.get("name_zh"),
          revision: try row.get("revision"),
          receivedAtMicros: try row.get("received_at"))
      }
    }
  }

  /// Submissions of a report year matching `condition` (optionally of one reporter), newest
  /// first, at most `limit`, with the base's name (empty for a base not in the registry).
  private static func roundSubmissions(
    _ db: PostgresConnection, where condition: String, reportYear: Int, reporterCode: String?, limit: Int,
    _ logger: Logger
  ) async throws -> [PostgresRandomAccessRow] {
    try await db.rows(
      """
      SELECT s.id, s.submission_id, s.accession_number, s.reporter_code, s.base_id,
        COALESCE(b.name_zh, '') AS name_zh, s.revision, s.received_at
      FROM submissions s LEFT JOIN bases b ON b.base_id = s.base_id
      WHERE s.report_year = \(reportYear) AND \(unescaped: condition)
        AND (\(reporterCode)::text IS NULL OR s.reporter_code = \(reporterCode))
      ORDER BY s.id DESC LIMIT \(max(0, limit))
      """, logger)
  }

  public func firstAcceptances(reportYear: Int, reporterCode: String?) async throws -> [BaseFirstAcceptance] {
    let logger = self.logger
    return try await read("reading the first acceptances of \(reportYear)") { db in
      try await db.rows(
        """
        SELECT r.base_id, s.reporter_code, s.received_at, s.late, e.round_clock_at
        FROM report_revisions r
        JOIN submissions s ON s.id = r.submission_row_id
        LEFT JOIN arrival_events e ON e.submission_row_id = s.id
        JOIN bases b ON b.base_id = r.base_id AND b.reporter_code = s.reporter_code
        WHERE r.report_year = \(reportYear) AND r.revision = 1 AND b.status = 'active'
          AND b.first_report_year <= \(reportYear)
          AND (\(reporterCode)::text IS NULL OR s.reporter_code = \(reporterCode))
        ORDER BY s.received_at, r.base_id
        """, logger
      ).map { row in
        BaseFirstAcceptance(
          baseId: try row.get("base_id"), reporterCode: try row.get("reporter_code"),
          receivedAtMicros: try row.get("received_at"), roundClockMicros: try row.get("round_clock_at"), late: try row.get("late"))
      }
    }
  }

  public func activeReporterCount(sinceMicros: Int64) async throws -> Int {
    let logger = self.logger
    return try await read("counting the active reporters") { db in
      try await db.row(
        "SELECT COUNT(DISTINCT reporter_code) AS n FROM submissions WHERE received_at >= \(sinceMicros)", logger
      )?.get("n", as: Int.self) ?? 0
    }
  }
}

/// The audit log. Entry ids come from an identity sequence, taken when a row is inserted, so
/// transactions (of several aggregators, or of one aggregator's concurrent writers) may commit
/// out of id order. A reader paging with `afterId` would skip an entry committed after a higher
/// one it already read; so, as the arrival log does, only entries up to the settled end (every
/// transaction in flight at the snapshot has ended) are returned.
extension PostgresReportStore: AuditTrail {
  public func auditLog(afterId: Int64, limit: Int) async throws -> [AuditEntry] {
    let logger = self.logger
    let end = try await settledEnd(of: "audit_log", column: "id", what: "the audit log")
    guard end > afterId else { return [] }
    return try await read("reading the audit log") { db in
      try await db.rows(
        "SELECT * FROM audit_log WHERE id > \(afterId) AND id <= \(end) ORDER BY id LIMIT \(max(0, limit))", logger
      ).map(PostgresRows.audit)
    }
  }

  public func recentAuditEntries(limit: Int) async throws -> [AuditEntry] {
    let logger = self.logger
    return try await read("reading the recent audit log") { db in
      try await db.rows("SELECT * FROM audit_log ORDER BY id DESC LIMIT \(max(0, limit))", logger).map(PostgresRows.audit)
    }
  }
}
