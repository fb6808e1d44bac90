import AggregatorStore
import Foundation
import Logging
import PostgresNIO

/// The decisions of one group-commit batch on PostgreSQL, in one transaction on one connection.
///
/// A batch is first decided by ``PostgresBatchIngest`` (one read and one write statement for the
/// whole batch); what follows is the request-by-request path it falls back to when a statement
/// fails on its data, or after losing the same race three times.
///
/// Requests are decided strictly in order, each seeing what the ones before it stored, with the
/// rules of ``IngestRules`` (shared with the SQLite store). Each request runs in its own
/// savepoint: a request that is wrong for its data fails alone, while a failure of the storage
/// (connection lost, deadlock, out of space, ...) rolls the whole batch back.
///
/// Several aggregators may decide the same submission at once. The loser's insert waits on the
/// winner's row lock, then fails on `submissions_submission_id_unique` (or, for two new
/// revisions of one report, on `report_revisions_key`) once the winner commits; its savepoint
/// is rolled back and the request decided again, now seeing the winner's committed row
/// (READ COMMITTED takes a new snapshot per statement): the same receipt, a duplicate or a
/// conflict, exactly as if the two had come one after the other.
enum PostgresIngest {
  /// The constraints whose violation means "another aggregator stored it first".
  static let raceConstraints: Set<String> = ["submissions_submission_id_unique", "report_revisions_key"]

  static func commit(
    _ requests: [IngestRequest],
    client: PostgresClient,
    nowMicros: Int64,
    location: String,
    faultInjector: IngestWriter.FaultInjector?,
    logger: Logger
  ) async throws -> [Result<IngestOutcome, StoreError>] {
    try await client.withConnection { connection in
      // The batch in a few round trips; decided again after a lost race; one request at a time
      // (each in its own savepoint) when a statement failed on its data.
      for attempt in 1...3 {
        switch try await PostgresBatchIngest.commit(
          requests, connection: connection, nowMicros: nowMicros, faultInjector: faultInjector, logger: logger)
        {
        case .committed(let results):
          return results
        case .raced(let constraint):
          logger.debug(
            "ingest batch lost a race, deciding it again",
            metadata: ["store.constraint": "\(constraint)", "store.attempt": "\(attempt)"])
        case .fallBack(let error):
          logger.debug("ingest batch deciding one request at a time", metadata: ["error": "\(error)"])
          return try await commitOneByOne(
            requests, connection, nowMicros: nowMicros, location: location, faultInjector: faultInjector, logger)
        }
      }
      return try await commitOneByOne(
        requests, connection, nowMicros: nowMicros, location: location, faultInjector: faultInjector, logger)
    }
  }

  /// The batch decided request by request, each in its own savepoint.
  private static func commitOneByOne(
    _ requests: [IngestRequest],
    _ connection: PostgresConnection,
    nowMicros: Int64,
    location: String,
    faultInjector: IngestWriter.FaultInjector?,
    _ logger: Logger
  ) async throws -> [Result<IngestOutcome, StoreError>] {
    try await connection.run("BEGIN", logger)
    do {
      var results: [Result<IngestOutcome, StoreError>] = []
      results.reserveCapacity(requests.count)
      for (index, request) in requests.enumerated() {
        try faultInjector?(index)
        results.append(try await decideInSavepoint(request, connection, nowMicros: nowMicros, location: location, logger))
      }
      try await PostgresLog.finish(&results, connection, logger)
      try await connection.run("COMMIT", logger)
      return results
    } catch {
      _ = try? await connection.run("ROLLBACK", logger)
      throw error
    }
  }

  private static func decideInSavepoint(
    _ request: IngestRequest, _ connection: PostgresConnection, nowMicros: Int64, location: String, _ logger: Logger
  ) async throws -> Result<IngestOutcome, StoreError> {
    var attempt = 0
    while true {
      attempt += 1
      try await connection.run("SAVEPOINT request", logger)
      do {
        let outcome = try await decide(request, connection, nowMicros: nowMicros, logger)
        try await connection.run("RELEASE SAVEPOINT request", logger)
        return .success(outcome)
      } catch {
        if PostgresReportStore.isStorageFailure(error) { throw error }
        try await connection.run("ROLLBACK TO SAVEPOINT request", logger)
        try await connection.run("RELEASE SAVEPOINT request", logger)
        let constraint = (error as? PSQLError)?.serverInfo?[.constraintName]
        if let constraint, raceConstraints.contains(constraint), attempt < 3 {
          logger.debug(
            "ingest lost a race, deciding again",
            metadata: ["submission.id": "\(request.submissionId)", "store.constraint": "\(constraint)"])
          continue
        }
        return .failure(
          StoreError(
            code: .internalError,
            message: "submission \(request.submissionId) could not be stored in \(location); nothing of it was stored",
            cause: error))
      }
    }
  }

  static func decide(
    _ request: IngestRequest, _ connection: PostgresConnection, nowMicros: Int64, _ logger: Logger
  ) async throws -> IngestOutcome {
    if let problem = IngestRules.malformed(request) {
      return .conflict(IngestConflict(code: .invalidArgument, ruleCode: "R-REQUEST-INVALID", message: problem))
    }
    let actor = "reporter:\(request.reporterCode)"

    // 1. The same submission id again: a retry (same content) or a reuse (other content).
    if let existing = try await connection.row(
      "SELECT id, content_sha256 FROM submissions WHERE submission_id = \(request.submissionId)", logger)
    {
      let rowId: Int64 = try existing.get("id")
      guard let receipt = try await PostgresRows.receipt(connection, rowId: rowId, logger) else {
        throw StoreError(code: .internalError, message: "submission row \(rowId) vanished")
      }
      if try existing.bytes("content_sha256") == request.contentSHA256 {
        return .replayed(receipt)
      }
      return .conflict(IngestRules.submissionIdReused(request, stored: receipt))
    }

    // 2. Rejected by the validator: recorded with its findings, never a report revision.
    if request.status == .rejected {
      let rowId = try await insertSubmission(request, connection, accession: nil, duplicateOf: nil, logger)
      try await insertBytes(request, rowId: rowId, connection, logger)
      try await insertFindings(request, rowId: rowId, connection, logger)
      try await PostgresRows.appendAudit(
        connection, at: nowMicros, actor: actor, action: "submission.rejected", subject: request.submissionId,
        detail: IngestRules.rejectedDetail(request), logger)
      return .rejected(IngestRules.newReceipt(request, status: .rejected, accession: "", revision: 0))
    }

    // 3. Identical content already stored as the latest revision: a duplicate.
    let latest = try await connection.row(
      """
      SELECT r.revision, s.id, s.accession_number, s.content_sha256, s.submission_id, s.received_at
      FROM report_revisions r JOIN submissions s ON s.id = r.submission_row_id
      WHERE r.base_id = \(request.baseId) AND r.report_year = \(request.reportYear)
      ORDER BY r.revision DESC LIMIT 1
      """, logger)
    if let latest, try latest.bytes("content_sha256") == request.contentSHA256 {
      let originalRowId: Int64 = try latest.get("id")
      let originalSubmissionId: String = try latest.get("submission_id")
      let accession: String = try latest.get("accession_number")
      let rowId = try await insertSubmission(request, connection, accession: nil, duplicateOf: originalRowId, logger)
      try await insertFindings(request, rowId: rowId, connection, logger)
      try await PostgresRows.appendAudit(
        connection, at: nowMicros, actor: actor, action: "submission.duplicate", subject: request.submissionId,
        detail: IngestRules.duplicateDetail(of: originalSubmissionId, accession: accession), logger)
      var receipt = IngestRules.newReceipt(
        request, status: .duplicate, accession: accession, revision: try latest.get("revision"))
      receipt.receivedAtMicros = try latest.get("received_at")
      receipt.duplicateOfSubmissionId = originalSubmissionId
      return .duplicate(receipt)
    }

    // 4. The revision must follow the latest stored one.
    if let conflict = IngestRules.revisionConflict(
      request,
      latest: try latest.map { (revision: try $0.get("revision"), accessionNumber: try $0.get("accession_number")) })
    {
      return .conflict(conflict)
    }

    // 5. A new revision: the next accession number (a sequence: unique, gaps allowed).
    guard
      let sequence = try await connection.row("SELECT nextval('accession_sequence') AS n", logger)?.get("n", as: Int64.self)
    else {
      throw StoreError(code: .internalError, message: "the accession sequence answered nothing")
    }
    let accession = IngestRules.accessionNumber(year: request.reportYear, sequence: sequence)
    let rowId = try await insertSubmission(request, connection, accession: accession, duplicateOf: nil, logger)
    try await insertBytes(request, rowId: rowId, connection, logger)
    try await connection.run(
      """
      INSERT INTO report_revisions (base_id, report_year, revision, submission_row_id)
      VALUES (\(request.baseId), \(request.reportYear), \(request.revision), \(rowId))
      """, logger)
    try await insertFindings(request, rowId: rowId, connection, logger)
    try await PostgresRows.appendAudit(
      connection, at: nowMicros, actor: actor, action: "submission.accepted", subject: request.submissionId,
      detail: IngestRules.acceptedDetail(request, accession: accession), logger)
    return .accepted(IngestRules.newReceipt(request, status: request.status, accession: accession, revision: request.revision))
  }

  private static func insertSubmission(
    _ request: IngestRequest, _ connection: PostgresConnection, accession: String?, duplicateOf: Int64?, _ logger: Logger
  ) async throws -> Int64 {
    let explanations = try IngestRules.explanationsJSON(request)
    let status: ReceiptStatus = duplicateOf == nil ? request.status : .duplicate
    guard
      let row = try await connection.row(
        """
        INSERT INTO submissions (submission_id, accession_number, reporter_code, base_id, report_year,
          revision, replaces_revision, content_sha256, status, late, received_at, explanations, duplicate_of)
        VALUES (\(request.submissionId), \(accession), \(request.reporterCode), \(request.baseId), \(request.reportYear),
          \(request.revision), \(request.replacesRevision), \(Data(request.contentSHA256)), \(status.rawValue),
          \(request.late), \(request.receivedAtMicros), \(explanations), \(duplicateOf))
        RETURNING id
        """, logger)
    else {
      throw StoreError(code: .internalError, message: "inserting submission \(request.submissionId) returned no row")
    }
    return try row.get("id")
  }

  private static func insertBytes(
    _ request: IngestRequest, rowId: Int64, _ connection: PostgresConnection, _ logger: Logger
  ) async throws {
    try await connection.run(
      "INSERT INTO submission_bytes (submission_row_id, bytes) VALUES (\(rowId), \(Data(request.originalBytes)))", logger)
  }

  private static func insertFindings(
    _ request: IngestRequest, rowId: Int64, _ connection: PostgresConnection, _ logger: Logger
  ) async throws {
    for (position, finding) in request.findings.enumerated() {
      try await connection.run(
        """
        INSERT INTO findings (submission_row_id, position, rule_code, severity, field_path, message,
          overridden, override_explanation)
        VALUES (\(rowId), \(position), \(finding.ruleCode), \(finding.severity.rawValue), \(finding.fieldPath),
          \(finding.message), \(finding.overridden), \(finding.overrideExplanation))
        """, logger)
    }
  }
}
