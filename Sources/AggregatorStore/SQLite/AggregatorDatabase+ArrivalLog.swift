import GRDB

/// The arrival log. SQLite has one writer, and row ids are assigned in commit order, so every
/// committed row is settled.
extension AggregatorDatabase: ArrivalLog {
  public func arrivals(
    afterSequence: Int64, reportYear: Int?, reporterCode: String?, limit: Int
  ) async throws -> [ArrivalLogEntry] {
    let limit = min(max(limit, 1), 1000)
    return try await read("reading the arrival log after \(afterSequence)") { db in
      var sql = "SELECT \(Rows.receiptColumns), s.received_at AS stored_at FROM \(Rows.receiptFrom) WHERE s.id > ?"
      var arguments: StatementArguments = [afterSequence]
      if let reportYear {
        sql += " AND s.report_year = ?"
        arguments += [reportYear]
      }
      if let reporterCode {
        sql += " AND s.reporter_code = ?"
        arguments += [reporterCode]
      }
      sql += " ORDER BY s.id LIMIT ?"
      arguments += [limit]
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
        ArrivalLogEntry(sequence: row["row_id"], storedAtMicros: row["stored_at"], receipt: try Rows.receipt(db, row))
      }
    }
  }

  public func lastArrivalSequence() async throws -> Int64 {
    try await read("reading the end of the arrival log") { db in
      try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM submissions") ?? 0
    }
  }
}
