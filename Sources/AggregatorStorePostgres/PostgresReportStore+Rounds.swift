import AggregatorStore
import Foundation
import PostgresNIO

/// Rounds, round steps and notices.
extension PostgresReportStore: RoundStore {
  /// Serialises round steps across aggregators (a transaction-level advisory lock): notices get
  /// their sequences and commit in the same order, so a reader polling by sequence misses none.
  static let roundStepLockKey: Int64 = 0x6869_7465_6368_0002

  public func setRound(_ round: RoundRecord, actor: String) async throws {
    let now = configuration.nowMicros()
    let logger = self.logger
    try await write("recording the round of \(round.reportYear)") { db in
      let previous = try await db.row(
        "SELECT state, late_policy FROM rounds WHERE report_year = \(round.reportYear) FOR UPDATE", logger)
      try await db.run(
        """
        INSERT INTO rounds (report_year, state, late_policy, opens_at, deadline, updated_at)
        VALUES (\(round.reportYear), \(round.state.rawValue), \(round.latePolicy.rawValue),
          \(round.opensAtMicros), \(round.deadlineMicros), \(now))
        ON CONFLICT (report_year) DO UPDATE SET
          state = excluded.state, late_policy = excluded.late_policy,
          opens_at = excluded.opens_at, deadline = excluded.deadline, updated_at = excluded.updated_at
        """, logger)
      let from = try previous.map {
        "\(try $0.get("state", as: String.self)) (\(try $0.get("late_policy", as: String.self)))"
      } ?? "none"
      try await PostgresRows.appendAudit(
        db, at: now, actor: actor, action: "round.set", subject: String(round.reportYear),
        detail: "\(from) -> \(round.state.rawValue) (\(round.latePolicy.rawValue))", logger)
    }
  }

  public func round(reportYear: Int) async throws -> RoundRecord? {
    let logger = self.logger
    return try await read("reading the round of \(reportYear)") { db in
      try await db.row("SELECT * FROM rounds WHERE report_year = \(reportYear)", logger).map(PostgresRows.round)
    }
  }

  public func rounds() async throws -> [RoundRecord] {
    let logger = self.logger
    return try await read("listing rounds") { db in
      try await db.rows("SELECT * FROM rounds ORDER BY report_year DESC", logger).map(PostgresRows.round)
    }
  }

  public func roundDetail(reportYear: Int) async throws -> [UInt8]? {
    let logger = self.logger
    return try await read("reading the round of \(reportYear)") { db in
      try await db.row("SELECT detail FROM rounds WHERE report_year = \(reportYear)", logger)?
        .get("detail", as: Data?.self).map { [UInt8]($0) }
    }
  }

  public func applyRoundStep(
    stepId: String,
    round: RoundRecord,
    roundDetail: [UInt8],
    actor: String,
    mark: RoundStepMark,
    makeNotices: @escaping @Sendable (RoundStepSnapshot) throws -> [OutgoingNotice]
  ) async throws -> AppliedRoundStep {
    let now = configuration.nowMicros()
    let logger = self.logger
    return try await write("applying round step \(stepId)") { db in
      try await db.run("SELECT pg_advisory_xact_lock(\(Self.roundStepLockKey))", logger)
      if let row = try await db.row("SELECT * FROM round_steps WHERE step_id = \(stepId)", logger) {
        let addressed: String = try row.get("addressed")
        return AppliedRoundStep(
          stepId: stepId,
          reportYear: try row.get("report_year"),
          alreadyApplied: true,
          appliedAtMicros: try row.get("applied_at"),
          addressedReporterCodes: (try? JSONDecoder().decode([String].self, from: Data(addressed.utf8))) ?? [],
          firstSequence: try row.get("first_sequence"),
          lastSequence: try row.get("last_sequence"))
      }
      let previous = try await db.row(
        "SELECT state FROM rounds WHERE report_year = \(round.reportYear) FOR UPDATE", logger)?.get("state", as: String.self)
      if let previous, let currentState = RoundRecord.State(rawValue: previous), currentState.order > round.state.order {
        throw StoreError(
          code: .failedPrecondition,
          message: "state: the round of \(round.reportYear) is \(currentState.rawValue) and cannot move back to \(round.state.rawValue)")
      }
      try await db.run(
        """
        INSERT INTO rounds (report_year, state, late_policy, opens_at, deadline, updated_at, detail)
        VALUES (\(round.reportYear), \(round.state.rawValue), \(round.latePolicy.rawValue),
          \(round.opensAtMicros), \(round.deadlineMicros), \(now), \(Data(roundDetail)))
        ON CONFLICT (report_year) DO UPDATE SET
          state = excluded.state, late_policy = excluded.late_policy, opens_at = excluded.opens_at,
          deadline = excluded.deadline, updated_at = excluded.updated_at, detail = excluded.detail
        """, logger)

      var expected: [BaseRecord] = []
      for row in try await db.rows(
        """
        SELECT * FROM bases WHERE status = 'active' AND first_report_year <= \(round.reportYear)
        ORDER BY reporter_code, base_id
        """, logger)
      {
        expected.append(try await PostgresRows.base(db, row, logger))
      }
      let snapshot = RoundStepSnapshot(
        status: try await Self.arrival(db, reportYear: round.reportYear, reporterCode: nil, logger),
        expectedBases: expected)
      let notices = try makeNotices(snapshot)

      var first: Int64 = 0
      var last: Int64 = 0
      for notice in notices {
        last = try await db.row(
          """
          INSERT INTO round_notices (reporter_code, report_year, step_id, issued_at, notice)
          VALUES (\(notice.reporterCode), \(round.reportYear), \(stepId), \(now), \(Data(notice.bytes)))
          RETURNING sequence
          """, logger)?.get("sequence", as: Int64.self) ?? 0
        if first == 0 { first = last }
      }
      let addressed = Array(Set(notices.map(\.reporterCode))).sorted()
      let addressedJSON = String(decoding: try JSONEncoder().encode(addressed), as: UTF8.self)
      try await db.run(
        """
        INSERT INTO round_steps (step_id, report_year, state, applied_at, actor, addressed, first_sequence, last_sequence,
          kind, calendar_at, calendar_speed)
        VALUES (\(stepId), \(round.reportYear), \(round.state.rawValue), \(now), \(actor), \(addressedJSON), \(first), \(last),
          \(mark.kind?.rawValue ?? ""), \(mark.calendarAtMicros), \(mark.calendarSpeed))
        """, logger)
      try await PostgresRows.appendAudit(
        db, at: now, actor: actor, action: "round.step", subject: stepId,
        detail: "\(previous ?? "none") -> \(round.state.rawValue) (\(round.latePolicy.rawValue)); notices \(notices.count)",
        logger)
      return AppliedRoundStep(
        stepId: stepId, reportYear: round.reportYear, alreadyApplied: false, appliedAtMicros: now,
        addressedReporterCodes: addressed, firstSequence: first, lastSequence: last)
    }
  }

  public func notices(
    reporterCode: String, afterSequence: Int64, reportYears: [Int], limit: Int
  ) async throws -> [StoredNotice] {
    let logger = self.logger
    let years = reportYears.map { Int64($0) }
    return try await read("reading the notices of \(reporterCode)") { db in
      try await db.rows(
        """
        SELECT * FROM round_notices
        WHERE reporter_code = \(reporterCode) AND sequence > \(afterSequence)
          AND (cardinality(\(years)::bigint[]) = 0 OR report_year = ANY(\(years)::bigint[]))
        ORDER BY sequence LIMIT \(max(0, limit))
        """, logger
      ).map { row in
        StoredNotice(
          sequence: try row.get("sequence"), reporterCode: try row.get("reporter_code"),
          reportYear: try row.get("report_year"), stepId: try row.get("step_id"),
          issuedAtMicros: try row.get("issued_at"), bytes: try row.bytes("notice"))
      }
    }
  }

  public func lastNoticeSequence() async throws -> Int64 {
    let logger = self.logger
    return try await read("reading the last notice sequence") { db in
      try await db.row("SELECT COALESCE(MAX(sequence), 0) AS last FROM round_notices", logger)?.get("last", as: Int64.self) ?? 0
    }
  }
}
