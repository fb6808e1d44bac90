import AggregatorStore
import Foundation
import Logging
import PostgresNIO

/// The arrival log. Row ids come from an identity sequence, taken when a row is inserted, so
/// transactions of several aggregators (or of one aggregator's concurrent batches) may commit
/// out of row-id order: a row id may be visible while a lower one is still in flight. The
/// settled end is therefore the highest row id visible in a snapshot once every transaction in
/// flight at that snapshot has ended (any transaction holding a lower id was in flight then).
extension PostgresReportStore: ArrivalLog {
  public func arrivals(
    afterSequence: Int64, reportYear: Int?, reporterCode: String?, limit: Int
  ) async throws -> [ArrivalLogEntry] {
    let limit = min(max(limit, 1), 1000)
    let end = try await settledArrivalEnd()
    guard end > afterSequence else { return [] }
    let logger = self.logger
    return try await read("reading the arrival log after \(afterSequence)") { db in
      let rows = try await db.rows(
        """
        SELECT \(unescaped: PostgresRows.receiptColumns), s.received_at AS stored_at
        FROM \(unescaped: PostgresRows.receiptFrom)
        WHERE s.id > \(afterSequence) AND s.id <= \(end)
          AND (\(reportYear)::integer IS NULL OR s.report_year = \(reportYear))
          AND (\(reporterCode)::text IS NULL OR s.reporter_code = \(reporterCode))
        ORDER BY s.id LIMIT \(limit)
        """, logger)
      var entries: [ArrivalLogEntry] = []
      for row in rows {
        entries.append(
          ArrivalLogEntry(
            sequence: try row.get("row_id"), storedAtMicros: try row.get("stored_at"),
            receipt: try await PostgresRows.receipt(db, row, logger)))
      }
      return entries
    }
  }

  public func lastArrivalSequence() async throws -> Int64 {
    try await settledArrivalEnd()
  }

  /// The highest submission row id below which every row is committed or rolled back. Waits
  /// (briefly, polling) for the transactions in flight at the snapshot to end.
  ///
  /// - Throws: ``StoreError`` `.unavailable` when one stays open for seconds (retry).
  private func settledArrivalEnd() async throws -> Int64 {
    let logger = self.logger
    let (snapshot, head) = try await read("reading the end of the arrival log") { db in
      guard
        let row = try await db.row(
          "SELECT pg_current_snapshot()::text AS snapshot, (SELECT coalesce(max(id), 0) FROM submissions) AS head",
          logger)
      else { return ("", Int64(0)) }
      return (try row.get("snapshot", as: String.self), try row.get("head", as: Int64.self))
    }
    for attempt in 0..<200 {
      let inFlight = try await read("waiting for the arrival log to settle") { db in
        try await db.row(
          """
          SELECT count(*) AS n FROM pg_snapshot_xip(\(snapshot)::pg_snapshot) AS x(xid)
          WHERE pg_xact_status(x.xid) = 'in progress'
          """, logger
        )?.get("n", as: Int64.self) ?? 0
      }
      if inFlight == 0 { return head }
      try await Task.sleep(for: .milliseconds(attempt < 20 ? 1 : 10))
    }
    // A transaction stayed open for seconds: say so rather than skip or stall silently.
    throw StoreError(
      code: .unavailable,
      message: "the arrival log is not settled: a transaction in flight at snapshot \(snapshot) is still open")
  }
}
