import AggregatorStore
import Foundation
import Logging
import PostgresNIO

/// The arrival log (`arrival_events`). Sequences come from an identity sequence, taken when an
/// event is inserted, so transactions of several aggregators (or of one aggregator's concurrent
/// batches) may commit out of sequence order: a sequence may be visible while a lower one is
/// still in flight. The settled end is therefore the highest sequence visible in a snapshot once
/// every transaction in flight at that snapshot has ended (any transaction holding a lower one
/// was in flight then).
extension PostgresReportStore: ArrivalLog {
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
    let end = try await settledArrivalEnd()
    guard end > afterSequence else { return [] }
    let logger = self.logger
    return try await read("reading the arrival log after \(afterSequence)") { db in
      let rows = try await db.rows(
        """
        SELECT e.sequence, e.round_clock_at, e.step_id AS event_step_id, r.report_year AS step_year,
          r.state AS step_state, r.kind AS step_kind, r.applied_at AS step_applied_at, r.addressed AS step_addressed,
          \(unescaped: PostgresRows.receiptColumns), s.received_at AS stored_at
        FROM arrival_events e
        LEFT JOIN submissions s ON s.id = e.submission_row_id
        LEFT JOIN submissions o ON o.id = s.duplicate_of
        LEFT JOIN round_steps r ON r.step_id = e.step_id
        WHERE e.sequence > \(afterSequence) AND e.sequence <= \(end)
          AND (\(reportYear)::integer IS NULL OR coalesce(s.report_year, r.report_year) = \(reportYear))
          AND (\(reporterCode)::text IS NULL OR e.step_id IS NOT NULL OR s.reporter_code = \(reporterCode))
          AND (NOT \(stepsOnly) OR e.step_id IS NOT NULL)
        ORDER BY e.sequence LIMIT \(limit)
        """, logger)
      var entries: [ArrivalLogEntry] = []
      for row in rows {
        let sequence: Int64 = try row.get("sequence")
        let roundClock: Int64? = try row.get("round_clock_at")
        if let stepId = try row.get("event_step_id", as: String?.self) {
          let state = RoundRecord.State(rawValue: try row.get("step_state", as: String.self)) ?? .planned
          let addressedJSON: String = try row.get("step_addressed")
          let addressed = (try? JSONDecoder().decode([String].self, from: Data(addressedJSON.utf8))) ?? []
          entries.append(
            ArrivalLogEntry(
              sequence: sequence, storedAtMicros: try row.get("step_applied_at"), roundClockMicros: roundClock,
              roundStep: ArrivalLogRoundStep(
                stepId: stepId, reportYear: try row.get("step_year"),
                kind: ArrivalLogRoundStep.kind(recorded: try row.get("step_kind"), state: state, stepId: stepId),
                state: state, addressedReporters: addressed.count)))
        } else {
          entries.append(
            ArrivalLogEntry(
              sequence: sequence, storedAtMicros: try row.get("stored_at"), roundClockMicros: roundClock,
              receipt: try await PostgresRows.receipt(db, row, logger)))
        }
      }
      return entries
    }
  }

  public func lastArrivalSequence() async throws -> Int64 {
    try await settledArrivalEnd()
  }

  /// The highest event sequence below which every event is committed or rolled back.
  private func settledArrivalEnd() async throws -> Int64 {
    try await settledEnd(of: "arrival_events", column: "sequence", what: "the arrival log")
  }

  /// The highest value of `column` (taken from an identity sequence when a row of `table` is
  /// inserted) below which every row is committed or rolled back: the highest value visible in a
  /// snapshot, once every transaction in flight at that snapshot has ended (any transaction
  /// holding a lower value was in flight then). Waits (briefly, polling) for them. Only
  /// transactions on this database count (a snapshot lists the whole server's): another
  /// database's long transaction on a shared server does not hold the store back.
  /// (`pg_stat_activity.backend_xid` is visible to every role.)
  ///
  /// - Throws: ``StoreError`` `.unavailable` when one stays open for seconds (retry).
  func settledEnd(of table: String, column: String, what: String) async throws -> Int64 {
    let logger = self.logger
    let (snapshot, head) = try await read("reading the end of \(what)") { db in
      guard
        let row = try await db.row(
          PostgresQuery(
            unsafeSQL: "SELECT pg_current_snapshot()::text AS snapshot, "
              + "(SELECT coalesce(max(\(column)), 0) FROM \(table)) AS head"),
          logger)
      else { return ("", Int64(0)) }
      return (try row.get("snapshot", as: String.self), try row.get("head", as: Int64.self))
    }
    for attempt in 0..<200 {
      let inFlight = try await read("waiting for \(what) to settle") { db in
        try await db.row(
          """
          SELECT count(*) AS n FROM pg_snapshot_xip(\(snapshot)::pg_snapshot) AS x(xid)
          WHERE pg_xact_status(x.xid) = 'in progress'
            AND EXISTS (
              SELECT 1 FROM pg_stat_activity a
              WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL
                AND a.backend_xid::text::bigint = x.xid::text::bigint % 4294967296)
          """, logger
        )?.get("n", as: Int64.self) ?? 0
      }
      if inFlight == 0 { return head }
      try await Task.sleep(for: .milliseconds(attempt < 20 ? 1 : 10))
    }
    // A transaction stayed open for seconds: say so rather than skip or stall silently.
    throw StoreError(
      code: .unavailable,
      message: "\(what) is not settled: a transaction in flight at snapshot \(snapshot) is still open")
  }
}
