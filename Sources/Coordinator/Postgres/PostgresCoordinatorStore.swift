import AggregatorStorePostgres
public import Foundation
import HiTechDomain
public import Logging
import PostgresNIO

/// The coordinator's store on PostgreSQL (postgres-nio): the same rounds, steps, transitions,
/// expert scores, assessments and audit log as ``SQLiteCoordinatorStore``, in tables of their
/// own (`coordinator_*`, migrations recorded in `hitech_coordinator_migrations`), so that the
/// coordinator may share the aggregators' database without touching their schema.
///
/// An active and a standby coordinator share it (see ``PostgresLeaderElection``). What keeps a
/// step from being taken twice is the database, not process memory:
/// - recording a step locks its round's row (`FOR UPDATE`) and checks the state and the step
///   id; `coordinator_steps.step_id` is unique; so of two coordinators recording the same step
///   one records it and the other gets `.aborted`;
/// - marking applied only changes a pending step, once;
/// - with a ``LeaderFence`` (the daemon's), every write of the calendar (planning, recording,
///   skipping, applying, storing an assessment) first checks, in its own transaction, that the
///   fence's session still holds the leadership lock; a coordinator whose lock session ended
///   (its connection lost, the server restarted) records and applies nothing more.
///
/// Every connection runs with `synchronous_commit = on`, so a step is recorded durably before
/// its effects run.
public final class PostgresCoordinatorStore: CoordinatorStore {
  public let url: PostgresStoreURL
  public var location: String { url.description }
  let fence: LeaderFence?
  let client: PostgresClient
  let logger: Logger
  private let runner: Task<Void, Never>

  /// True for a `postgres://` or `postgresql://` URL.
  public static func isPostgres(_ location: String) -> Bool { PostgresStoreURL.isPostgres(location) }

  private init(url: PostgresStoreURL, fence: LeaderFence?, client: PostgresClient, runner: Task<Void, Never>, logger: Logger) {
    self.url = url
    self.fence = fence
    self.client = client
    self.runner = runner
    self.logger = logger
  }

  /// Connects to the database `url` names, checks that commits are durable and brings the
  /// coordinator's tables up to date.
  /// - Throws: ``CoordinatorError`` `.storage` naming the database (without its password).
  public static func open(
    _ url: String, fence: LeaderFence? = nil, connectTimeoutSeconds: Double = 10, logger: Logger
  ) async throws -> PostgresCoordinatorStore {
    let parsed: PostgresStoreURL
    do {
      parsed = try PostgresStoreURL(url)
    } catch {
      throw CoordinatorError(.storage, "\(error)")
    }
    var configuration = parsed.clientConfiguration()
    configuration.options.maximumConnections = 4
    configuration.options.connectTimeout = .milliseconds(Int64(connectTimeoutSeconds * 1000))
    configuration.options.additionalStartupParameters = [
      ("synchronous_commit", "on"), ("application_name", "hitech-coordinator"),
    ]
    var background = logger
    background.logLevel = .error
    let client = PostgresClient(configuration: configuration, backgroundLogger: background)
    let runner = Task { await client.run() }
    let store = PostgresCoordinatorStore(url: parsed, fence: fence, client: client, runner: runner, logger: logger)
    do {
      try await store.prepare(timeoutSeconds: connectTimeoutSeconds)
    } catch {
      runner.cancel()
      await runner.value
      throw error
    }
    return store
  }

  private func prepare(timeoutSeconds: Double) async throws {
    let location = self.location
    let logger = self.logger
    do {
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          try await self.client.withConnection { db in
            for (setting, wanted) in [("synchronous_commit", "on"), ("fsync", "on")] {
              let value = try await db.row(PostgresQuery(unsafeSQL: "SHOW \(setting)"), logger)?.decode(column: 0, as: String.self) ?? "?"
              guard value == wanted else {
                throw CoordinatorError(
                  .storage,
                  "the database \(location) has \(setting) = \(value); the coordinator needs \(setting) = \(wanted) "
                    + "so that a recorded step survives a crash")
              }
            }
          }
        }
        group.addTask {
          try await Task.sleep(for: .milliseconds(Int64(timeoutSeconds * 1000)))
          throw CoordinatorError(
            .storage, "cannot reach the database \(location) within \(timeoutSeconds) s; check that the server runs and the URL")
        }
        try await group.next()
        group.cancelAll()
      }
      try await client.withConnection { db in
        try await PostgresCoordinatorSchema.migrate(db, location: location, logger: logger)
      }
    } catch {
      throw Self.storageError("opening the store", location: location, error)
    }
  }

  public func close() async throws {
    runner.cancel()
    await runner.value
  }

  // MARK: - Rounds

  @discardableResult
  public func plan(_ schedules: [RoundSchedule], at now: Date) async throws -> [Int] {
    let logger = self.logger
    return try await write("planning rounds", fenced: true) { db in
      var added: [Int] = []
      for schedule in schedules {
        let json = try StoreCodec.encode(schedule)
        let year = schedule.reportYear
        if let old = try await db.row("SELECT schedule FROM coordinator_rounds WHERE report_year = \(year) FOR UPDATE", logger) {
          guard try old.decode(column: 0, as: String.self) != json else { continue }
          try await db.run(
            "UPDATE coordinator_rounds SET schedule = \(json), updated_at = \(StoreCodec.micros(now)) WHERE report_year = \(year)",
            logger)
          try await Self.audit(db, at: now, actor: "coordinator", action: "round.reschedule", subject: "\(year)", detail: json, logger)
        } else {
          let inserted = try await db.rows(
            """
            INSERT INTO coordinator_rounds (report_year, state, schedule, created_at, updated_at)
            VALUES (\(year), 'planned', \(json), \(StoreCodec.micros(now)), \(StoreCodec.micros(now)))
            ON CONFLICT (report_year) DO NOTHING RETURNING report_year
            """, logger)
          guard !inserted.isEmpty else { continue }  // planned meanwhile by another coordinator
          try await Self.audit(db, at: now, actor: "coordinator", action: "round.plan", subject: "\(year)", detail: json, logger)
          added.append(year)
        }
      }
      return added
    }
  }

  public func rounds() async throws -> [CoordinatorRound] {
    let logger = self.logger
    return try await read("reading rounds") { db in
      var result: [CoordinatorRound] = []
      for row in try await db.rows("SELECT report_year FROM coordinator_rounds ORDER BY report_year", logger) {
        if let round = try await Self.round(db, Int(try row.decode(column: 0, as: Int64.self)), logger) { result.append(round) }
      }
      return result
    }
  }

  public func round(_ reportYear: Int) async throws -> CoordinatorRound? {
    let logger = self.logger
    return try await read("reading round \(reportYear)") { db in try await Self.round(db, reportYear, logger) }
  }

  // MARK: - Steps

  public func record(
    _ step: CoordinatorStepRecord,
    at now: Date,
    message: @escaping @Sendable (CoordinatorRound) throws -> [UInt8]
  ) async throws -> RoundStep {
    let logger = self.logger
    let stepId = step.stepId
    do {
      return try await write("recording step \(stepId)", fenced: true) { db in
        // The round's row, locked: a second coordinator recording a step of this round waits
        // here for the first one's commit, then sees its state and steps.
        guard try await db.row("SELECT state FROM coordinator_rounds WHERE report_year = \(step.reportYear) FOR UPDATE", logger) != nil,
          let round = try await Self.round(db, step.reportYear, logger)
        else {
          throw CoordinatorError(.notFound, "no round for report year \(step.reportYear)")
        }
        guard round.state == step.expectedState else {
          throw CoordinatorError(.aborted, "round \(step.reportYear) is \(round.state.rawValue), not \(step.expectedState.rawValue)")
        }
        guard round.step(stepId) == nil else {
          throw CoordinatorError(.aborted, "step \(stepId) is already recorded")
        }
        let nowMicros = StoreCodec.micros(now)
        if let target = step.kind.targetState {
          try await db.run(
            "UPDATE coordinator_rounds SET state = \(target.rawValue), updated_at = \(nowMicros) WHERE report_year = \(step.reportYear)",
            logger)
          try await db.run(
            """
            INSERT INTO coordinator_transitions (report_year, from_state, to_state, at, reason, actor, step_id)
            VALUES (\(step.reportYear), \(round.state.rawValue), \(target.rawValue), \(nowMicros), \(step.reason), \(step.actor), \(stepId))
            """, logger)
        }
        var detail = StepDetail()
        if step.caughtUp { detail.caughtUp = true }
        try await db.run(
          """
          INSERT INTO coordinator_steps (step_id, report_year, kind, reminder_offset, due_at, state, recorded_at, detail)
          VALUES (\(stepId), \(step.reportYear), \(step.kind.rawValue), \(step.reminderOffset), \(StoreCodec.micros(step.dueAt)),
            'pending', \(nowMicros), \(try StoreCodec.encode(detail)))
          """, logger)
        guard let after = try await Self.round(db, step.reportYear, logger) else {
          throw CoordinatorError(.internalError, "round \(step.reportYear) vanished while recording \(stepId)")
        }
        let bytes = try message(after)
        try await db.run("UPDATE coordinator_steps SET round = \(Data(bytes)) WHERE step_id = \(stepId)", logger)
        try await Self.audit(
          db, at: now, actor: step.actor, action: "step.record", subject: stepId,
          detail: step.kind.targetState.map { "\(round.state.rawValue) → \($0.rawValue): \(step.reason)" } ?? step.reason, logger)
        guard let recorded = try await Self.round(db, step.reportYear, logger)?.step(stepId) else {
          throw CoordinatorError(.internalError, "step \(stepId) vanished while being recorded")
        }
        return recorded
      }
    } catch let error as CoordinatorError where error.code == .storage && Self.isUniqueViolation(error) {
      throw CoordinatorError(.aborted, "step \(stepId) is already recorded")
    }
  }

  public func recordSkipped(
    reportYear: Int, kind: StepKind, reminderOffset: Int64?, dueAt: Date, reason: String, at now: Date
  ) async throws {
    let id = RoundStep.id(reportYear: reportYear, kind: kind, reminderOffset: reminderOffset)
    var detail = StepDetail()
    detail.skippedReason = reason
    let json = try StoreCodec.encode(detail)
    let logger = self.logger
    try await write("recording skipped step \(id)", fenced: true) { db in
      try await db.run(
        """
        INSERT INTO coordinator_steps (step_id, report_year, kind, reminder_offset, due_at, state, recorded_at, detail)
        VALUES (\(id), \(reportYear), \(kind.rawValue), \(reminderOffset), \(StoreCodec.micros(dueAt)), 'skipped',
          \(StoreCodec.micros(now)), \(json))
        """, logger)
      try await Self.audit(db, at: now, actor: "coordinator", action: "step.skip", subject: id, detail: reason, logger)
    }
  }

  public func pendingSteps() async throws -> [RoundStep] {
    let logger = self.logger
    return try await read("reading pending steps") { db in
      try await db.rows("SELECT * FROM coordinator_steps WHERE state = 'pending' ORDER BY seq", logger).map(Self.step)
    }
  }

  public func markApplied(_ stepId: String, detail: StepDetail, at now: Date) async throws {
    let json = try StoreCodec.encode(detail)
    let logger = self.logger
    try await write("marking step \(stepId) applied", fenced: true) { db in
      let changed = try await db.rows(
        """
        UPDATE coordinator_steps SET state = 'applied', applied_at = \(StoreCodec.micros(now)), detail = \(json)
        WHERE step_id = \(stepId) AND state = 'pending' RETURNING step_id
        """, logger)
      guard changed.count == 1 else {
        throw CoordinatorError(.failedPrecondition, "step \(stepId) is not pending")
      }
      try await Self.audit(db, at: now, actor: "coordinator", action: "step.apply", subject: stepId, detail: json, logger)
    }
  }

  // MARK: - Assessments and expert scores

  public func saveAssessment(reportYear: Int, results: [UInt8], stepId: String, at now: Date) async throws
    -> (results: [UInt8], assessedAt: Date)
  {
    let logger = self.logger
    let text = String(decoding: results, as: UTF8.self)
    return try await write("storing the assessment of \(reportYear)", fenced: true) { db in
      let inserted = try await db.rows(
        """
        INSERT INTO coordinator_assessments (report_year, results, assessed_at, step_id)
        VALUES (\(reportYear), \(text), \(StoreCodec.micros(now)), \(stepId))
        ON CONFLICT (report_year) DO NOTHING RETURNING report_year
        """, logger)
      if !inserted.isEmpty {
        try await Self.audit(db, at: now, actor: "coordinator", action: "assessment.store", subject: "\(reportYear)", detail: "", logger)
      }
      guard let stored = try await Self.assessment(db, reportYear, logger) else {
        throw CoordinatorError(.internalError, "the assessment of \(reportYear) vanished while being stored")
      }
      return stored
    }
  }

  public func assessment(_ reportYear: Int) async throws -> (results: [UInt8], assessedAt: Date)? {
    let logger = self.logger
    return try await read("reading the assessment of \(reportYear)") { db in try await Self.assessment(db, reportYear, logger) }
  }

  public func recordExpertScore(
    reportYear: Int, baseId: String, expertId: String, scoreMilli: Int64, comment: String, actor: String, at now: Date
  ) async throws {
    guard !baseId.isEmpty else { throw CoordinatorError(.invalidArgument, "baseId: required") }
    guard !expertId.isEmpty else { throw CoordinatorError(.invalidArgument, "expertId: required") }
    guard (0...100_000).contains(scoreMilli) else {
      throw CoordinatorError(.invalidArgument, "scoreMilli: must be 0...100000 (thousandths of a point), got \(scoreMilli)")
    }
    let logger = self.logger
    try await write("recording an expert score", fenced: false) { db in
      guard let text = try await db.row(
        "SELECT state FROM coordinator_rounds WHERE report_year = \(reportYear) FOR SHARE", logger)?.decode(column: 0, as: String.self),
        let state = RoundState(rawValue: text)
      else { throw CoordinatorError(.notFound, "no round for report year \(reportYear)") }
      guard state < .assessed else {
        throw CoordinatorError(.failedPrecondition, "round \(reportYear) is \(state.rawValue): expert scores are taken until it is assessed")
      }
      try await db.run(
        """
        INSERT INTO coordinator_expert_scores (report_year, base_id, expert_id, score_milli, comment, recorded_at, actor)
        VALUES (\(reportYear), \(baseId), \(expertId), \(scoreMilli), \(comment), \(StoreCodec.micros(now)), \(actor))
        ON CONFLICT (report_year, base_id, expert_id) DO UPDATE SET
          score_milli = excluded.score_milli, comment = excluded.comment,
          recorded_at = excluded.recorded_at, actor = excluded.actor
        """, logger)
      try await Self.audit(
        db, at: now, actor: actor, action: "expert_score.record", subject: "\(reportYear)/\(baseId)/\(expertId)",
        detail: "\(scoreMilli)", logger)
    }
  }

  public func expertScores(_ reportYear: Int) async throws -> [(baseId: String, expertId: String, scoreMilli: Int64, comment: String)] {
    let logger = self.logger
    let rows = try await read("reading expert scores") { db in
      try await db.rows(
        "SELECT base_id, expert_id, score_milli, comment FROM coordinator_expert_scores WHERE report_year = \(reportYear) ORDER BY base_id, expert_id",
        logger
      ).map { ExpertScoreRow(baseId: try $0.get("base_id"), expertId: try $0.get("expert_id"), scoreMilli: try $0.get("score_milli"), comment: try $0.get("comment")) }
    }
    return rows.map { ($0.baseId, $0.expertId, $0.scoreMilli, $0.comment) }
  }

  public func audit(limit: Int = 50) async throws -> [CoordinatorAuditEntry] {
    let logger = self.logger
    return try await read("reading the audit log") { db in
      try await db.rows("SELECT * FROM coordinator_audit_log ORDER BY id DESC LIMIT \(Int64(limit))", logger).map {
        CoordinatorAuditEntry(
          at: StoreCodec.date(try $0.get("at")), actor: try $0.get("actor"), action: try $0.get("action"),
          subject: try $0.get("subject"), detail: try $0.get("detail"))
      }
    }
  }

  public func appendAudit(actor: String, action: String, subject: String, detail: String, at now: Date) async throws {
    let logger = self.logger
    try await write("writing the audit log", fenced: false) { db in
      try await Self.audit(db, at: now, actor: actor, action: action, subject: subject, detail: detail, logger)
    }
  }

  // MARK: - Rows

  private struct ExpertScoreRow: Sendable {
    var baseId: String
    var expertId: String
    var scoreMilli: Int64
    var comment: String
  }

  static func round(_ db: PostgresConnection, _ year: Int, _ logger: Logger) async throws -> CoordinatorRound? {
    guard let row = try await db.row("SELECT * FROM coordinator_rounds WHERE report_year = \(year)", logger) else { return nil }
    let transitions = try await db.rows(
      "SELECT * FROM coordinator_transitions WHERE report_year = \(year) ORDER BY id", logger
    ).map { row in
      RoundTransitionRecord(
        reportYear: year,
        from: RoundState(rawValue: try row.get("from_state")) ?? .planned,
        to: RoundState(rawValue: try row.get("to_state")) ?? .planned,
        at: StoreCodec.date(try row.get("at")), reason: try row.get("reason"), actor: try row.get("actor"),
        stepId: try row.get("step_id"))
    }
    let steps = try await db.rows("SELECT * FROM coordinator_steps WHERE report_year = \(year) ORDER BY seq", logger).map(step)
    let scheduleJSON: String = try row.get("schedule")
    return CoordinatorRound(
      reportYear: year,
      state: RoundState(rawValue: try row.get("state")) ?? .planned,
      schedule: try StoreCodec.decoder().decode(RoundSchedule.self, from: Data(scheduleJSON.utf8)),
      transitions: transitions,
      steps: steps)
  }

  static func step(_ row: PostgresRandomAccessRow) throws -> RoundStep {
    let detailJSON: String = try row.get("detail")
    let message: Data? = try row.get("round")
    return RoundStep(
      id: try row.get("step_id"),
      reportYear: Int(try row.get("report_year", as: Int64.self)),
      kind: StepKind(rawValue: try row.get("kind")) ?? .reminder,
      reminderOffset: try row.get("reminder_offset"),
      dueAt: StoreCodec.date(try row.get("due_at")),
      state: StepState(rawValue: try row.get("state")) ?? .pending,
      recordedAt: StoreCodec.date(try row.get("recorded_at")),
      appliedAt: (try row.get("applied_at", as: Int64?.self)).map(StoreCodec.date),
      detail: try StoreCodec.decoder().decode(StepDetail.self, from: Data(detailJSON.utf8)),
      roundMessage: message.map { [UInt8]($0) })
  }

  static func assessment(_ db: PostgresConnection, _ year: Int, _ logger: Logger) async throws -> (results: [UInt8], assessedAt: Date)? {
    guard let row = try await db.row(
      "SELECT results, assessed_at FROM coordinator_assessments WHERE report_year = \(year)", logger)
    else { return nil }
    let results: String = try row.get("results")
    return (Array(results.utf8), StoreCodec.date(try row.get("assessed_at")))
  }

  static func audit(
    _ db: PostgresConnection, at: Date, actor: String, action: String, subject: String, detail: String, _ logger: Logger
  ) async throws {
    try await db.run(
      """
      INSERT INTO coordinator_audit_log (at, actor, action, subject, detail)
      VALUES (\(StoreCodec.micros(at)), \(actor), \(action), \(subject), \(detail))
      """, logger)
  }

  // MARK: - Transactions

  /// Runs `body` in one read-only snapshot (REPEATABLE READ).
  func read<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
    try await transaction(what, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fenced: false, body)
  }

  /// Runs `body` in one read-write transaction (READ COMMITTED), committed before returning;
  /// when `fenced` and the store has a fence, only while this process holds the leadership.
  func write<T: Sendable>(_ what: String, fenced: Bool, _ body: (PostgresConnection) async throws -> T) async throws -> T {
    try await transaction(what, begin: "BEGIN", fenced: fenced, body)
  }

  private func transaction<T: Sendable>(
    _ what: String, begin: String, fenced: Bool, _ body: (PostgresConnection) async throws -> T
  ) async throws -> T {
    let logger = self.logger
    let fence = fenced ? self.fence : nil
    do {
      return try await client.withConnection { db in
        try await db.run(PostgresQuery(unsafeSQL: begin), logger)
        do {
          if let fence { try await fence.check(db, what: what, logger: logger) }
          let value = try await body(db)
          try await db.run("COMMIT", logger)
          return value
        } catch {
          _ = try? await db.run("ROLLBACK", logger)
          throw error
        }
      }
    } catch {
      throw Self.storageError(what, location: location, error)
    }
  }

  static func storageError(_ what: String, location: String, _ error: any Error) -> CoordinatorError {
    if let error = error as? CoordinatorError { return error }
    if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] {
      let message = error.serverInfo?[.message] ?? "server error"
      return CoordinatorError(.storage, "\(what) in \(location): \(message) (SQLSTATE \(state))")
    }
    return CoordinatorError(.storage, "\(what) in \(location): \(String(reflecting: error))")
  }

  static func isUniqueViolation(_ error: CoordinatorError) -> Bool { error.message.contains("(SQLSTATE 23505)") }
}

// MARK: - Small helpers

extension PostgresConnection {
  /// Every row of `query`.
  func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
    try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
  }

  /// The first row of `query`, if any.
  func row(_ query: PostgresQuery, _ logger: Logger) async throws -> PostgresRandomAccessRow? {
    try await rows(query, logger).first
  }

  /// Runs a statement, ignoring any rows.
  func run(_ query: PostgresQuery, _ logger: Logger) async throws {
    _ = try await self.query(query, logger: logger).collect()
  }
}

extension PostgresRandomAccessRow {
  /// The column named `name`, decoded.
  func get<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
    try self[name].decode(T.self)
  }

  /// The column at `index`, decoded.
  func decode<T: PostgresDecodable>(column index: Int, as type: T.Type = T.self) throws -> T {
    try self[index].decode(T.self)
  }
}
