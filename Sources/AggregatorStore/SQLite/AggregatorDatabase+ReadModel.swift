import Foundation
import GRDB

/// What ``RegistryReadModel`` reads: the whole registry when the generation moved, and per
/// submission the generation with last year's report, by cached statements.
extension AggregatorDatabase {
  public func registrySnapshot() async throws -> RegistrySnapshot {
    try await read("reading the registry") { db in
      let generation = try Int64.fetchOne(db.cachedStatement(sql: Self.generationSQL)) ?? 0
      var fields: [String: [String]] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT base_id, field FROM base_fields ORDER BY base_id, position") {
        fields[row[0], default: []].append(row[1])
      }
      var bases: [String: BaseRecord] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT * FROM bases") {
        let base = Rows.base(row, fields: fields[row["base_id"]] ?? [])
        bases[base.baseId] = base
      }
      var rounds: [Int: RoundRecord] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT * FROM rounds") {
        let round = Self.roundRecord(row)
        rounds[round.reportYear] = round
      }
      return RegistrySnapshot(generation: generation, bases: bases, rounds: rounds)
    }
  }

  public func submissionFacts(baseId: String, previousYear: Int) async throws -> SubmissionFacts {
    try await read("reading the context of \(baseId)") { db in
      let generation = try Int64.fetchOne(db.cachedStatement(sql: Self.generationSQL)) ?? 0
      let report = try Row.fetchOne(db.cachedStatement(sql: Self.latestReportSQL), arguments: [baseId, previousYear])
        .map { Self.storedReport($0, baseId: baseId, reportYear: previousYear) }
      return SubmissionFacts(generation: generation, previousYearReport: report)
    }
  }

  static let generationSQL = "SELECT generation FROM registry_generation WHERE id = 1"

  /// The latest revision of one (base, year) report with its bytes (the primary key of
  /// report_revisions serves it).
  static let latestReportSQL = """
    SELECT r.revision, s.accession_number, s.submission_id, s.reporter_code, s.status, s.late,
      s.content_sha256, s.received_at, b.bytes
    FROM report_revisions r
    JOIN submissions s ON s.id = r.submission_row_id
    JOIN submission_bytes b ON b.submission_row_id = s.id
    WHERE r.base_id = ? AND r.report_year = ?
    ORDER BY r.revision DESC LIMIT 1
    """

  static func storedReport(_ row: Row, baseId: String, reportYear: Int) -> StoredReport {
    StoredReport(
      baseId: baseId,
      reportYear: reportYear,
      revision: row["revision"],
      accessionNumber: row["accession_number"],
      submissionId: row["submission_id"],
      reporterCode: row["reporter_code"],
      status: ReceiptStatus(rawValue: row["status"]) ?? .accepted,
      late: row["late"],
      contentSHA256: [UInt8](row["content_sha256"] as Data),
      receivedAtMicros: row["received_at"],
      originalBytes: [UInt8](row["bytes"] as Data))
  }
}
