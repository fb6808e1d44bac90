import Foundation
import GRDB

/// Reading receipts, reports and arrival status. Reads run on the pool's reader connections,
/// concurrently with the writer, each in one snapshot.
extension AggregatorDatabase {
  /// The receipt stored for a submission id (accepted, duplicate or rejected), or nil.
  public func receipt(submissionId: String) async throws -> StoredReceipt? {
    try await read("reading the receipt of \(submissionId)") { db in
      guard
        let row = try Row.fetchOne(
          db, sql: "SELECT \(Rows.receiptColumns) FROM \(Rows.receiptFrom) WHERE s.submission_id = ?",
          arguments: [submissionId])
      else { return nil }
      return try Rows.receipt(db, row)
    }
  }

  /// The receipt of the accepted submission that got this accession number, or nil.
  public func receipt(accessionNumber: String) async throws -> StoredReceipt? {
    try await read("reading the receipt of \(accessionNumber)") { db in
      guard
        let row = try Row.fetchOne(
          db, sql: "SELECT \(Rows.receiptColumns) FROM \(Rows.receiptFrom) WHERE s.accession_number = ?",
          arguments: [accessionNumber])
      else { return nil }
      return try Rows.receipt(db, row)
    }
  }

  /// A reporter's receipts for a report year (optionally of one base), newest stored first.
  ///
  /// - Parameters:
  ///   - pageSize: receipts per page, capped to 1...1000.
  ///   - pageToken: nil or empty for the first page, else a previous page's `nextPageToken`.
  /// - Throws: ``StoreError`` `.invalidArgument` for a token this store did not make.
  public func submissions(
    reporterCode: String,
    reportYear: Int,
    baseId: String? = nil,
    pageSize: Int = 100,
    pageToken: String? = nil
  ) async throws -> SubmissionPage {
    let limit = min(max(pageSize, 1), 1000)
    var before = Int64.max
    if let pageToken, !pageToken.isEmpty {
      guard let rowId = Self.decodePageToken(pageToken) else {
        throw StoreError(code: .invalidArgument, message: "the page token \"\(pageToken)\" is not one this store made")
      }
      before = rowId
    }
    let beforeRowId = before
    return try await read("listing the submissions of \(reporterCode) for \(reportYear)") { db in
      var sql = "SELECT \(Rows.receiptColumns) FROM \(Rows.receiptFrom) WHERE s.reporter_code = ? AND s.report_year = ? AND s.id < ?"
      var arguments: StatementArguments = [reporterCode, reportYear, beforeRowId]
      if let baseId, !baseId.isEmpty {
        sql += " AND s.base_id = ?"
        arguments += [baseId]
      }
      sql += " ORDER BY s.id DESC LIMIT ?"
      arguments += [limit + 1]
      let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
      let page = rows.prefix(limit)
      let receipts = try page.map { try Rows.receipt(db, $0) }
      let next = rows.count > limit ? page.last.map { Self.encodePageToken($0["row_id"]) } : nil
      return SubmissionPage(receipts: receipts, nextPageToken: next)
    }
  }

  /// The latest stored revision of the (base, year) report with its original bytes, or nil.
  /// For last year's report (the validator compares with it), pass `reportYear - 1`.
  public func latestReport(baseId: String, reportYear: Int) async throws -> StoredReport? {
    try await read("reading the latest report of \(baseId) for \(reportYear)") { db in
      try Self.reports(db, baseId: baseId, reportYear: reportYear, latestOnly: true).first
    }
  }

  /// The latest revisions of (base, year) and of (base, year - 1), read in one snapshot.
  public func latestReports(
    baseId: String, reportYear: Int
  ) async throws -> (current: StoredReport?, previousYear: StoredReport?) {
    try await read("reading the latest reports of \(baseId) for \(reportYear) and \(reportYear - 1)") { db in
      (
        try Self.reports(db, baseId: baseId, reportYear: reportYear, latestOnly: true).first,
        try Self.reports(db, baseId: baseId, reportYear: reportYear - 1, latestOnly: true).first
      )
    }
  }

  /// Every stored revision of the (base, year) report, oldest first.
  public func revisions(baseId: String, reportYear: Int) async throws -> [StoredReport] {
    try await read("reading the revisions of \(baseId) for \(reportYear)") { db in
      try Self.reports(db, baseId: baseId, reportYear: reportYear, latestOnly: false)
    }
  }

  /// Arrival status of a report year: per reporter (all active reporters, or the one named) and
  /// per expected base (active, `firstReportYear <= reportYear`). Only submissions by a base's
  /// own reporter count for it.
  public func arrivalStatus(reportYear: Int, reporterCode: String? = nil) async throws -> ArrivalStatus {
    try await read("reading the arrival status of \(reportYear)") { db in
      try Self.arrival(db, reportYear: reportYear, reporterCode: reporterCode)
    }
  }

  // MARK: Internals

  static func reports(_ db: Database, baseId: String, reportYear: Int, latestOnly: Bool) throws -> [StoredReport] {
    let rows = try Row.fetchAll(
      db,
      sql: """
        SELECT r.revision, s.accession_number, s.submission_id, s.reporter_code, s.status, s.late,
          s.content_sha256, s.received_at, b.bytes
        FROM report_revisions r
        JOIN submissions s ON s.id = r.submission_row_id
        JOIN submission_bytes b ON b.submission_row_id = s.id
        WHERE r.base_id = ? AND r.report_year = ?
        ORDER BY r.revision \(latestOnly ? "DESC LIMIT 1" : "ASC")
        """,
      arguments: [baseId, reportYear])
    return rows.map { storedReport($0, baseId: baseId, reportYear: reportYear) }
  }

  static func arrival(_ db: Database, reportYear: Int, reporterCode: String?) throws -> ArrivalStatus {
    var reporterFilter = ""
    var reporterArguments: StatementArguments = []
    if let reporterCode {
      reporterFilter = " AND code = ?"
      reporterArguments = [reporterCode]
    }
    let reporters = try Row.fetchAll(
      db, sql: "SELECT code, name_zh FROM reporters WHERE active = 1\(reporterFilter) ORDER BY code",
      arguments: reporterArguments)

    let baseRows = try Row.fetchAll(
      db,
      sql: """
        SELECT base_id, name_zh, reporter_code FROM bases
        WHERE status = 'active' AND first_report_year <= ?\(reporterFilter.replacingOccurrences(of: "code", with: "reporter_code"))
        ORDER BY reporter_code, base_id
        """,
      arguments: [reportYear] + reporterArguments)

    // Per base, counting only submissions by the base's own reporter.
    struct Counts {
      var accepted = 0
      var rejected = 0
      var lastAt: Int64?
      var lastRejectedRowId: Int64?
    }
    var counts: [String: Counts] = [:]
    for row in try Row.fetchAll(
      db,
      sql: """
        SELECT s.base_id, SUM(s.accession_number IS NOT NULL) AS accepted, SUM(s.status = 'rejected') AS rejected,
          MAX(s.received_at) AS last_at, MAX(CASE WHEN s.status = 'rejected' THEN s.id END) AS last_rejected
        FROM submissions s JOIN bases b ON b.base_id = s.base_id AND b.reporter_code = s.reporter_code
        WHERE s.report_year = ?
        GROUP BY s.base_id
        """,
      arguments: [reportYear])
    {
      counts[row["base_id"]] = Counts(
        accepted: row["accepted"], rejected: row["rejected"], lastAt: row["last_at"], lastRejectedRowId: row["last_rejected"])
    }

    // The latest revision of each base (SQLite takes the bare columns from the MAX row).
    struct Current {
      var revision: Int
      var accession: String
      var rowId: Int64
    }
    var current: [String: Current] = [:]
    for row in try Row.fetchAll(
      db,
      sql: """
        SELECT r.base_id, MAX(r.revision) AS revision, s.accession_number, s.id
        FROM report_revisions r JOIN submissions s ON s.id = r.submission_row_id
        WHERE r.report_year = ?
        GROUP BY r.base_id
        """,
      arguments: [reportYear])
    {
      current[row["base_id"]] = Current(revision: row["revision"], accession: row["accession_number"], rowId: row["id"])
    }
    let firstLate = Dictionary(
      uniqueKeysWithValues: try Row.fetchAll(
        db,
        sql: """
          SELECT r.base_id, s.late FROM report_revisions r JOIN submissions s ON s.id = r.submission_row_id
          WHERE r.report_year = ? AND r.revision = 1
          """,
        arguments: [reportYear]
      ).map { ($0["base_id"] as String, $0["late"] as Bool) })

    var perReporter: [String: (last: Int64?, rejected: Int)] = [:]
    for row in try Row.fetchAll(
      db,
      sql: """
        SELECT reporter_code, MAX(received_at) AS last_at, SUM(status = 'rejected') AS rejected
        FROM submissions WHERE report_year = ? GROUP BY reporter_code
        """,
      arguments: [reportYear])
    {
      perReporter[row["reporter_code"]] = (row["last_at"], row["rejected"])
    }

    var bases: [ArrivalFacts.Base] = []
    for row in baseRows {
      let baseId: String = row["base_id"]
      let c = counts[baseId] ?? Counts()
      let cur = current[baseId]
      var base = ArrivalFacts.Base(
        baseId: baseId,
        nameZh: row["name_zh"],
        reporterCode: row["reporter_code"],
        acceptedRevisions: c.accepted,
        rejectedSubmissions: c.rejected,
        lastSubmissionAtMicros: c.lastAt,
        current: cur.map { (revision: $0.revision, accessionNumber: $0.accession) },
        firstRevisionLate: firstLate[baseId] ?? false,
        warnings: 0,
        lastRejectionFindings: [])
      if let cur {
        base.warnings = try Int.fetchOne(
          db,
          sql: "SELECT COUNT(*) FROM findings WHERE submission_row_id = ? AND severity = 'warning' AND overridden = 0",
          arguments: [cur.rowId]) ?? 0
      }
      if base.showsRejection, let rowId = c.lastRejectedRowId {
        base.lastRejectionFindings = try Rows.findings(db, submissionRowId: rowId)
      }
      bases.append(base)
    }

    let facts = ArrivalFacts(
      reporters: reporters.map { row in
        let code: String = row["code"]
        return ArrivalFacts.Reporter(
          code: code, nameZh: row["name_zh"], lastSubmissionAtMicros: perReporter[code]?.last,
          rejectedSubmissions: perReporter[code]?.rejected ?? 0)
      },
      bases: bases)
    return facts.status(reportYear: reportYear)
  }

  static func encodePageToken(_ rowId: Int64) -> String { SubmissionPage.token(before: rowId) }

  static func decodePageToken(_ token: String) -> Int64? { SubmissionPage.rowId(fromToken: token) }
}
