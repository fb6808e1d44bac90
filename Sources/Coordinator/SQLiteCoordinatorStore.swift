public import Foundation
public import HiTechDomain
import GRDB
public import Logging

/// The coordinator's embedded store: one SQLite file through a GRDB `DatabasePool` (WAL,
/// `synchronous = FULL`, foreign keys on). One daemon runs on it (its `.lock` file).
///
/// It keeps the rounds (schedule and state), every step (recorded, applied or skipped, with
/// what it did), the transitions (history), expert scores, the assessments, and an append-only
/// audit log. A step is recorded in the same transaction as the state change it makes, so a
/// crash leaves either neither or both; its effects run afterwards and are marked applied.
public final class SQLiteCoordinatorStore: CoordinatorStore {
  /// The database file.
  public let path: String
  public var location: String { "sqlite:" + path }
  let pool: DatabasePool
  let logger: Logger

  /// Opens (creating if needed) the store at `path` and brings its schema up to date.
  /// - Throws: ``CoordinatorError`` `.storage` naming the file when it cannot be opened or is damaged.
  public init(path: String, logger: Logger) throws {
    self.path = path
    self.logger = logger
    var configuration = GRDB.Configuration()
    configuration.label = "CoordinatorStore"
    configuration.foreignKeysEnabled = true
    configuration.busyMode = .timeout(5)
    do {
      pool = try DatabasePool(path: path, configuration: configuration)
    } catch {
      throw CoordinatorError(.storage, "cannot open the store \(path): \(error)")
    }
    do {
      // DatabasePool sets `synchronous = NORMAL` on its writer after WAL is on; FULL fsyncs
      // the WAL at every commit, so a recorded step survives a power cut. One writer
      // connection for the pool's whole life, so this holds.
      try pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = FULL")
        guard try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2 else {
          throw CoordinatorError(.storage, "SQLite refused PRAGMA synchronous = FULL on \(path)")
        }
      }
      let problems = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
      guard problems == ["ok"] else {
        throw CoordinatorError(.storage, "the store \(path) is damaged (quick_check: \(problems.prefix(3).joined(separator: "; ")))")
      }
      let migrator = CoordinatorSchema.migrator
      if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
        throw CoordinatorError(.storage, "the store \(path) was migrated by a newer version of this software; run that version")
      }
      try migrator.migrate(pool)
    } catch {
      try? pool.close()
      throw error as? CoordinatorError ?? CoordinatorError(.storage, "cannot open the store \(path): \(error)")
    }
  }

  /// Closes the file (after folding the WAL into it).
  public func close() async throws { try closeFile() }

  private func closeFile() throws {
    _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    try pool.close()
  }

  // MARK: - Rounds

  /// Adds the rounds of `schedules` not yet known (PLANNED) and updates the schedule of the
  /// others (steps already recorded keep their times). Returns the years added.
  @discardableResult
  public func plan(_ schedules: [RoundSchedule], at now: Date) async throws -> [Int] {
    try await write("planning rounds") { db in
      var added: [Int] = []
      for schedule in schedules {
        let json = try StoreCodec.encode(schedule)
        if let old = try String.fetchOne(db, sql: "SELECT schedule FROM rounds WHERE report_year = ?", arguments: [schedule.reportYear]) {
          guard old != json else { continue }
          try db.execute(
            sql: "UPDATE rounds SET schedule = ?, updated_at = ? WHERE report_year = ?",
            arguments: [json, StoreCodec.micros(now), schedule.reportYear])
          try Self.audit(db, at: now, actor: "coordinator", action: "round.reschedule", subject: "\(schedule.reportYear)", detail: json)
        } else {
          try db.execute(
            sql: "INSERT INTO rounds (report_year, state, schedule, created_at, updated_at) VALUES (?, 'planned', ?, ?, ?)",
            arguments: [schedule.reportYear, json, StoreCodec.micros(now), StoreCodec.micros(now)])
          try Self.audit(db, at: now, actor: "coordinator", action: "round.plan", subject: "\(schedule.reportYear)", detail: json)
          added.append(schedule.reportYear)
        }
      }
      return added
    }
  }

  /// Every round with its transitions and steps, by report year ascending.
  public func rounds() async throws -> [CoordinatorRound] {
    try await read("reading rounds") { db in
      try Int.fetchAll(db, sql: "SELECT report_year FROM rounds ORDER BY report_year").compactMap { try Self.round(db, $0) }
    }
  }

  /// The round of `reportYear`, or `nil`.
  public func round(_ reportYear: Int) async throws -> CoordinatorRound? {
    try await read("reading round \(reportYear)") { db in try Self.round(db, reportYear) }
  }

  // MARK: - Steps

  /// Records a step as pending and, for a transition, moves the round to its target state with
  /// a transition row, in one transaction; the round message the step will send is built from
  /// the round as it is after the change (`message`).
  ///
  /// - Throws: ``CoordinatorError`` `.aborted` when the round is not in `expectedState` or the
  ///   step id is already recorded (nothing changed); `.notFound` for an unknown round.
  public func record(
    _ step: CoordinatorStepRecord,
    at now: Date,
    message: @escaping @Sendable (CoordinatorRound) throws -> [UInt8]
  ) async throws -> RoundStep {
    try await write("recording step \(step.stepId)") { db in
      guard let round = try Self.round(db, step.reportYear) else {
        throw CoordinatorError(.notFound, "no round for report year \(step.reportYear)")
      }
      guard round.state == step.expectedState else {
        throw CoordinatorError(.aborted, "round \(step.reportYear) is \(round.state.rawValue), not \(step.expectedState.rawValue)")
      }
      guard round.step(step.stepId) == nil else {
        throw CoordinatorError(.aborted, "step \(step.stepId) is already recorded")
      }
      if let target = step.kind.targetState {
        try db.execute(
          sql: "UPDATE rounds SET state = ?, updated_at = ? WHERE report_year = ?",
          arguments: [target.rawValue, StoreCodec.micros(now), step.reportYear])
        try db.execute(
          sql: """
            INSERT INTO transitions (report_year, from_state, to_state, at, reason, actor, step_id)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
          arguments: [step.reportYear, round.state.rawValue, target.rawValue, StoreCodec.micros(now), step.reason, step.actor, step.stepId])
      }
      var detail = StepDetail()
      if step.caughtUp { detail.caughtUp = true }
      // The step row itself first (pending, no message), so that the message shows it.
      try db.execute(
        sql: """
          INSERT INTO steps (step_id, report_year, kind, reminder_offset, due_at, state, recorded_at, detail)
          VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)
          """,
        arguments: [step.stepId, step.reportYear, step.kind.rawValue, step.reminderOffset, StoreCodec.micros(step.dueAt),
                    StoreCodec.micros(now), try StoreCodec.encode(detail)])
      let after = try Self.round(db, step.reportYear)!
      let bytes = try message(after)
      try db.execute(sql: "UPDATE steps SET round = ? WHERE step_id = ?", arguments: [Data(bytes), step.stepId])
      try Self.audit(
        db, at: now, actor: step.actor, action: "step.record", subject: step.stepId,
        detail: step.kind.targetState.map { "\(round.state.rawValue) → \($0.rawValue): \(step.reason)" } ?? step.reason)
      return try Self.round(db, step.reportYear)!.step(step.stepId)!
    }
  }

  /// Records a step as skipped (never driven), with the reason.
  public func recordSkipped(
    reportYear: Int, kind: StepKind, reminderOffset: Int64?, dueAt: Date, reason: String, at now: Date
  ) async throws {
    let id = RoundStep.id(reportYear: reportYear, kind: kind, reminderOffset: reminderOffset)
    var detail = StepDetail()
    detail.skippedReason = reason
    let json = try StoreCodec.encode(detail)
    try await write("recording skipped step \(id)") { db in
      try db.execute(
        sql: """
          INSERT INTO steps (step_id, report_year, kind, reminder_offset, due_at, state, recorded_at, detail)
          VALUES (?, ?, ?, ?, ?, 'skipped', ?, ?)
          """,
        arguments: [id, reportYear, kind.rawValue, reminderOffset, StoreCodec.micros(dueAt), StoreCodec.micros(now), json])
      try Self.audit(db, at: now, actor: "coordinator", action: "step.skip", subject: id, detail: reason)
    }
  }

  /// The steps recorded but not yet applied, in the order they were recorded.
  public func pendingSteps() async throws -> [RoundStep] {
    try await read("reading pending steps") { db in
      try Row.fetchAll(db, sql: "SELECT * FROM steps WHERE state = 'pending' ORDER BY seq").map(Self.step)
    }
  }

  /// Marks a pending step applied, with what it did.
  public func markApplied(_ stepId: String, detail: StepDetail, at now: Date) async throws {
    let json = try StoreCodec.encode(detail)
    try await write("marking step \(stepId) applied") { db in
      try db.execute(
        sql: "UPDATE steps SET state = 'applied', applied_at = ?, detail = ? WHERE step_id = ? AND state = 'pending'",
        arguments: [StoreCodec.micros(now), json, stepId])
      guard db.changesCount == 1 else {
        throw CoordinatorError(.failedPrecondition, "step \(stepId) is not pending")
      }
      try Self.audit(db, at: now, actor: "coordinator", action: "step.apply", subject: stepId, detail: json)
    }
  }

  // MARK: - Assessments and expert scores

  /// Stores a round's results (JSON) once; a second call for the year keeps the first.
  /// Returns the stored results and when they were computed.
  public func saveAssessment(reportYear: Int, results: [UInt8], stepId: String, at now: Date) async throws -> (results: [UInt8], assessedAt: Date) {
    try await write("storing the assessment of \(reportYear)") { db in
      try db.execute(
        sql: "INSERT OR IGNORE INTO assessments (report_year, results, assessed_at, step_id) VALUES (?, ?, ?, ?)",
        arguments: [reportYear, String(decoding: results, as: UTF8.self), StoreCodec.micros(now), stepId])
      if db.changesCount == 1 {
        try Self.audit(db, at: now, actor: "coordinator", action: "assessment.store", subject: "\(reportYear)", detail: "")
      }
      return try Self.assessment(db, reportYear)!
    }
  }

  /// The stored results (JSON) of a round, or `nil` before it is assessed.
  public func assessment(_ reportYear: Int) async throws -> (results: [UInt8], assessedAt: Date)? {
    try await read("reading the assessment of \(reportYear)") { db in try Self.assessment(db, reportYear) }
  }

  /// Records (or replaces) one expert's score of one base, until the round is assessed.
  public func recordExpertScore(
    reportYear: Int, baseId: String, expertId: String, scoreMilli: Int64, comment: String, actor: String, at now: Date
  ) async throws {
    guard !baseId.isEmpty else { throw CoordinatorError(.invalidArgument, "baseId: required") }
    guard !expertId.isEmpty else { throw CoordinatorError(.invalidArgument, "expertId: required") }
    guard (0...100_000).contains(scoreMilli) else {
      throw CoordinatorError(.invalidArgument, "scoreMilli: must be 0...100000 (thousandths of a point), got \(scoreMilli)")
    }
    try await write("recording an expert score") { db in
      guard let state = try String.fetchOne(db, sql: "SELECT state FROM rounds WHERE report_year = ?", arguments: [reportYear])
        .flatMap(RoundState.init(rawValue:))
      else { throw CoordinatorError(.notFound, "no round for report year \(reportYear)") }
      guard state < .assessed else {
        throw CoordinatorError(.failedPrecondition, "round \(reportYear) is \(state.rawValue): expert scores are taken until it is assessed")
      }
      try db.execute(
        sql: """
          INSERT INTO expert_scores (report_year, base_id, expert_id, score_milli, comment, recorded_at, actor)
          VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (report_year, base_id, expert_id) DO UPDATE SET
            score_milli = excluded.score_milli, comment = excluded.comment,
            recorded_at = excluded.recorded_at, actor = excluded.actor
          """,
        arguments: [reportYear, baseId, expertId, scoreMilli, comment, StoreCodec.micros(now), actor])
      try Self.audit(
        db, at: now, actor: actor, action: "expert_score.record", subject: "\(reportYear)/\(baseId)/\(expertId)",
        detail: "\(scoreMilli)")
    }
  }

  /// The expert scores of a round as the assessment takes them, by base and expert.
  public func expertScores(_ reportYear: Int) async throws -> [(baseId: String, expertId: String, scoreMilli: Int64, comment: String)] {
    try await read("reading expert scores") { db in
      try Row.fetchAll(
        db, sql: "SELECT * FROM expert_scores WHERE report_year = ? ORDER BY base_id, expert_id", arguments: [reportYear]
      ).map { ($0["base_id"], $0["expert_id"], $0["score_milli"], $0["comment"]) }
    }
  }

  /// The newest audit entries first.
  public func audit(limit: Int = 50) async throws -> [CoordinatorAuditEntry] {
    try await read("reading the audit log") { db in
      try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
        CoordinatorAuditEntry(at: StoreCodec.date($0["at"]), actor: $0["actor"], action: $0["action"], subject: $0["subject"], detail: $0["detail"])
      }
    }
  }

  /// Writes an audit entry of its own (an operator's action that changed nothing else).
  public func appendAudit(actor: String, action: String, subject: String, detail: String, at now: Date) async throws {
    try await write("writing the audit log") { db in
      try Self.audit(db, at: now, actor: actor, action: action, subject: subject, detail: detail)
    }
  }

  // MARK: - Rows

  static func round(_ db: Database, _ year: Int) throws -> CoordinatorRound? {
    guard let row = try Row.fetchOne(db, sql: "SELECT * FROM rounds WHERE report_year = ?", arguments: [year]) else { return nil }
    let transitions = try Row.fetchAll(db, sql: "SELECT * FROM transitions WHERE report_year = ? ORDER BY id", arguments: [year]).map {
      RoundTransitionRecord(
        reportYear: year, from: RoundState(rawValue: $0["from_state"]) ?? .planned, to: RoundState(rawValue: $0["to_state"]) ?? .planned,
        at: StoreCodec.date($0["at"]), reason: $0["reason"], actor: $0["actor"], stepId: $0["step_id"])
    }
    let steps = try Row.fetchAll(db, sql: "SELECT * FROM steps WHERE report_year = ? ORDER BY seq", arguments: [year]).map(step)
    let scheduleJSON: String = row["schedule"]
    return CoordinatorRound(
      reportYear: year,
      state: RoundState(rawValue: row["state"]) ?? .planned,
      schedule: try StoreCodec.decoder().decode(RoundSchedule.self, from: Data(scheduleJSON.utf8)),
      transitions: transitions,
      steps: steps)
  }

  static func step(_ row: Row) throws -> RoundStep {
    let detailJSON: String = row["detail"]
    let message: Data? = row["round"]
    return RoundStep(
      id: row["step_id"],
      reportYear: row["report_year"],
      kind: StepKind(rawValue: row["kind"]) ?? .reminder,
      reminderOffset: row["reminder_offset"],
      dueAt: StoreCodec.date(row["due_at"]),
      state: StepState(rawValue: row["state"]) ?? .pending,
      recordedAt: StoreCodec.date(row["recorded_at"]),
      appliedAt: (row["applied_at"] as Int64?).map(StoreCodec.date),
      detail: try StoreCodec.decoder().decode(StepDetail.self, from: Data(detailJSON.utf8)),
      roundMessage: message.map { [UInt8]($0) })
  }

  static func assessment(_ db: Database, _ year: Int) throws -> (results: [UInt8], assessedAt: Date)? {
    guard let row = try Row.fetchOne(db, sql: "SELECT results, assessed_at FROM assessments WHERE report_year = ?", arguments: [year])
    else { return nil }
    let results: String = row["results"]
    return (Array(results.utf8), StoreCodec.date(row["assessed_at"]))
  }

  static func audit(_ db: Database, at: Date, actor: String, action: String, subject: String, detail: String) throws {
    try db.execute(
      sql: "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
      arguments: [StoreCodec.micros(at), actor, action, subject, detail])
  }

  func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    do {
      return try await pool.read(body)
    } catch let error as CoordinatorError {
      throw error
    } catch {
      throw CoordinatorError(.storage, "\(what) in \(path): \(error)")
    }
  }

  func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    do {
      return try await pool.write(body)
    } catch let error as CoordinatorError {
      throw error
    } catch {
      throw CoordinatorError(.storage, "\(what) in \(path): \(error)")
    }
  }
}
