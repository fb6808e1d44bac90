import AggregatorStore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A group-commit batch on PostgreSQL in a handful of round trips, whatever its size: the same
/// decisions as ``PostgresIngest/decide(_:_:nowMicros:_:)``, made in memory from one read, then
/// written by one statement.
///
/// The batch is cut into segments in which no submission id and no (base, year) occurs twice,
/// so that no request of a segment depends on another's outcome. Per segment:
///
/// 1. one read: the stored rows of the segment's submission ids and the latest revision of each
///    of its (base, year) reports (the first read also gives the transaction its id, before any
///    row id is taken, so that the arrival log's settled end holds back past it);
/// 2. the decisions, in order, with ``IngestRules``;
/// 3. one statement taking the new row ids and accession numbers from their sequences;
/// 4. one statement inserting every row of the segment (submissions, bytes, revisions, findings,
///    audit entries) from arrays.
///
/// All segments run in one transaction: BEGIN, the segments, COMMIT — five round trips for a
/// batch of distinct reports, against about eleven per request deciding one by one. Receipts
/// are answered only after COMMIT (`synchronous_commit = on`).
///
/// Deduplication is still the database's: when another aggregator stores the same submission id
/// or the same revision first, the insert waits for its commit and fails on the constraint; the
/// transaction is rolled back and the batch decided again (now seeing the winner's rows). Rows
/// are inserted in submission id order, so that two batches sharing ids lock them in the same
/// order; a deadlock victim is decided again too. A
/// statement failing for any other reason about its data (a value the database refuses) rolls
/// back too, and ``Outcome/fallBack`` tells the caller to decide that batch one request at a
/// time, so that the offending request fails alone.
enum PostgresBatchIngest {
  enum Outcome {
    case committed([Result<IngestOutcome, StoreError>])
    /// Lost a race on a uniqueness constraint: decide the batch again.
    case raced(constraint: String)
    /// A statement failed on its data: decide the batch one request at a time.
    case fallBack(any Error)
  }

  static func commit(
    _ requests: [IngestRequest],
    connection: PostgresConnection,
    nowMicros: Int64,
    faultInjector: IngestWriter.FaultInjector?,
    logger: Logger
  ) async throws -> Outcome {
    try await connection.run("BEGIN", logger)
    do {
      var results: [Result<IngestOutcome, StoreError>] = []
      results.reserveCapacity(requests.count)
      for segment in segments(requests) {
        results += try await decide(
          Array(requests[segment]), firstIndex: segment.lowerBound, connection, nowMicros: nowMicros,
          faultInjector: faultInjector, logger)
      }
      try await PostgresLog.finish(&results, connection, logger)
      try await connection.run("COMMIT", logger)
      return .committed(results)
    } catch {
      _ = try? await connection.run("ROLLBACK", logger)
      // Two aggregators inserting overlapping batches may deadlock on the unique indexes: the
      // victim decides its batch again, as after a lost race.
      if PostgresReportStore.sqlState(error) == "40P01" { return .raced(constraint: "deadlock") }
      if PostgresReportStore.isStorageFailure(error) { throw error }
      if let constraint = (error as? PSQLError)?.serverInfo?[.constraintName],
        PostgresIngest.raceConstraints.contains(constraint)
      {
        return .raced(constraint: constraint)
      }
      return .fallBack(error)
    }
  }

  /// Consecutive ranges of the batch in which no submission id and no (base, year) repeats.
  static func segments(_ requests: [IngestRequest]) -> [Range<Int>] {
    var result: [Range<Int>] = []
    var start = 0
    var ids: Set<String> = []
    var reports: Set<String> = []
    for (index, request) in requests.enumerated() {
      let report = "\(request.reportYear)\u{0}\(request.baseId)"
      if ids.contains(request.submissionId) || reports.contains(report) {
        result.append(start..<index)
        start = index
        ids = []
        reports = []
      }
      ids.insert(request.submissionId)
      reports.insert(report)
    }
    if start < requests.count { result.append(start..<requests.count) }
    return result
  }

  private struct Stored {
    var rowId: Int64
    var contentSHA256: [UInt8]
  }

  private struct Latest {
    var revision: Int
    var rowId: Int64
    var accessionNumber: String
    var contentSHA256: [UInt8]
    var submissionId: String
    var receivedAtMicros: Int64
  }

  /// What one request of a segment comes to before row ids and accession numbers are known.
  private enum Decision {
    case done(IngestOutcome)
    case replay(rowId: Int64, sameContent: Bool)
    case reject
    case duplicate(of: Latest)
    case accept
  }

  private static func decide(
    _ requests: [IngestRequest], firstIndex: Int, _ connection: PostgresConnection, nowMicros: Int64,
    faultInjector: IngestWriter.FaultInjector?, _ logger: Logger
  ) async throws -> [Result<IngestOutcome, StoreError>] {
    // 1. One read for the whole segment.
    var stored: [String: Stored] = [:]
    var latest: [String: Latest] = [:]
    let key = { (base: String, year: Int) in "\(year)\u{0}\(base)" }
    let rows = try await connection.rows(
      """
      SELECT 'xid' AS kind, NULL::text AS submission_id, NULL::bigint AS id, NULL::bytea AS content_sha256,
        NULL::text AS base_id, NULL::integer AS report_year, NULL::integer AS revision,
        NULL::text AS accession_number, pg_current_xact_id()::text::bigint AS received_at
      UNION ALL
      SELECT 'stored', s.submission_id, s.id, s.content_sha256, NULL, NULL, NULL, NULL, NULL
      FROM submissions s WHERE s.submission_id = ANY(\(requests.map(\.submissionId))::text[])
      UNION ALL
      SELECT * FROM (
        SELECT DISTINCT ON (r.base_id, r.report_year) 'latest', s.submission_id, s.id, s.content_sha256,
          r.base_id, r.report_year, r.revision, s.accession_number, s.received_at
        FROM unnest(\(requests.map(\.baseId))::text[], \(requests.map { Int32(clamping: $0.reportYear) })::integer[])
          AS k(base_id, report_year)
        JOIN report_revisions r ON r.base_id = k.base_id AND r.report_year = k.report_year
        JOIN submissions s ON s.id = r.submission_row_id
        ORDER BY r.base_id, r.report_year, r.revision DESC
      ) latest
      """, logger)
    for row in rows {
      switch try row.get("kind", as: String.self) {
      case "stored":
        stored[try row.get("submission_id")] = Stored(rowId: try row.get("id"), contentSHA256: try row.bytes("content_sha256"))
      case "latest":
        latest[key(try row.get("base_id"), try row.get("report_year", as: Int.self))] = Latest(
          revision: try row.get("revision"), rowId: try row.get("id"),
          accessionNumber: try row.get("accession_number"), contentSHA256: try row.bytes("content_sha256"),
          submissionId: try row.get("submission_id"), receivedAtMicros: try row.get("received_at"))
      default:
        break
      }
    }

    // 2. The decisions.
    var decisions: [Decision] = []
    decisions.reserveCapacity(requests.count)
    for (offset, request) in requests.enumerated() {
      try faultInjector?(firstIndex + offset)
      if let problem = IngestRules.malformed(request) {
        decisions.append(
          .done(.conflict(IngestConflict(code: .invalidArgument, ruleCode: "R-REQUEST-INVALID", message: problem))))
      } else if let existing = stored[request.submissionId] {
        decisions.append(.replay(rowId: existing.rowId, sameContent: existing.contentSHA256 == request.contentSHA256))
      } else if request.status == .rejected {
        decisions.append(.reject)
      } else if let current = latest[key(request.baseId, request.reportYear)], current.contentSHA256 == request.contentSHA256 {
        decisions.append(.duplicate(of: current))
      } else if let conflict = IngestRules.revisionConflict(
        request,
        latest: latest[key(request.baseId, request.reportYear)].map { ($0.revision, $0.accessionNumber) })
      {
        decisions.append(.done(.conflict(conflict)))
      } else {
        decisions.append(.accept)
      }
    }

    // 3. Row ids and accession numbers for the rows to insert.
    let inserts = decisions.filter {
      switch $0 {
      case .reject, .duplicate, .accept: true
      case .done, .replay: false
      }
    }.count
    let accepts = decisions.filter { if case .accept = $0 { true } else { false } }.count
    var rowIds: [Int64] = []
    var sequences: [Int64] = []
    if inserts > 0 {
      guard
        let row = try await connection.row(
          """
          SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('submissions', 'id')) FROM generate_series(1, \(inserts))) AS ids,
            ARRAY(SELECT nextval('accession_sequence') FROM generate_series(1, \(accepts))) AS accessions
          """, logger)
      else {
        throw StoreError(code: .internalError, message: "the sequences answered nothing")
      }
      rowIds = try row.get("ids")
      sequences = try row.get("accessions")
    }

    // 4. The rows, and the outcomes.
    var rows4 = SegmentRows()
    var outcomes: [Result<IngestOutcome, StoreError>] = []
    var nextRow = 0
    var nextAccession = 0
    for (request, decision) in zip(requests, decisions) {
      let actor = "reporter:\(request.reporterCode)"
      switch decision {
      case .done(let outcome):
        outcomes.append(.success(outcome))
      case .replay(let rowId, let sameContent):
        guard let receipt = try await PostgresRows.receipt(connection, rowId: rowId, logger) else {
          throw StoreError(code: .internalError, message: "submission row \(rowId) vanished")
        }
        outcomes.append(.success(sameContent ? .replayed(receipt) : .conflict(IngestRules.submissionIdReused(request, stored: receipt))))
      case .reject:
        let rowId = rowIds[nextRow]
        nextRow += 1
        try rows4.submission(request, id: rowId, status: .rejected, accession: nil, duplicateOf: nil)
        rows4.bytes(request, id: rowId)
        rows4.findings(request, id: rowId)
        rows4.audit(at: nowMicros, actor: actor, action: "submission.rejected", subject: request.submissionId,
          detail: IngestRules.rejectedDetail(request))
        outcomes.append(.success(.rejected(IngestRules.newReceipt(request, status: .rejected, accession: "", revision: 0))))
      case .duplicate(let original):
        let rowId = rowIds[nextRow]
        nextRow += 1
        try rows4.submission(request, id: rowId, status: .duplicate, accession: nil, duplicateOf: original.rowId)
        rows4.findings(request, id: rowId)
        rows4.audit(at: nowMicros, actor: actor, action: "submission.duplicate", subject: request.submissionId,
          detail: IngestRules.duplicateDetail(of: original.submissionId, accession: original.accessionNumber))
        var receipt = IngestRules.newReceipt(
          request, status: .duplicate, accession: original.accessionNumber, revision: original.revision)
        receipt.receivedAtMicros = original.receivedAtMicros
        receipt.duplicateOfSubmissionId = original.submissionId
        outcomes.append(.success(.duplicate(receipt)))
      case .accept:
        let rowId = rowIds[nextRow]
        nextRow += 1
        let accession = IngestRules.accessionNumber(year: request.reportYear, sequence: sequences[nextAccession])
        nextAccession += 1
        try rows4.submission(request, id: rowId, status: request.status, accession: accession, duplicateOf: nil)
        rows4.bytes(request, id: rowId)
        rows4.revision(request, id: rowId)
        rows4.findings(request, id: rowId)
        rows4.audit(at: nowMicros, actor: actor, action: "submission.accepted", subject: request.submissionId,
          detail: IngestRules.acceptedDetail(request, accession: accession))
        outcomes.append(
          .success(.accepted(IngestRules.newReceipt(request, status: request.status, accession: accession, revision: request.revision))))
      }
    }
    if inserts > 0 { try await rows4.insert(connection, logger) }
    return outcomes
  }
}

/// The rows of one segment, column by column, inserted by one statement.
private struct SegmentRows {
  var ids: [Int64] = []
  var submissionIds: [String] = []
  var accessions: [String] = []  // "" for none
  var reporters: [String] = []
  var bases: [String] = []
  var years: [Int32] = []
  var revisions: [Int32] = []
  var replaces: [Int32] = []
  var hashes: [ByteBuffer] = []
  var statuses: [String] = []
  var lates: [Bool] = []
  var receivedAt: [Int64] = []
  var explanations: [String] = []
  var duplicateOf: [Int64] = []  // 0 for none

  var byteIds: [Int64] = []
  var byteValues: [ByteBuffer] = []

  var revisionBases: [String] = []
  var revisionYears: [Int32] = []
  var revisionNumbers: [Int32] = []
  var revisionIds: [Int64] = []

  var findingIds: [Int64] = []
  var findingPositions: [Int32] = []
  var findingRules: [String] = []
  var findingSeverities: [String] = []
  var findingPaths: [String] = []
  var findingMessages: [String] = []
  var findingOverridden: [Bool] = []
  var findingExplanations: [String] = []

  var auditAt: [Int64] = []
  var auditActors: [String] = []
  var auditActions: [String] = []
  var auditSubjects: [String] = []
  var auditDetails: [String] = []

  mutating func submission(
    _ request: IngestRequest, id: Int64, status: ReceiptStatus, accession: String?, duplicateOf original: Int64?
  ) throws {
    ids.append(id)
    submissionIds.append(request.submissionId)
    accessions.append(accession ?? "")
    reporters.append(request.reporterCode)
    bases.append(request.baseId)
    years.append(Int32(clamping: request.reportYear))
    revisions.append(Int32(clamping: request.revision))
    replaces.append(Int32(clamping: request.replacesRevision))
    hashes.append(ByteBuffer(bytes: request.contentSHA256))
    statuses.append(status.rawValue)
    lates.append(request.late)
    receivedAt.append(request.receivedAtMicros)
    explanations.append(try IngestRules.explanationsJSON(request))
    duplicateOf.append(original ?? 0)
  }

  mutating func bytes(_ request: IngestRequest, id: Int64) {
    byteIds.append(id)
    byteValues.append(ByteBuffer(bytes: request.originalBytes))
  }

  mutating func revision(_ request: IngestRequest, id: Int64) {
    revisionBases.append(request.baseId)
    revisionYears.append(Int32(clamping: request.reportYear))
    revisionNumbers.append(Int32(clamping: request.revision))
    revisionIds.append(id)
  }

  mutating func findings(_ request: IngestRequest, id: Int64) {
    for (position, finding) in request.findings.enumerated() {
      findingIds.append(id)
      findingPositions.append(Int32(clamping: position))
      findingRules.append(finding.ruleCode)
      findingSeverities.append(finding.severity.rawValue)
      findingPaths.append(finding.fieldPath)
      findingMessages.append(finding.message)
      findingOverridden.append(finding.overridden)
      findingExplanations.append(finding.overrideExplanation)
    }
  }

  mutating func audit(at: Int64, actor: String, action: String, subject: String, detail: String) {
    auditAt.append(at)
    auditActors.append(actor)
    auditActions.append(action)
    auditSubjects.append(subject)
    auditDetails.append(detail)
  }

  /// One statement: every table's rows through data-modifying CTEs (the foreign keys are checked
  /// at the end of the statement, when every row is in). Audit entries get their ids in order.
  func insert(_ connection: PostgresConnection, _ logger: Logger) async throws {
    try await connection.run(
      """
      WITH s AS (
        INSERT INTO submissions (id, submission_id, accession_number, reporter_code, base_id, report_year, revision,
          replaces_revision, content_sha256, status, late, received_at, explanations, duplicate_of)
        OVERRIDING SYSTEM VALUE
        SELECT id, sid, NULLIF(acc, ''), rep, base, year, rev, repl, sha, status, late, recv, expl, NULLIF(dup, 0)
        FROM unnest(\(ids)::bigint[], \(submissionIds)::text[], \(accessions)::text[], \(reporters)::text[],
          \(bases)::text[], \(years)::integer[], \(revisions)::integer[], \(replaces)::integer[], \(hashes)::bytea[],
          \(statuses)::text[], \(lates)::boolean[], \(receivedAt)::bigint[], \(explanations)::text[], \(duplicateOf)::bigint[])
          AS t(id, sid, acc, rep, base, year, rev, repl, sha, status, late, recv, expl, dup)
        ORDER BY sid
        RETURNING 1
      ), b AS (
        INSERT INTO submission_bytes (submission_row_id, bytes)
        SELECT * FROM unnest(\(byteIds)::bigint[], \(byteValues)::bytea[])
        RETURNING 1
      ), r AS (
        INSERT INTO report_revisions (base_id, report_year, revision, submission_row_id)
        SELECT * FROM unnest(\(revisionBases)::text[], \(revisionYears)::integer[], \(revisionNumbers)::integer[],
          \(revisionIds)::bigint[])
        RETURNING 1
      ), f AS (
        INSERT INTO findings (submission_row_id, position, rule_code, severity, field_path, message, overridden,
          override_explanation)
        SELECT * FROM unnest(\(findingIds)::bigint[], \(findingPositions)::integer[], \(findingRules)::text[],
          \(findingSeverities)::text[], \(findingPaths)::text[], \(findingMessages)::text[], \(findingOverridden)::boolean[],
          \(findingExplanations)::text[])
        RETURNING 1
      ), a AS (
        INSERT INTO audit_log (at, actor, action, subject, detail)
        SELECT at, actor, action, subject, detail
        FROM unnest(\(auditAt)::bigint[], \(auditActors)::text[], \(auditActions)::text[], \(auditSubjects)::text[],
          \(auditDetails)::text[]) WITH ORDINALITY AS t(at, actor, action, subject, detail, n)
        ORDER BY n
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM b) + (SELECT count(*) FROM r) + (SELECT count(*) FROM f)
        + (SELECT count(*) FROM a) AS n
      """, logger)
  }
}
