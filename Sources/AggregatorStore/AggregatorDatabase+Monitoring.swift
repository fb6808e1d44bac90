import Metrics
import GRDB

// MARK: - Read-only queries for arrival monitoring (the dashboard, its JSON API, `hitech status`)

/// A rejected submission of a round, with the findings that refused it.
public struct RejectedSubmissionRow: Sendable, Hashable {
  public var submissionId: String
  public var reporterCode: String
  public var baseId: String
  /// The base's Chinese name; empty when the submission named a base not in the registry.
  public var baseNameZh: String
  public var receivedAtMicros: Int64
  public var findings: [StoredFinding]

  public init(
    submissionId: String, reporterCode: String, baseId: String, baseNameZh: String, receivedAtMicros: Int64,
    findings: [StoredFinding]
  ) {
    self.submissionId = submissionId
    self.reporterCode = reporterCode
    self.baseId = baseId
    self.baseNameZh = baseNameZh
    self.receivedAtMicros = receivedAtMicros
    self.findings = findings
  }
}

/// An accepted submission of a round that arrived after the deadline (`late`).
public struct LateSubmissionRow: Sendable, Hashable {
  public var submissionId: String
  public var accessionNumber: String
  public var reporterCode: String
  public var baseId: String
  public var baseNameZh: String
  public var revision: Int
  public var receivedAtMicros: Int64

  public init(
    submissionId: String, accessionNumber: String, reporterCode: String, baseId: String, baseNameZh: String,
    revision: Int, receivedAtMicros: Int64
  ) {
    self.submissionId = submissionId
    self.accessionNumber = accessionNumber
    self.reporterCode = reporterCode
    self.baseId = baseId
    self.baseNameZh = baseNameZh
    self.revision = revision
    self.receivedAtMicros = receivedAtMicros
  }
}

/// When an expected base's first accepted revision of a round arrived (the arrivals chart).
public struct BaseFirstAcceptance: Sendable, Hashable {
  public var baseId: String
  public var reporterCode: String
  public var receivedAtMicros: Int64
  public var late: Bool

  public init(baseId: String, reporterCode: String, receivedAtMicros: Int64, late: Bool) {
    self.baseId = baseId
    self.reporterCode = reporterCode
    self.receivedAtMicros = receivedAtMicros
    self.late = late
  }
}

extension AggregatorDatabase {
  /// The rejected submissions of a report year (optionally of one reporter), newest first, at
  /// most `limit`, each with its findings in order.
  public func rejectedSubmissions(
    reportYear: Int, reporterCode: String? = nil, limit: Int = 500
  ) async throws -> [RejectedSubmissionRow] {
    try await read("listing the rejected submissions of \(reportYear)") { db in
      var sql = """
        SELECT s.id, s.submission_id, s.reporter_code, s.base_id, COALESCE(b.name_zh, '') AS name_zh, s.received_at
        FROM submissions s LEFT JOIN bases b ON b.base_id = s.base_id
        WHERE s.report_year = ? AND s.status = 'rejected'
        """
      var arguments: StatementArguments = [reportYear]
      if let reporterCode {
        sql += " AND s.reporter_code = ?"
        arguments += [reporterCode]
      }
      sql += " ORDER BY s.id DESC LIMIT ?"
      arguments += [max(0, limit)]
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
        RejectedSubmissionRow(
          submissionId: row["submission_id"],
          reporterCode: row["reporter_code"],
          baseId: row["base_id"],
          baseNameZh: row["name_zh"],
          receivedAtMicros: row["received_at"],
          findings: try Rows.findings(db, submissionRowId: row["id"]))
      }
    }
  }

  /// The accepted submissions of a report year marked late (optionally of one reporter),
  /// newest first, at most `limit`.
  public func lateSubmissions(
    reportYear: Int, reporterCode: String? = nil, limit: Int = 500
  ) async throws -> [LateSubmissionRow] {
    try await read("listing the late submissions of \(reportYear)") { db in
      var sql = """
        SELECT s.submission_id, s.accession_number, s.reporter_code, s.base_id, COALESCE(b.name_zh, '') AS name_zh,
          s.revision, s.received_at
        FROM submissions s LEFT JOIN bases b ON b.base_id = s.base_id
        WHERE s.report_year = ? AND s.late = 1 AND s.accession_number IS NOT NULL
        """
      var arguments: StatementArguments = [reportYear]
      if let reporterCode {
        sql += " AND s.reporter_code = ?"
        arguments += [reporterCode]
      }
      sql += " ORDER BY s.id DESC LIMIT ?"
      arguments += [max(0, limit)]
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
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
        SELECT r.base_id, s.reporter_code, s.received_at, s.late
        FROM report_revisions r
        JOIN submissions s ON s.id = r.submission_row_id
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
          late: row["late"])
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

// MARK: - Ingest metrics

/// The aggregator's ingest metrics, recorded through swift-metrics on an explicit factory (so a
/// test can use its own registry; nothing here depends on `MetricsSystem.bootstrap`).
///
/// - `hitech_submissions_total{outcome,reporter}` counter: one per Submit call, by outcome
///   (`accepted`, `accepted_with_warnings`, `accepted_late`, `duplicate`, `replayed`,
///   `rejected`, `conflict`, `refused`, `store_error`).
/// - `hitech_ingest_duration_seconds` histogram (a swift-metrics `Timer`): Submit's time from
///   the request to the answer.
/// - `hitech_group_commit_batch_size` histogram (an aggregating `Recorder`): requests per
///   committed group-commit transaction; hand ``recordBatch(_:)`` to
///   ``AggregatorDatabase/Configuration/onBatch``.
public struct IngestMetrics: Sendable {
  public static let submissionsLabel = "hitech_submissions_total"
  public static let ingestDurationLabel = "hitech_ingest_duration_seconds"
  public static let batchSizeLabel = "hitech_group_commit_batch_size"

  private let factory: (any MetricsFactory)?
  private let duration: CoreMetrics.Timer?
  private let batchSize: Recorder?

  /// Metrics that record nothing (the default of the services that take them).
  public static let none = IngestMetrics()

  private init() {
    factory = nil
    duration = nil
    batchSize = nil
  }

  /// Metrics made by `factory` (e.g. a `PrometheusMetricsFactory` over the served registry).
  public init(factory: any MetricsFactory) {
    self.factory = factory
    duration = CoreMetrics.Timer(label: Self.ingestDurationLabel, dimensions: [], factory: factory)
    batchSize = Recorder(label: Self.batchSizeLabel, dimensions: [], aggregate: true, factory: factory)
  }

  /// Records one answered (or refused) submission and how long it took.
  public func recordSubmission(reporter: String, outcome: String, durationNanoseconds: Int64? = nil) {
    guard let factory else { return }
    Counter(label: Self.submissionsLabel, dimensions: [("outcome", outcome), ("reporter", reporter)], factory: factory)
      .increment()
    if let durationNanoseconds {
      duration?.recordNanoseconds(durationNanoseconds)
    }
  }

  /// Records a committed group-commit batch's size (failed batches are not counted).
  @Sendable public func recordBatch(_ report: IngestBatchReport) {
    guard report.committed else { return }
    batchSize?.record(report.size)
  }
}
