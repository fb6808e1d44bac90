import Foundation
import GRDB

/// Reading stored rows back into the store's records.
enum Rows {
  static func findings(_ db: Database, submissionRowId: Int64) throws -> [StoredFinding] {
    try Row.fetchAll(
      db,
      sql: """
        SELECT rule_code, severity, field_path, message, overridden, override_explanation
        FROM findings WHERE submission_row_id = ? ORDER BY position
        """,
      arguments: [submissionRowId]
    ).map { row in
      StoredFinding(
        ruleCode: row["rule_code"],
        severity: StoredFinding.Severity(rawValue: row["severity"]) ?? .error,
        fieldPath: row["field_path"],
        message: row["message"],
        overridden: row["overridden"],
        overrideExplanation: row["override_explanation"])
    }
  }

  /// The columns ``receipt(_:_:)`` reads, from `submissions s` left-joined with its original `o`.
  static let receiptColumns = """
    s.id AS row_id, s.submission_id, s.status, s.base_id, s.report_year, s.content_sha256,
    s.reporter_code, s.late, s.revision, s.accession_number, s.received_at,
    o.accession_number AS original_accession, o.revision AS original_revision,
    o.received_at AS original_received_at, o.submission_id AS original_submission_id
    """

  static let receiptFrom = "submissions s LEFT JOIN submissions o ON o.id = s.duplicate_of"

  static func receipt(_ db: Database, _ row: Row) throws -> StoredReceipt {
    let rowId: Int64 = row["row_id"]
    guard let status = ReceiptStatus(rawValue: row["status"]) else {
      throw StoreError(code: .internalError, message: "submission row \(rowId) has an unknown status \(String(describing: row["status"]))")
    }
    let hash: Data = row["content_sha256"]
    var receipt = StoredReceipt(
      accessionNumber: row["accession_number"] ?? "",
      submissionId: row["submission_id"],
      receivedAtMicros: row["received_at"],
      status: status,
      revision: row["revision"],
      findings: try findings(db, submissionRowId: rowId),
      baseId: row["base_id"],
      reportYear: row["report_year"],
      contentSHA256: [UInt8](hash),
      reporterCode: row["reporter_code"],
      late: row["late"],
      duplicateOfSubmissionId: "")
    switch status {
    case .duplicate:
      receipt.accessionNumber = row["original_accession"] ?? ""
      receipt.revision = row["original_revision"] ?? 0
      receipt.receivedAtMicros = row["original_received_at"] ?? receipt.receivedAtMicros
      receipt.duplicateOfSubmissionId = row["original_submission_id"] ?? ""
    case .rejected:
      receipt.revision = 0
    case .accepted, .acceptedWithWarnings, .acceptedLate:
      break
    }
    receipt.attestation = try SQLiteLog.attestation(db, of: receipt, rowId: rowId)
    return receipt
  }

  static func receipt(_ db: Database, rowId: Int64) throws -> StoredReceipt? {
    guard
      let row = try Row.fetchOne(
        db, sql: "SELECT \(receiptColumns) FROM \(receiptFrom) WHERE s.id = ?", arguments: [rowId])
    else { return nil }
    return try receipt(db, row)
  }

  static func reporter(_ row: Row) -> ReporterRecord {
    ReporterRecord(
      code: row["code"],
      nameZh: row["name_zh"],
      nameEn: row["name_en"],
      kind: ReporterRecord.Kind(rawValue: row["kind"]) ?? .provincial,
      parentCode: row["parent_code"],
      active: row["active"])
  }

  static func key(_ row: Row) -> ReporterKeyRecord {
    ReporterKeyRecord(
      publicKeyZ85: row["public_key_z85"],
      reporterCode: row["reporter_code"],
      comment: row["comment"],
      registeredAtMicros: row["registered_at"],
      retiredAtMicros: row["retired_at"])
  }

  static func base(_ db: Database, _ row: Row) throws -> BaseRecord {
    let baseId: String = row["base_id"]
    let fields = try String.fetchAll(
      db, sql: "SELECT field FROM base_fields WHERE base_id = ? ORDER BY position", arguments: [baseId])
    return base(row, fields: fields)
  }

  static func base(_ row: Row, fields: [String]) -> BaseRecord {
    BaseRecord(
      baseId: row["base_id"],
      nameZh: row["name_zh"],
      nameEn: row["name_en"],
      reporterCode: row["reporter_code"],
      kind: BaseRecord.Kind(rawValue: row["kind"]) ?? .specialized,
      level: BaseRecord.Level(rawValue: row["level"]) ?? .provincial,
      fields: fields,
      cityCode: row["city_code"],
      cityNameZh: row["city_name_zh"],
      recognitionDocument: row["recognition_document"],
      recognitionDate: row["recognition_date"],
      firstReportYear: row["first_report_year"],
      status: BaseRecord.Status(rawValue: row["status"]) ?? .active)
  }

  static func audit(_ row: Row) -> AuditEntry {
    AuditEntry(
      id: row["id"],
      atMicros: row["at"],
      actor: row["actor"],
      action: row["action"],
      subject: row["subject"],
      detail: row["detail"])
  }

  static func appendAudit(
    _ db: Database, at: Int64, actor: String, action: String, subject: String, detail: String
  ) throws {
    try db.cachedStatement(sql: "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)")
      .execute(arguments: [at, actor, action, subject, detail])
  }
}
