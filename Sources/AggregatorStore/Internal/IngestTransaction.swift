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
      try faultInjector?(db, index)
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
    return results
  }

  static func decide(_ request: IngestRequest, db: Database, nowMicros: Int64) throws -> IngestOutcome {
    if let problem = malformed(request) {
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
      let stored = receipt.accessionNumber.isEmpty
        ? "stored as \(receipt.status.rawValue), no accession number"
        : "accession \(receipt.accessionNumber)"
      return .conflict(
        IngestConflict(
          code: .alreadyExists,
          ruleCode: "R-SUBMISSION-ID-REUSED",
          message: "submission id \(request.submissionId) was already used for different content (\(stored)); use a new id"))
    }

    // 2. Rejected by the validator: recorded with its findings, never a report revision.
    if request.status == .rejected {
      let rowId = try insertSubmission(request, db: db, accession: nil, duplicateOf: nil)
      try insertBytes(request, rowId: rowId, db: db)
      try insertFindings(request, rowId: rowId, db: db)
      try Rows.appendAudit(
        db, at: nowMicros, actor: "reporter:\(request.reporterCode)", action: "submission.rejected",
        subject: request.submissionId,
        detail: "base \(request.baseId) year \(request.reportYear) revision \(request.revision); "
          + "rules: \(request.findings.filter { $0.severity == .error }.map(\.ruleCode).joined(separator: ", "))")
      return .rejected(newReceipt(request, status: .rejected, accession: "", revision: 0))
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
        detail: "duplicate of \(latest["submission_id"] as String) (accession \(latest["accession_number"] as String))")
      var receipt = newReceipt(
        request, status: .duplicate, accession: latest["accession_number"], revision: latest["revision"])
      receipt.receivedAtMicros = latest["received_at"]
      receipt.duplicateOfSubmissionId = latest["submission_id"]
      return .duplicate(receipt)
    }

    // 4. The revision must follow the latest stored one.
    if let conflict = revisionConflict(request, latest: latest) {
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
    let accession = accessionNumber(year: request.reportYear, sequence: sequence)
    let rowId = try insertSubmission(request, db: db, accession: accession, duplicateOf: nil)
    try insertBytes(request, rowId: rowId, db: db)
    try db.cachedStatement(
      sql: "INSERT INTO report_revisions (base_id, report_year, revision, submission_row_id) VALUES (?, ?, ?, ?)"
    ).execute(arguments: [request.baseId, request.reportYear, request.revision, rowId])
    try insertFindings(request, rowId: rowId, db: db)
    try Rows.appendAudit(
      db, at: nowMicros, actor: "reporter:\(request.reporterCode)", action: "submission.accepted",
      subject: request.submissionId,
      detail: "accession \(accession): base \(request.baseId) year \(request.reportYear) revision \(request.revision) "
        + "(\(request.status.rawValue)\(request.late ? ", late" : ""))")
    return .accepted(newReceipt(request, status: request.status, accession: accession, revision: request.revision))
  }

  static func accessionNumber(year: Int, sequence: Int64) -> String {
    let y = String(year)
    let s = String(sequence)
    return "HT-" + String(repeating: "0", count: max(0, 4 - y.count)) + y
      + "-" + String(repeating: "0", count: max(0, 8 - s.count)) + s
  }

  private static func malformed(_ request: IngestRequest) -> String? {
    if request.submissionId.isEmpty { return "the submission id is empty" }
    if request.baseId.isEmpty { return "the base id is empty" }
    if request.reporterCode.isEmpty { return "the reporter code is empty" }
    if request.contentSHA256.count != 32 {
      return "content_sha256 has \(request.contentSHA256.count) bytes; a SHA-256 has 32"
    }
    if !(0...9999).contains(request.reportYear) {
      return "report year \(request.reportYear) is not a 4-digit year"
    }
    if request.status == .duplicate {
      return "the status of a request is decided by the validator; duplicate is decided by the store"
    }
    return nil
  }

  private static func revisionConflict(_ request: IngestRequest, latest: Row?) -> IngestConflict? {
    let base = request.baseId
    let year = request.reportYear
    let k = request.revision
    let replaces = request.replacesRevision
    guard let latest else {
      if k == 1 && replaces == 0 { return nil }
      return IngestConflict(
        code: .failedPrecondition,
        ruleCode: k < 1 ? "R-REVISION-INVALID" : (k == 1 ? "R-REVISION-STALE" : "R-REVISION-GAP"),
        message: "base \(base) has no stored report for \(year), but this is revision \(k) replacing revision \(replaces); "
          + "send the first report as revision 1 with replaces_revision 0")
    }
    let n: Int = latest["revision"]
    let accession: String = latest["accession_number"]
    if k == 1 {
      return IngestConflict(
        code: .alreadyExists,
        ruleCode: "R-REVISION-CONFLICT",
        message: "base \(base) already has a report for \(year) (revision \(n), accession \(accession)); "
          + "to correct it, submit revision \(n + 1) with replaces_revision \(n)")
    }
    if k < 1 || replaces != n || k != n + 1 {
      let rule = k < 1 ? "R-REVISION-INVALID" : (replaces != n ? "R-REVISION-STALE" : "R-REVISION-GAP")
      return IngestConflict(
        code: .failedPrecondition,
        ruleCode: rule,
        message: "revision \(k) replacing revision \(replaces) does not follow the latest stored revision of base \(base) "
          + "for \(year), which is revision \(n) (accession \(accession)); "
          + "send revision \(n + 1) with replaces_revision \(n)")
    }
    return nil
  }

  private static func insertSubmission(
    _ request: IngestRequest, db: Database, accession: String?, duplicateOf: Int64?
  ) throws -> Int64 {
    let explanations =
      request.explanations.isEmpty
      ? "[]" : String(decoding: try JSONEncoder().encode(request.explanations), as: UTF8.self)
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

  /// The receipt of a row just inserted, from the values inserted: the same fields
  /// `Rows.receipt` reads back later (the tests compare the two).
  private static func newReceipt(
    _ request: IngestRequest, status: ReceiptStatus, accession: String, revision: Int
  ) -> StoredReceipt {
    StoredReceipt(
      accessionNumber: accession,
      submissionId: request.submissionId,
      receivedAtMicros: request.receivedAtMicros,
      status: status,
      revision: revision,
      findings: request.findings,
      baseId: request.baseId,
      reportYear: request.reportYear,
      contentSHA256: request.contentSHA256,
      reporterCode: request.reporterCode,
      late: request.late,
      duplicateOfSubmissionId: "")
  }
}
