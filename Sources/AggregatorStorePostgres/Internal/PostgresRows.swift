import AggregatorStore
import Foundation
import Logging
import PostgresNIO

extension PostgresConnection {
  /// Every row of `query`.
  func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
    try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
  }

  /// The first row of `query`, if any.
  func row(_ query: PostgresQuery, _ logger: Logger) async throws -> PostgresRandomAccessRow? {
    try await rows(query, logger).first
  }

  /// Runs a statement, ignoring any rows.
  func run(_ query: PostgresQuery, _ logger: Logger) async throws {
    _ = try await self.query(query, logger: logger).collect()
  }
}

extension PostgresRandomAccessRow {
  /// The column named `name`, decoded.
  func get<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
    try self[name].decode(T.self)
  }

  func bytes(_ name: String) throws -> [UInt8] {
    [UInt8](try get(name, as: Data.self))
  }
}

/// Reading stored rows back into the store's records (the same records the SQLite store makes).
enum PostgresRows {
  static func findings(_ connection: PostgresConnection, submissionRowId: Int64, _ logger: Logger) async throws -> [StoredFinding] {
    try await connection.rows(
      """
      SELECT rule_code, severity, field_path, message, overridden, override_explanation
      FROM findings WHERE submission_row_id = \(submissionRowId) ORDER BY position
      """, logger
    ).map { row in
      StoredFinding(
        ruleCode: try row.get("rule_code"),
        severity: StoredFinding.Severity(rawValue: try row.get("severity")) ?? .error,
        fieldPath: try row.get("field_path"),
        message: try row.get("message"),
        overridden: try row.get("overridden"),
        overrideExplanation: try row.get("override_explanation"))
    }
  }

  /// The columns ``receipt(_:_:_:)`` reads, from `submissions s` left-joined with its original `o`.
  static let receiptColumns = """
    s.id AS row_id, s.submission_id, s.status, s.base_id, s.report_year, s.content_sha256,
    s.reporter_code, s.late, s.revision, s.accession_number, s.received_at,
    o.accession_number AS original_accession, o.revision AS original_revision,
    o.received_at AS original_received_at, o.submission_id AS original_submission_id
    """

  static let receiptFrom = "submissions s LEFT JOIN submissions o ON o.id = s.duplicate_of"

  static func receipt(_ connection: PostgresConnection, _ row: PostgresRandomAccessRow, _ logger: Logger) async throws -> StoredReceipt {
    let rowId: Int64 = try row.get("row_id")
    let statusText: String = try row.get("status")
    guard let status = ReceiptStatus(rawValue: statusText) else {
      throw StoreError(code: .internalError, message: "submission row \(rowId) has an unknown status \(statusText)")
    }
    var receipt = StoredReceipt(
      accessionNumber: try row.get("accession_number", as: String?.self) ?? "",
      submissionId: try row.get("submission_id"),
      receivedAtMicros: try row.get("received_at"),
      status: status,
      revision: try row.get("revision"),
      findings: try await findings(connection, submissionRowId: rowId, logger),
      baseId: try row.get("base_id"),
      reportYear: try row.get("report_year"),
      contentSHA256: try row.bytes("content_sha256"),
      reporterCode: try row.get("reporter_code"),
      late: try row.get("late"),
      duplicateOfSubmissionId: "")
    switch status {
    case .duplicate:
      receipt.accessionNumber = try row.get("original_accession", as: String?.self) ?? ""
      receipt.revision = try row.get("original_revision", as: Int?.self) ?? 0
      receipt.receivedAtMicros = try row.get("original_received_at", as: Int64?.self) ?? receipt.receivedAtMicros
      receipt.duplicateOfSubmissionId = try row.get("original_submission_id", as: String?.self) ?? ""
    case .rejected:
      receipt.revision = 0
    case .accepted, .acceptedWithWarnings, .acceptedLate:
      break
    }
    receipt.attestation = try await PostgresLog.attestation(connection, of: receipt, rowId: rowId, logger)
    return receipt
  }

  static func receipt(_ connection: PostgresConnection, rowId: Int64, _ logger: Logger) async throws -> StoredReceipt? {
    guard
      let row = try await connection.row(
        "SELECT \(unescaped: receiptColumns) FROM \(unescaped: receiptFrom) WHERE s.id = \(rowId)", logger)
    else { return nil }
    return try await receipt(connection, row, logger)
  }

  static func reporter(_ row: PostgresRandomAccessRow) throws -> ReporterRecord {
    ReporterRecord(
      code: try row.get("code"),
      nameZh: try row.get("name_zh"),
      nameEn: try row.get("name_en"),
      kind: ReporterRecord.Kind(rawValue: try row.get("kind")) ?? .provincial,
      parentCode: try row.get("parent_code"),
      active: try row.get("active"))
  }

  static func key(_ row: PostgresRandomAccessRow) throws -> ReporterKeyRecord {
    ReporterKeyRecord(
      publicKeyZ85: try row.get("public_key_z85"),
      reporterCode: try row.get("reporter_code"),
      comment: try row.get("comment"),
      registeredAtMicros: try row.get("registered_at"),
      retiredAtMicros: try row.get("retired_at"))
  }

  static func principalKey(_ row: PostgresRandomAccessRow) throws -> PrincipalKeyRecord {
    PrincipalKeyRecord(
      publicKeyZ85: try row.get("public_key_z85"),
      role: PrincipalKeyRecord.Role(rawValue: try row.get("role")) ?? .operator,
      name: try row.get("name"),
      comment: try row.get("comment"),
      registeredAtMicros: try row.get("registered_at"),
      retiredAtMicros: try row.get("retired_at"))
  }

  static func base(_ connection: PostgresConnection, _ row: PostgresRandomAccessRow, _ logger: Logger) async throws -> BaseRecord {
    let baseId: String = try row.get("base_id")
    let fields = try await connection.rows(
      "SELECT field FROM base_fields WHERE base_id = \(baseId) ORDER BY position", logger
    ).map { try $0.get("field", as: String.self) }
    return try base(row, fields: fields)
  }

  static func base(_ row: PostgresRandomAccessRow, fields: [String]) throws -> BaseRecord {
    BaseRecord(
      baseId: try row.get("base_id"),
      nameZh: try row.get("name_zh"),
      nameEn: try row.get("name_en"),
      reporterCode: try row.get("reporter_code"),
      kind: BaseRecord.Kind(rawValue: try row.get("kind")) ?? .specialized,
      level: BaseRecord.Level(rawValue: try row.get("level")) ?? .provincial,
      fields: fields,
      cityCode: try row.get("city_code"),
      cityNameZh: try row.get("city_name_zh"),
      recognitionDocument: try row.get("recognition_document"),
      recognitionDate: try row.get("recognition_date"),
      firstReportYear: try row.get("first_report_year"),
      status: BaseRecord.Status(rawValue: try row.get("status")) ?? .active)
  }

  static func round(_ row: PostgresRandomAccessRow) throws -> RoundRecord {
    RoundRecord(
      reportYear: try row.get("report_year"),
      state: RoundRecord.State(rawValue: try row.get("state")) ?? .planned,
      latePolicy: RoundRecord.LatePolicy(rawValue: try row.get("late_policy")) ?? .refuse,
      opensAtMicros: try row.get("opens_at"),
      deadlineMicros: try row.get("deadline"),
      updatedAtMicros: try row.get("updated_at"))
  }

  static func audit(_ row: PostgresRandomAccessRow) throws -> AuditEntry {
    AuditEntry(
      id: try row.get("id"),
      atMicros: try row.get("at"),
      actor: try row.get("actor"),
      action: try row.get("action"),
      subject: try row.get("subject"),
      detail: try row.get("detail"))
  }

  static func appendAudit(
    _ connection: PostgresConnection, at: Int64, actor: String, action: String, subject: String, detail: String,
    _ logger: Logger
  ) async throws {
    try await connection.run(
      "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (\(at), \(actor), \(action), \(subject), \(detail))",
      logger)
  }

  static func reports(
    _ connection: PostgresConnection, baseId: String, reportYear: Int, latestOnly: Bool, _ logger: Logger
  ) async throws -> [StoredReport] {
    try await connection.rows(
      """
      SELECT r.revision, s.accession_number, s.submission_id, s.reporter_code, s.status, s.late,
        s.content_sha256, s.received_at, b.bytes
      FROM report_revisions r
      JOIN submissions s ON s.id = r.submission_row_id
      JOIN submission_bytes b ON b.submission_row_id = s.id
      WHERE r.base_id = \(baseId) AND r.report_year = \(reportYear)
      ORDER BY r.revision \(unescaped: latestOnly ? "DESC LIMIT 1" : "ASC")
      """, logger
    ).map { try storedReport($0, baseId: baseId, reportYear: reportYear) }
  }

  static func storedReport(_ row: PostgresRandomAccessRow, baseId: String, reportYear: Int) throws -> StoredReport {
    StoredReport(
      baseId: baseId,
      reportYear: reportYear,
      revision: try row.get("revision"),
      accessionNumber: try row.get("accession_number"),
      submissionId: try row.get("submission_id"),
      reporterCode: try row.get("reporter_code"),
      status: ReceiptStatus(rawValue: try row.get("status")) ?? .accepted,
      late: try row.get("late"),
      contentSHA256: try row.bytes("content_sha256"),
      receivedAtMicros: try row.get("received_at"),
      originalBytes: try row.bytes("bytes"))
  }
}
