import Foundation
import GRDB

/// The decisions of one group-commit batch, run inside its write transaction.
///
/// Requests are decided strictly in order, each seeing what the ones before it stored, so two
/// racing submissions of the same report in one batch resolve exactly as if they had come one
/// after the other. Each request runs in its own savepoint: a request that is wrong for its data
/// (a constraint the checks missed) fails alone, while a failure of the storage itself (disk
/// full, I/O error, busy, ...) is rethrown and rolls the whole batch back.
enum IngestTransaction {
  static func decide(
    _ requests: [IngestRequest],
    db: Database,
    nowMicros: Int64,
    path: String,
    faultInjector: IngestWriter.FaultInjector?
  ) throws -> [Result<IngestOutcome, StoreError>] {
    var results: [Result<IngestOutcome, StoreError>] = []
    results.reserveCapacity(requests.count)
    for (index, request) in requests.enumerated() {
      try faultInjector?(index)
      var outcome: IngestOutcome?
      do {
        try db.inSavepoint {
          outcome = try decide(request, db: db, nowMicros: nowMicros)
          return .commit
        }
        results.append(.success(outcome!))
      } catch {
        if StoreError.isStorageFailure(error) { throw error }
        results.append(
          .failure(
            StoreError(
              code: .internalError,
              message: "submission \(request.submissionId) could not be stored in \(path); nothing of it was stored",
              cause: error)))
      }
    }
    try SQLiteLog.finish(&results, db: db)
    return results
  }

  static func decide(_ request: IngestRequest, db: Database, nowMicros: Int64) throws -> IngestOutcome {
    if let problem = IngestRules.malformed(request) {
      return .conflict(IngestConflict(code: .invalidArgument, ruleCode: "R-REQUEST-INVALID", message: problem))
    }

    // 1. The same submission id again: a retry (same content) or a reuse (other content).
    if let existing = try Row.fetchOne(
      db.cachedStatement(sql: "SELECT id, content_sha256 FROM submissions WHERE submission_id = ?"),
      arguments: [request.submissionId])
    {
      let rowId: Int64 = existing["id"]
      let hash: Data = existing["content_sha256"]
      guard let receipt = try Rows.receipt(db, rowId: rowId) else {
        throw StoreError(code: .internalError, message: "submission row \(rowId) vanished")
      }
      if [UInt8](hash) == request.contentSHA256 {
        return .replayed(receipt)
      }
      return .conflict(IngestRules.submissionIdReused(request, stored: receipt))
    }

    // 2. Rejected by the validator: recorded with its findings, never a report revision.
    if request.status == .rejected {
      let rowId = try insertSubmission(request, db: db, accession: nil, duplicateOf: nil)
      try insertBytes(request, rowId: rowId, db: db)
      try insertFindings(request, rowId: rowId, db: db)
      try Rows.appendAudit(
        db, at: nowMicros, actor: "reporter:\(request.reporterCode)", action: "submission.rejected",
        subject: request.submissionId,
        detail: IngestRules.rejectedDetail(request))
      return .rejected(IngestRules.newReceipt(request, status: .rejected, accession: "", revision: 0))
    }

    // 3. Identical content already stored as the latest revision: a duplicate.
    let latest = try Row.fetchOne(
      db.cachedStatement(
        sql: """
          SELECT r.revision, s.id, s.accession_number, s.content_sha256, s.submission_id, s.received_at
          FROM report_revisions r JOIN submissions s ON s.id = r.submission_row_id
          WHERE r.base_id = ? AND r.report_year = ?
          ORDER BY r.revision DESC LIMIT 1
          """),
      arguments: [request.baseId, request.reportYear])
    if let latest, [UInt8](latest["content_sha256"] as Data) == request.contentSHA256 {
      let originalRowId: Int64 = latest["id"]
      let rowId = try insertSubmission(request, db: db, accession: nil, duplicateOf: originalRowId)
      try insertFindings(request, rowId: rowId, db: db)
      try Rows.appendAudit(
        db, at: nowMicros, actor: "reporter:\(request.reporterCode)", action: "submission.duplicate",
        subject: request.submissionId,
        detail: IngestRules.duplicateDetail(of: latest["submission_id"], accession: latest["accession_number"]))
      var receipt = IngestRules.newReceipt(
        request, status: .duplicate, accession: latest["accession_number"], revision: latest["revision"])
      receipt.receivedAtMicros = latest["received_at"]
      receipt.duplicateOfSubmissionId = latest["submission_id"]
      return .duplicate(receipt)
    }

    // 4. The revision must follow the latest stored one.
    if let conflict = IngestRules.revisionConflict(
      request, latest: latest.map { (revision: $0["revision"], accessionNumber: $0["accession_number"]) }) {
      return .conflict(conflict)
    }

    // 5. A new revision: next accession number of the year, in this same transaction.
    let sequence = try Int64.fetchOne(
      db.cachedStatement(
        sql: """
          INSERT INTO accession_counters (report_year, last_sequence) VALUES (?, 1)
          ON CONFLICT (report_year) DO UPDATE SET last_sequence = last_sequence + 1
          RETURNING last_sequence
          """),
      arguments: [request.reportYear])!
    guard sequence <= 99_999_999 else {
      throw StoreError(code: .internalError, message: "accession numbers of \(request.reportYear) are exhausted")
    }
    let accession = IngestRules.accessionNumber(year: request.reportYear, sequence: sequence)
    let rowId = try insertSubmission(request, db: db, accession: accession, duplicateOf: nil)
    try insertBytes(request, rowId: rowId, db: db)
    try db.cachedStatement(
      sql: "INSERT INTO report_revisions (base_id, report_year, revision, submission_row_id) VALUES (?, ?, ?, ?)"
    ).execute(arguments: [request.baseId, request.reportYear, request.revision, rowId])
    try insertFindings(request, rowId: rowId, db: db)
    try Rows.appendAudit(
      db, at: nowMicros, actor: "reporter:\(request.reporterCode)", action: "submission.accepted",
      subject: request.submissionId,
      detail: IngestRules.acceptedDetail(request, accession: accession))
    return .accepted(IngestRules.newReceipt(request, status: request.status, accession: accession, revision: request.revision))
  }

  static func accessionNumber(year: Int, sequence: Int64) -> String {
    IngestRules.accessionNumber(year: year, sequence: sequence)
  }

  private static func insertSubmission(
    _ request: IngestRequest, db: Database, accession: String?, duplicateOf: Int64?
  ) throws -> Int64 {
    let explanations = try IngestRules.explanationsJSON(request)
    let status: ReceiptStatus = duplicateOf == nil ? request.status : .duplicate
    try db.cachedStatement(
      sql: """
        INSERT INTO submissions (submission_id, accession_number, reporter_code, base_id, report_year,
          revision, replaces_revision, content_sha256, status, late, received_at, explanations, duplicate_of)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    ).execute(
      arguments: [
        request.submissionId, accession, request.reporterCode, request.baseId, request.reportYear,
        request.revision, request.replacesRevision, Data(request.contentSHA256), status.rawValue,
        request.late, request.receivedAtMicros, explanations, duplicateOf,
      ])
    return db.lastInsertedRowID
  }

  private static func insertBytes(_ request: IngestRequest, rowId: Int64, db: Database) throws {
    try db.cachedStatement(sql: "INSERT INTO submission_bytes (submission_row_id, bytes) VALUES (?, ?)")
      .execute(arguments: [rowId, Data(request.originalBytes)])
  }

  private static func insertFindings(_ request: IngestRequest, rowId: Int64, db: Database) throws {
    guard !request.findings.isEmpty else { return }
    let statement = try db.cachedStatement(
      sql: """
        INSERT INTO findings (submission_row_id, position, rule_code, severity, field_path, message,
          overridden, override_explanation)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """)
    for (position, finding) in request.findings.enumerated() {
      try statement.execute(
        arguments: [
          rowId, position, finding.ruleCode, finding.severity.rawValue, finding.fieldPath, finding.message,
          finding.overridden, finding.overrideExplanation,
        ])
    }
  }
}
