import GRDB

extension AggregatorDatabase {
  /// Records a round's state (new or changed), with an audit entry naming the change.
  public func setRound(_ round: RoundRecord, actor: String) async throws {
    let now = configuration.nowMicros()
    try await write("recording the round of \(round.reportYear)") { db in
      let previous = try Row.fetchOne(
        db, sql: "SELECT state, late_policy FROM rounds WHERE report_year = ?", arguments: [round.reportYear])
      try db.execute(
        sql: """
          INSERT INTO rounds (report_year, state, late_policy, opens_at, deadline, updated_at)
          VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (report_year) DO UPDATE SET
            state = excluded.state, late_policy = excluded.late_policy,
            opens_at = excluded.opens_at, deadline = excluded.deadline, updated_at = excluded.updated_at
          """,
        arguments: [
          round.reportYear, round.state.rawValue, round.latePolicy.rawValue,
          round.opensAtMicros, round.deadlineMicros, now,
        ])
      let from = previous.map { "\($0["state"] as String) (\($0["late_policy"] as String))" } ?? "none"
      try Rows.appendAudit(
        db, at: now, actor: actor, action: "round.set", subject: String(round.reportYear),
        detail: "\(from) -> \(round.state.rawValue) (\(round.latePolicy.rawValue))")
    }
  }

  /// The round of a report year, if one was recorded.
  public func round(reportYear: Int) async throws -> RoundRecord? {
    try await read("reading the round of \(reportYear)") { db in
      try Row.fetchOne(db, sql: "SELECT * FROM rounds WHERE report_year = ?", arguments: [reportYear])
        .map(Self.roundRecord)
    }
  }

  /// The base, the round of `reportYear` and the base's report for the year before, in one
  /// read transaction (one trip to the reader pool per submission).
  public func submissionContext(baseId: String, reportYear: Int) async throws -> SubmissionContext {
    try await read("reading the context of \(baseId) for \(reportYear)") { db in
      SubmissionContext(
        base: try Row.fetchOne(db, sql: "SELECT * FROM bases WHERE base_id = ?", arguments: [baseId]).map {
          try Rows.base(db, $0)
        },
        round: try Row.fetchOne(db, sql: "SELECT * FROM rounds WHERE report_year = ?", arguments: [reportYear])
          .map(Self.roundRecord),
        previousYearReport: try Self.reports(db, baseId: baseId, reportYear: reportYear - 1, latestOnly: true).first
      )
    }
  }

  /// Every recorded round, newest year first.
  public func rounds() async throws -> [RoundRecord] {
    try await read("listing rounds") { db in
      try Row.fetchAll(db, sql: "SELECT * FROM rounds ORDER BY report_year DESC").map(Self.roundRecord)
    }
  }

  static func roundRecord(_ row: Row) -> RoundRecord {
    RoundRecord(
      reportYear: row["report_year"],
      state: RoundRecord.State(rawValue: row["state"]) ?? .planned,
      latePolicy: RoundRecord.LatePolicy(rawValue: row["late_policy"]) ?? .refuse,
      opensAtMicros: row["opens_at"],
      deadlineMicros: row["deadline"],
      updatedAtMicros: row["updated_at"]
    )
  }
}
