import AggregatorStore
import Foundation
import Logging
import PostgresNIO

/// What ``RegistryReadModel`` reads: the whole registry when the generation moved, and per
/// submission the generation with last year's report in ONE statement (one round trip, its own
/// snapshot, no transaction to open and close).
extension PostgresReportStore {
  public func registrySnapshot() async throws -> RegistrySnapshot {
    let logger = self.logger
    return try await read("reading the registry") { db in
      let generation = try await db.row("SELECT generation FROM registry_generation WHERE id = 1", logger)
        .map { try $0.get("generation", as: Int64.self) } ?? 0
      var fields: [String: [String]] = [:]
      for row in try await db.rows("SELECT base_id, field FROM base_fields ORDER BY base_id, position", logger) {
        fields[try row.get("base_id"), default: []].append(try row.get("field"))
      }
      var bases: [String: BaseRecord] = [:]
      for row in try await db.rows("SELECT * FROM bases", logger) {
        let base = try PostgresRows.base(row, fields: fields[try row.get("base_id")] ?? [])
        bases[base.baseId] = base
      }
      var rounds: [Int: RoundRecord] = [:]
      for row in try await db.rows("SELECT * FROM rounds", logger) {
        let round = try PostgresRows.round(row)
        rounds[round.reportYear] = round
      }
      return RegistrySnapshot(generation: generation, bases: bases, rounds: rounds)
    }
  }

  public func submissionFacts(baseId: String, previousYear: Int) async throws -> SubmissionFacts {
    let logger = self.logger
    do {
      return try await client.withConnection { db in
        guard
          let row = try await db.row(
            """
            SELECT (SELECT generation FROM registry_generation WHERE id = 1) AS generation, x.*
            FROM (SELECT 1) AS one LEFT JOIN LATERAL (
              SELECT r.revision, s.accession_number, s.submission_id, s.reporter_code, s.status, s.late,
                s.content_sha256, s.received_at, b.bytes
              FROM report_revisions r
              JOIN submissions s ON s.id = r.submission_row_id
              JOIN submission_bytes b ON b.submission_row_id = s.id
              WHERE r.base_id = \(baseId) AND r.report_year = \(previousYear)
              ORDER BY r.revision DESC LIMIT 1
            ) AS x ON true
            """, logger)
        else { return SubmissionFacts(generation: 0, previousYearReport: nil) }
        let generation = try row.get("generation", as: Int64?.self) ?? 0
        guard try row.get("revision", as: Int?.self) != nil else {
          return SubmissionFacts(generation: generation, previousYearReport: nil)
        }
        return SubmissionFacts(
          generation: generation,
          previousYearReport: try PostgresRows.storedReport(row, baseId: baseId, reportYear: previousYear))
      }
    } catch {
      throw Self.operationError("reading the context of \(baseId)", location: location, error)
    }
  }
}
