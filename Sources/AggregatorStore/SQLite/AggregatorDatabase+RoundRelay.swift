import Foundation
import GRDB

extension AggregatorDatabase {
  // MARK: Principal keys

  /// Registers the key of the coordinator or of an operator. Registering the same key with the
  /// same role and name again does nothing.
  ///
  /// - Throws: ``StoreError`` `.invalidArgument` for a key that is not 40 Z85 characters or a
  ///   name that is empty or contains ":"; `.alreadyExists` when the key is a reporter's, another
  ///   principal's, or retired.
  public func registerPrincipalKey(
    _ publicKeyZ85: String, role: PrincipalKeyRecord.Role, name: String, comment: String = "", actor: String
  ) async throws {
    guard Self.isZ85Key(publicKeyZ85) else {
      throw StoreError(
        code: .invalidArgument,
        message: "a CurveZMQ public key is 40 Z85 characters; got \(publicKeyZ85.count) characters")
    }
    guard !name.isEmpty, !name.contains(":") else {
      throw StoreError(code: .invalidArgument, message: "name: a principal's name is not empty and has no ':' (got \"\(name)\")")
    }
    let now = configuration.nowMicros()
    try await write("registering the key of \(role.rawValue) \(name)") { db in
      if let owner = try String.fetchOne(
        db, sql: "SELECT reporter_code FROM reporter_keys WHERE public_key_z85 = ?", arguments: [publicKeyZ85])
      {
        throw StoreError(code: .alreadyExists, message: "key \(publicKeyZ85) is registered to reporter \(owner)")
      }
      if let row = try Row.fetchOne(
        db, sql: "SELECT * FROM principal_keys WHERE public_key_z85 = ?", arguments: [publicKeyZ85])
      {
        let key = Self.principalKey(row)
        if key.role != role || key.name != name {
          throw StoreError(code: .alreadyExists, message: "key \(publicKeyZ85) is registered to \(key.identity)")
        }
        if !key.isActive {
          throw StoreError(
            code: .alreadyExists,
            message: "key \(publicKeyZ85) of \(key.identity) was retired; a retired key is never reinstated, make a new one")
        }
        return
      }
      try db.execute(
        sql: "INSERT INTO principal_keys (public_key_z85, role, name, comment, registered_at) VALUES (?, ?, ?, ?, ?)",
        arguments: [publicKeyZ85, role.rawValue, name, comment, now])
      try Rows.appendAudit(
        db, at: now, actor: actor, action: "key.register", subject: publicKeyZ85,
        detail: "\(role.rawValue) \(name)\(comment.isEmpty ? "" : ": \(comment)")")
    }
  }

  /// Keys of central principals, ordered by role, name, registration time.
  public func principalKeys(includeRetired: Bool = true) async throws -> [PrincipalKeyRecord] {
    try await read("listing principal keys") { db in
      try Row.fetchAll(
        db,
        sql: "SELECT * FROM principal_keys \(includeRetired ? "" : "WHERE retired_at IS NULL") ORDER BY role, name, registered_at"
      ).map(Self.principalKey)
    }
  }

  static func principalKey(_ row: Row) -> PrincipalKeyRecord {
    PrincipalKeyRecord(
      publicKeyZ85: row["public_key_z85"],
      role: PrincipalKeyRecord.Role(rawValue: row["role"]) ?? .operator,
      name: row["name"],
      comment: row["comment"],
      registeredAtMicros: row["registered_at"],
      retiredAtMicros: row["retired_at"])
  }

  // MARK: Round steps

  /// Applies one step of a round, in one transaction: records the round's new state (which
  /// admission reads from then on) and the notices `makeNotices` addresses from a snapshot of
  /// the registry and arrivals taken in the same transaction.
  ///
  /// Idempotent by `stepId`: a step applied before changes nothing and returns its first
  /// answer with `alreadyApplied`.
  ///
  /// - Throws: ``StoreError`` `.failedPrecondition` when the round would move backwards.
  public func applyRoundStep(
    stepId: String,
    round: RoundRecord,
    roundDetail: [UInt8],
    actor: String,
    mark: RoundStepMark,
    makeNotices: @escaping @Sendable (RoundStepSnapshot) throws -> [OutgoingNotice]
  ) async throws -> AppliedRoundStep {
    let now = configuration.nowMicros()
    return try await write("applying round step \(stepId)") { db in
      if let row = try Row.fetchOne(db, sql: "SELECT * FROM round_steps WHERE step_id = ?", arguments: [stepId]) {
        return AppliedRoundStep(
          stepId: stepId,
          reportYear: row["report_year"],
          alreadyApplied: true,
          appliedAtMicros: row["applied_at"],
          addressedReporterCodes: (try? JSONDecoder().decode([String].self, from: Data((row["addressed"] as String).utf8))) ?? [],
          firstSequence: row["first_sequence"],
          lastSequence: row["last_sequence"])
      }
      let previous = try String.fetchOne(
        db, sql: "SELECT state FROM rounds WHERE report_year = ?", arguments: [round.reportYear])
      if let previous, let currentState = RoundRecord.State(rawValue: previous),
        Self.order(currentState) > Self.order(round.state)
      {
        throw StoreError(
          code: .failedPrecondition,
          message: "state: the round of \(round.reportYear) is \(currentState.rawValue) and cannot move back to \(round.state.rawValue)")
      }
      try db.execute(
        sql: """
          INSERT INTO rounds (report_year, state, late_policy, opens_at, deadline, updated_at, detail)
          VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (report_year) DO UPDATE SET
            state = excluded.state, late_policy = excluded.late_policy, opens_at = excluded.opens_at,
            deadline = excluded.deadline, updated_at = excluded.updated_at, detail = excluded.detail
          """,
        arguments: [
          round.reportYear, round.state.rawValue, round.latePolicy.rawValue,
          round.opensAtMicros, round.deadlineMicros, now, Data(roundDetail),
        ])

      let snapshot = RoundStepSnapshot(
        status: try Self.arrival(db, reportYear: round.reportYear, reporterCode: nil),
        expectedBases: try Row.fetchAll(
          db,
          sql: """
            SELECT * FROM bases WHERE status = 'active' AND first_report_year <= ?
            ORDER BY reporter_code, base_id
            """,
          arguments: [round.reportYear]
        ).map { try Rows.base(db, $0) })
      let notices = try makeNotices(snapshot)

      var first: Int64 = 0
      var last: Int64 = 0
      for notice in notices {
        try db.execute(
          sql: """
            INSERT INTO round_notices (reporter_code, report_year, step_id, issued_at, notice)
            VALUES (?, ?, ?, ?, ?)
            """,
          arguments: [notice.reporterCode, round.reportYear, stepId, now, Data(notice.bytes)])
        last = db.lastInsertedRowID
        if first == 0 { first = last }
      }
      let addressed = Array(Set(notices.map(\.reporterCode))).sorted()
      // The step row comes last: it carries the sequence range (the notices' foreign key to it
      // is checked at commit).
      try db.execute(
        sql: """
          INSERT INTO round_steps (step_id, report_year, state, applied_at, actor, addressed, first_sequence, last_sequence,
            kind, calendar_at, calendar_speed)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          stepId, round.reportYear, round.state.rawValue, now, actor,
          String(decoding: try JSONEncoder().encode(addressed), as: UTF8.self), first, last,
          mark.kind?.rawValue ?? "", mark.calendarAtMicros, mark.calendarSpeed,
        ])
      try Rows.appendAudit(
        db, at: now, actor: actor, action: "round.step", subject: stepId,
        detail: "\(previous ?? "none") -> \(round.state.rawValue) (\(round.latePolicy.rawValue)); notices \(notices.count)")
      return AppliedRoundStep(
        stepId: stepId, reportYear: round.reportYear, alreadyApplied: false, appliedAtMicros: now,
        addressedReporterCodes: addressed, firstSequence: first, lastSequence: last)
    }
  }

  /// Notices addressed to `reporterCode` with a sequence above `afterSequence`, oldest first,
  /// of the given report years (all when empty), at most `limit`.
  public func notices(
    reporterCode: String, afterSequence: Int64, reportYears: [Int] = [], limit: Int = 500
  ) async throws -> [StoredNotice] {
    try await read("reading the notices of \(reporterCode)") { db in
      var sql = "SELECT * FROM round_notices WHERE reporter_code = ? AND sequence > ?"
      var arguments: StatementArguments = [reporterCode, afterSequence]
      if !reportYears.isEmpty {
        sql += " AND report_year IN (\(reportYears.map { _ in "?" }.joined(separator: ",")))"
        for year in reportYears { arguments += [year] }
      }
      sql += " ORDER BY sequence LIMIT ?"
      arguments += [limit]
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
        StoredNotice(
          sequence: row["sequence"], reporterCode: row["reporter_code"], reportYear: row["report_year"],
          stepId: row["step_id"], issuedAtMicros: row["issued_at"], bytes: [UInt8](row["notice"] as Data))
      }
    }
  }

  /// The highest notice sequence ever issued (0 when none).
  public func lastNoticeSequence() async throws -> Int64 {
    try await read("reading the last notice sequence") { db in
      // AUTOINCREMENT keeps the high-water mark in sqlite_sequence even across deletions.
      try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'round_notices'") ?? 0
    }
  }

  /// The full round as the coordinator last sent it (serialized `ndrc.hitech.v1.Round`), if any.
  public func roundDetail(reportYear: Int) async throws -> [UInt8]? {
    try await read("reading the round of \(reportYear)") { db in
      try Data.fetchOne(db, sql: "SELECT detail FROM rounds WHERE report_year = ?", arguments: [reportYear]).map { [UInt8]($0) }
    }
  }

  static func order(_ state: RoundRecord.State) -> Int { state.order }
}
