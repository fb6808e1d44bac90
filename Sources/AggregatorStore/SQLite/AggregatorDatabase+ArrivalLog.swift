import Foundation
import GRDB

/// The arrival log. SQLite has one writer, and sequences are assigned in commit order, so every
/// committed event is settled.
extension AggregatorDatabase: ArrivalLog {
  public func arrivals(
    afterSequence: Int64, reportYear: Int?, reporterCode: String?, limit: Int
  ) async throws -> [ArrivalLogEntry] {
    try await readLog(afterSequence: afterSequence, reportYear: reportYear, reporterCode: reporterCode, stepsOnly: false, limit: limit)
  }

  public func roundSteps(reportYear: Int) async throws -> [ArrivalLogEntry] {
    try await readLog(afterSequence: 0, reportYear: reportYear, reporterCode: nil, stepsOnly: true, limit: 1000)
  }

  private func readLog(
    afterSequence: Int64, reportYear: Int?, reporterCode: String?, stepsOnly: Bool, limit: Int
  ) async throws -> [ArrivalLogEntry] {
    let limit = min(max(limit, 1), 1000)
    return try await read("reading the arrival log after \(afterSequence)") { db in
      var sql = """
        SELECT e.sequence, e.round_clock_at, e.step_id AS event_step_id, r.report_year AS step_year,
          r.state AS step_state, r.kind AS step_kind, r.applied_at AS step_applied_at, r.addressed AS step_addressed,
          \(Rows.receiptColumns), s.received_at AS stored_at
        FROM arrival_events e
        LEFT JOIN submissions s ON s.id = e.submission_row_id
        LEFT JOIN submissions o ON o.id = s.duplicate_of
        LEFT JOIN round_steps r ON r.step_id = e.step_id
        WHERE e.sequence > ?
        """
      var arguments: StatementArguments = [afterSequence]
      if stepsOnly { sql += " AND e.step_id IS NOT NULL" }
      if let reportYear {
        sql += " AND coalesce(s.report_year, r.report_year) = ?"
        arguments += [reportYear]
      }
      if let reporterCode {
        sql += " AND (e.step_id IS NOT NULL OR s.reporter_code = ?)"
        arguments += [reporterCode]
      }
      sql += " ORDER BY e.sequence LIMIT ?"
      arguments += [limit]
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
        if let stepId: String = row["event_step_id"] {
          let state = RoundRecord.State(rawValue: row["step_state"]) ?? .planned
          let addressed = (try? JSONDecoder().decode([String].self, from: Data((row["step_addressed"] as String).utf8))) ?? []
          return ArrivalLogEntry(
            sequence: row["sequence"], storedAtMicros: row["step_applied_at"], roundClockMicros: row["round_clock_at"],
            roundStep: ArrivalLogRoundStep(
              stepId: stepId, reportYear: row["step_year"],
              kind: ArrivalLogRoundStep.kind(recorded: row["step_kind"], state: state, stepId: stepId),
              state: state, addressedReporters: addressed.count))
        }
        return ArrivalLogEntry(
          sequence: row["sequence"], storedAtMicros: row["stored_at"], roundClockMicros: row["round_clock_at"],
          receipt: try Rows.receipt(db, row))
      }
    }
  }

  public func lastArrivalSequence() async throws -> Int64 {
    try await read("reading the end of the arrival log") { db in
      // AUTOINCREMENT keeps the high-water mark in sqlite_sequence.
      try Int64.fetchOne(db, sql: "SELECT coalesce(max(sequence), 0) FROM arrival_events") ?? 0
    }
  }
}
