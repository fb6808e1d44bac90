import Foundation
import GRDB
import HiTechDomain

/// Applications, their evaluation and decisions on SQLite (``ApplicationStore``; the rules are
/// ``ApplicationRules``, shared with PostgreSQL).
extension AggregatorDatabase: ApplicationStore {
  // MARK: Calls

  public func setCall(_ call: ApplicationCallRecord, reason: String, actor: String) async throws {
    let now = configuration.nowMicros()
    try await write("storing the call of \(call.callYear)") { db in
      try db.execute(
        sql: """
          INSERT INTO application_calls (call_year, state, opens_at, closes_at, evaluation_starts_at, evaluation_ends_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (call_year) DO UPDATE SET state = excluded.state, opens_at = excluded.opens_at,
            closes_at = excluded.closes_at, evaluation_starts_at = excluded.evaluation_starts_at,
            evaluation_ends_at = excluded.evaluation_ends_at, updated_at = excluded.updated_at
          """,
        arguments: [
          call.callYear, call.state.rawValue, call.opensAtMicros, call.closesAtMicros, call.evaluationStartsAtMicros,
          call.evaluationEndsAtMicros, now,
        ])
      try Rows.appendAudit(
        db, at: now, actor: actor, action: "application.call", subject: String(call.callYear),
        detail: "\(call.state.rawValue)\(reason.isEmpty ? "" : ": \(reason)")")
    }
  }

  public func call(year: Int) async throws -> ApplicationCallRecord? {
    try await read("reading the call of \(year)") { db in try Self.call(db, year: year) }
  }

  public func calls() async throws -> [ApplicationCallRecord] {
    try await read("listing calls") { db in
      try Row.fetchAll(db, sql: "SELECT * FROM application_calls ORDER BY call_year DESC").map(Self.call)
    }
  }

  static func call(_ db: Database, year: Int) throws -> ApplicationCallRecord? {
    try Row.fetchOne(db, sql: "SELECT * FROM application_calls WHERE call_year = ?", arguments: [year]).map(call)
  }

  static func call(_ row: Row) -> ApplicationCallRecord {
    ApplicationCallRecord(
      callYear: row["call_year"], state: ApplicationCallRecord.State(rawValue: row["state"]) ?? .planned,
      opensAtMicros: row["opens_at"], closesAtMicros: row["closes_at"],
      evaluationStartsAtMicros: row["evaluation_starts_at"], evaluationEndsAtMicros: row["evaluation_ends_at"])
  }

  // MARK: Filing

  public func fileApplication(_ filing: ApplicationFiling) async throws -> ApplicationFilingOutcome {
    let now = configuration.nowMicros()
    return try await write("filing application \(filing.applicationRef) of \(filing.reporterCode)") { db in
      let known = try Row.fetchOne(
        db, sql: "SELECT s.*, a.application_ref, a.call_year, a.state FROM application_submissions s "
          + "JOIN applications a USING (application_id) WHERE s.submission_id = ?",
        arguments: [filing.submissionId]
      ).map { row in
        ApplicationRules.KnownSubmission(
          receipt: ApplicationReceiptRecord(
            applicationId: row["application_id"], submissionId: row["submission_id"],
            applicationRef: row["application_ref"], reporterCode: row["reporter_code"], callYear: row["call_year"],
            revision: row["revision"], status: ApplicationReceiptRecord.Status(rawValue: row["status"]) ?? .accepted,
            receivedAtMicros: row["received_at"], contentSHA256: Self.bytes(row, "content_sha256"),
            duplicateOfSubmissionId: row["duplicate_of"],
            applicationState: ApplicationState(rawValue: row["state"]) ?? .submitted))
      }
      let existing = try Self.application(db, reporterCode: filing.reporterCode, applicationRef: filing.applicationRef)
        .map { application in
          let latest = try Row.fetchOne(
            db, sql: "SELECT submission_id, content_sha256, received_at FROM application_revisions "
              + "WHERE application_id = ? AND revision = ?",
            arguments: [application.applicationId, application.latestRevision])
          return ApplicationRules.Existing(
            application: application, latestSHA256: latest.map { Self.bytes($0, "content_sha256") } ?? [],
            latestSubmissionId: latest?["submission_id"] ?? "", latestReceivedAtMicros: latest?["received_at"] ?? 0)
        }
      let call = try Self.call(db, year: filing.callYear)
      switch ApplicationRules.decideFiling(filing, known: known, existing: existing, call: call) {
      case .answer(let outcome):
        return outcome
      case .duplicate(let original):
        let application = original.application
        try db.execute(
          sql: """
            INSERT INTO application_submissions (submission_id, application_id, reporter_code, revision, content_sha256,
              status, duplicate_of, received_at) VALUES (?, ?, ?, ?, ?, 'duplicate', ?, ?)
            """,
          arguments: [
            filing.submissionId, application.applicationId, filing.reporterCode, application.latestRevision,
            Data(filing.contentSHA256), original.latestSubmissionId, original.latestReceivedAtMicros,
          ])
        return .duplicate(
          ApplicationRules.receipt(
            filing, applicationId: application.applicationId, revision: application.latestRevision, status: .duplicate,
            receivedAtMicros: original.latestReceivedAtMicros, duplicateOf: original.latestSubmissionId,
            state: application.state))
      case .store(let existing):
        let applicationId: String
        if let existing {
          applicationId = existing.application.applicationId
          try db.execute(
            sql: "UPDATE applications SET latest_revision = ?, kind = ?, upgrades_base_id = ?, updated_at = ? WHERE application_id = ?",
            arguments: [filing.revision, filing.kind.rawValue, filing.upgradesBaseId, now, applicationId])
        } else {
          guard try Bool.fetchOne(db, sql: "SELECT 1 FROM reporters WHERE code = ?", arguments: [filing.reporterCode]) ?? false
          else {
            throw StoreError(code: .notFound, message: "reporter \(filing.reporterCode) is not registered")
          }
          let number = (try Int64.fetchOne(db, sql: "SELECT max(number) FROM applications") ?? 0) + 1
          applicationId = ApplicationRules.applicationId(callYear: filing.callYear, number: number)
          try db.execute(
            sql: """
              INSERT INTO applications (application_id, number, reporter_code, application_ref, call_year, kind,
                upgrades_base_id, state, latest_revision, submitted_at, updated_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?)
              """,
            arguments: [
              applicationId, number, filing.reporterCode, filing.applicationRef, filing.callYear, filing.kind.rawValue,
              filing.upgradesBaseId, filing.revision, now, now,
            ])
          try Self.appendHistory(
            db, applicationId: applicationId, from: nil, to: .submitted, at: now, actor: filing.reporterCode,
            reason: "filed")
        }
        let proposed = filing.proposedBase
        try db.execute(
          sql: """
            INSERT INTO application_revisions (application_id, revision, submission_id, content_sha256, kind,
              upgrades_base_id, name_zh, name_en, base_kind, fields, city_code, city_name_zh, received_at, bytes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
          arguments: [
            applicationId, filing.revision, filing.submissionId, Data(filing.contentSHA256), filing.kind.rawValue,
            filing.upgradesBaseId, proposed.nameZh, proposed.nameEn, proposed.kind.rawValue,
            proposed.fields.joined(separator: ";"), proposed.cityCode, proposed.cityNameZh, now, Data(filing.bytes),
          ])
        try db.execute(
          sql: """
            INSERT INTO application_submissions (submission_id, application_id, reporter_code, revision, content_sha256,
              status, duplicate_of, received_at) VALUES (?, ?, ?, ?, ?, 'accepted', '', ?)
            """,
          arguments: [filing.submissionId, applicationId, filing.reporterCode, filing.revision, Data(filing.contentSHA256), now])
        try Rows.appendAudit(
          db, at: now, actor: filing.reporterCode, action: "application.file", subject: applicationId,
          detail: "\(filing.applicationRef) revision \(filing.revision), \(filing.kind.rawValue), \(proposed.nameZh)")
        return .accepted(
          ApplicationRules.receipt(
            filing, applicationId: applicationId, revision: filing.revision, status: .accepted, receivedAtMicros: now,
            duplicateOf: "", state: .submitted))
      }
    }
  }

  // MARK: Reading applications

  public func application(id: String) async throws -> StoredApplication? {
    try await read("reading application \(id)") { db in try Self.application(db, id: id) }
  }

  public func application(reporterCode: String, applicationRef: String) async throws -> StoredApplication? {
    try await read("reading application \(applicationRef)") { db in
      try Self.application(db, reporterCode: reporterCode, applicationRef: applicationRef)
    }
  }

  public func applications(callYear: Int?, reporterCode: String?, states: [ApplicationState]) async throws
    -> [StoredApplication]
  {
    try await read("listing applications") { db in
      var sql = Self.applicationSelect + " WHERE 1"
      var arguments: StatementArguments = []
      if let callYear {
        sql += " AND a.call_year = ?"
        arguments += [callYear]
      }
      if let reporterCode {
        sql += " AND a.reporter_code = ?"
        arguments += [reporterCode]
      }
      if !states.isEmpty {
        sql += " AND a.state IN (\(states.map { _ in "?" }.joined(separator: ", ")))"
        for state in states { arguments += [state.rawValue] }
      }
      sql += " ORDER BY a.application_id"
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.application)
    }
  }

  public func applicationRevisions(applicationId: String) async throws -> [StoredApplicationRevision] {
    try await read("reading the revisions of \(applicationId)") { db in
      try Row.fetchAll(
        db, sql: "SELECT * FROM application_revisions WHERE application_id = ? ORDER BY revision",
        arguments: [applicationId]
      ).map { row in
        StoredApplicationRevision(
          applicationId: row["application_id"], revision: row["revision"], submissionId: row["submission_id"],
          contentSHA256: Self.bytes(row, "content_sha256"), receivedAtMicros: row["received_at"], bytes: Self.bytes(row, "bytes"))
      }
    }
  }

  public func applicationHistory(applicationId: String) async throws -> [ApplicationStateChangeRecord] {
    try await read("reading the history of \(applicationId)") { db in
      try Row.fetchAll(
        db, sql: "SELECT * FROM application_history WHERE application_id = ? ORDER BY id", arguments: [applicationId]
      ).map { row in
        ApplicationStateChangeRecord(
          from: ApplicationState(rawValue: row["from_state"]), to: ApplicationState(rawValue: row["to_state"]) ?? .submitted,
          atMicros: row["at"], actor: row["actor"], reason: row["reason"])
      }
    }
  }

  static func bytes(_ row: Row, _ column: String) -> [UInt8] {
    let data: Data? = row[column]
    return data.map { [UInt8]($0) } ?? []
  }

  static let applicationSelect = """
    SELECT a.*, r.name_zh, r.name_en, r.base_kind, r.fields, r.city_code, r.city_name_zh
    FROM applications a JOIN application_revisions r
      ON r.application_id = a.application_id AND r.revision = a.latest_revision
    """

  static func application(_ db: Database, id: String) throws -> StoredApplication? {
    try Row.fetchOne(db, sql: applicationSelect + " WHERE a.application_id = ?", arguments: [id]).map(application)
  }

  static func application(_ db: Database, reporterCode: String, applicationRef: String) throws -> StoredApplication? {
    try Row.fetchOne(
      db, sql: applicationSelect + " WHERE a.reporter_code = ? AND a.application_ref = ?",
      arguments: [reporterCode, applicationRef]
    ).map(application)
  }

  static func application(_ row: Row) -> StoredApplication {
    let fields: String = row["fields"]
    return StoredApplication(
      applicationId: row["application_id"], applicationRef: row["application_ref"], reporterCode: row["reporter_code"],
      callYear: row["call_year"], kind: ApplicationKindRecord(rawValue: row["kind"]) ?? .newNationalBase,
      upgradesBaseId: row["upgrades_base_id"], state: ApplicationState(rawValue: row["state"]) ?? .submitted,
      latestRevision: row["latest_revision"], submittedAtMicros: row["submitted_at"], updatedAtMicros: row["updated_at"],
      proposedBase: ProposedBaseRecord(
        nameZh: row["name_zh"], nameEn: row["name_en"], kind: BaseRecord.Kind(rawValue: row["base_kind"]) ?? .specialized,
        fields: fields.split(separator: ";").map(String.init), cityCode: row["city_code"],
        cityNameZh: row["city_name_zh"]))
  }

  static func appendHistory(
    _ db: Database, applicationId: String, from: ApplicationState?, to: ApplicationState, at: Int64, actor: String,
    reason: String
  ) throws {
    try db.execute(
      sql: "INSERT INTO application_history (application_id, from_state, to_state, at, actor, reason) VALUES (?, ?, ?, ?, ?, ?)",
      arguments: [applicationId, from?.rawValue ?? "", to.rawValue, at, actor, reason])
  }

  static func changeState(
    _ db: Database, _ application: StoredApplication, to state: ApplicationState, at now: Int64, actor: String,
    reason: String, action: String
  ) throws {
    try db.execute(
      sql: "UPDATE applications SET state = ?, updated_at = ? WHERE application_id = ?",
      arguments: [state.rawValue, now, application.applicationId])
    try appendHistory(
      db, applicationId: application.applicationId, from: application.state, to: state, at: now, actor: actor, reason: reason)
    try Rows.appendAudit(
      db, at: now, actor: actor, action: action, subject: application.applicationId,
      detail: "\(application.state.rawValue) → \(state.rawValue)\(reason.isEmpty ? "" : ": \(reason)")")
  }

  static func requireApplication(_ db: Database, id: String) throws -> StoredApplication {
    guard let application = try application(db, id: id) else {
      throw ApplicationRules.refusal(.notFound, "R-APP-UNKNOWN", "application \(id) is not stored")
    }
    return application
  }

  // MARK: State changes

  public func withdrawApplication(id: String, reporterCode: String, reason: String, actor: String) async throws
    -> StoredApplication
  {
    let now = configuration.nowMicros()
    return try await write("withdrawing application \(id)") { db in
      let application = try Self.requireApplication(db, id: id)
      guard let state = try ApplicationRules.withdraw(application, reporterCode: reporterCode) else { return application }
      try Self.changeState(db, application, to: state, at: now, actor: actor, reason: reason, action: "application.withdraw")
      return try Self.requireApplication(db, id: id)
    }
  }

  public func startEvaluation(applicationId: String, reason: String, actor: String) async throws -> StoredApplication {
    let now = configuration.nowMicros()
    return try await write("starting the evaluation of \(applicationId)") { db in
      let application = try Self.requireApplication(db, id: applicationId)
      let call = try Self.call(db, year: application.callYear)
      guard let state = try ApplicationRules.startEvaluation(application, call: call) else { return application }
      try Self.changeState(db, application, to: state, at: now, actor: actor, reason: reason, action: "application.evaluate")
      return try Self.requireApplication(db, id: applicationId)
    }
  }

  // MARK: Experts and evaluations

  public func upsertExpert(_ expert: ExpertRecord, actor: String) async throws {
    guard EnvelopeRule.isValidSubmissionID(expert.expertId) else {
      throw ApplicationRules.refusal(.invalidArgument, "R-APP-EXPERT-ID", "expert id must be 1..64 characters of [A-Za-z0-9._-]")
    }
    guard ExpertConflict.province(of: expert.provinceCode) != nil else {
      throw ApplicationRules.refusal(
        .invalidArgument, "R-APP-EXPERT-PROVINCE", "expert \(expert.expertId): province \(expert.provinceCode) is not a 6-digit code")
    }
    let now = configuration.nowMicros()
    try await write("storing expert \(expert.expertId)") { db in
      try db.execute(
        sql: """
          INSERT INTO experts (expert_id, name, domain, province_code, active, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (expert_id) DO UPDATE SET name = excluded.name, domain = excluded.domain,
            province_code = excluded.province_code, active = excluded.active, updated_at = excluded.updated_at
          """,
        arguments: [expert.expertId, expert.name, expert.domain, expert.provinceCode, expert.active, now, now])
      try Rows.appendAudit(
        db, at: now, actor: actor, action: "expert.upsert", subject: expert.expertId,
        detail: "\(expert.domain), province \(expert.provinceCode), \(expert.active ? "active" : "inactive")")
    }
  }

  public func experts() async throws -> [ExpertRecord] {
    try await read("listing experts") { db in
      try Row.fetchAll(db, sql: "SELECT * FROM experts ORDER BY expert_id").map(Self.expert)
    }
  }

  static func expert(_ row: Row) -> ExpertRecord {
    ExpertRecord(
      expertId: row["expert_id"], name: row["name"], domain: row["domain"], provinceCode: row["province_code"],
      active: row["active"])
  }

  public func recordEvaluation(_ evaluation: ExpertEvaluationRecord, actor: String) async throws {
    let now = configuration.nowMicros()
    let outcome: Result<Void, StoreError> = try await write("recording an evaluation of \(evaluation.applicationId)") { db in
      let application = try Self.requireApplication(db, id: evaluation.applicationId)
      let expert = try Row.fetchOne(db, sql: "SELECT * FROM experts WHERE expert_id = ?", arguments: [evaluation.expertId])
        .map(Self.expert)
      do {
        try ApplicationRules.checkEvaluation(
          evaluation, application: application, expert: expert, call: try Self.call(db, year: application.callYear))
      } catch let refusal as StoreError where refusal.code == .permissionDenied {
        // A refused conflict of interest stays on record.
        try Rows.appendAudit(
          db, at: now, actor: actor, action: "application.score.refused", subject: evaluation.applicationId,
          detail: "expert \(evaluation.expertId): \(refusal.message)")
        return .failure(refusal)
      }
      try db.execute(
        sql: """
          INSERT INTO application_evaluations (application_id, expert_id, scores, comments, recommends, evaluated_at, actor)
          VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (application_id, expert_id) DO UPDATE SET scores = excluded.scores, comments = excluded.comments,
            recommends = excluded.recommends, evaluated_at = excluded.evaluated_at, actor = excluded.actor
          """,
        arguments: [
          evaluation.applicationId, evaluation.expertId, ApplicationRules.encodeScores(evaluation.scoresMilli),
          ApplicationRules.encodeComments(evaluation.comments), evaluation.recommends, now, actor,
        ])
      try Rows.appendAudit(
        db, at: now, actor: actor, action: "application.score", subject: evaluation.applicationId,
        detail: "expert \(evaluation.expertId): \(ApplicationRules.encodeScores(evaluation.scoresMilli))"
          + (evaluation.recommends ? ", recommends" : ", does not recommend"))
      return .success(())
    }
    try outcome.get()
  }

  public func evaluations(applicationId: String) async throws -> [ExpertEvaluationRecord] {
    try await read("reading the evaluations of \(applicationId)") { db in try Self.evaluations(db, applicationId: applicationId) }
  }

  static func evaluations(_ db: Database, applicationId: String) throws -> [ExpertEvaluationRecord] {
    try Row.fetchAll(
      db, sql: "SELECT * FROM application_evaluations WHERE application_id = ? ORDER BY expert_id", arguments: [applicationId]
    ).map { row in
      ExpertEvaluationRecord(
        applicationId: row["application_id"], expertId: row["expert_id"],
        scoresMilli: ApplicationRules.decodeScores(row["scores"]), comments: ApplicationRules.decodeComments(row["comments"]),
        recommends: row["recommends"], evaluatedAtMicros: row["evaluated_at"], actor: row["actor"])
    }
  }

  // MARK: Decisions and the registry

  public func recordDecision(_ decision: ApplicationDecisionRecord, weighting: ApplicationWeighting, actor: String)
    async throws -> StoredApplication
  {
    let now = configuration.nowMicros()
    return try await write("recording the decision on \(decision.applicationId)") { db in
      let application = try Self.requireApplication(db, id: decision.applicationId)
      let completed = try ApplicationRules.completeDecision(
        decision, application: application, call: try Self.call(db, year: application.callYear),
        evaluations: try Self.evaluations(db, applicationId: application.applicationId), weighting: weighting,
        actor: actor, now: now)
      try db.execute(
        sql: """
          INSERT INTO application_decisions (application_id, recognised, document_number, document_date, issuer, base_id,
            first_report_year, reason, score_milli, recommended, weighting_id, decided_by, decided_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          completed.applicationId, completed.recognised, completed.documentNumber, completed.documentDate, completed.issuer,
          completed.baseId, completed.firstReportYear, completed.reason, completed.scoreMilli, completed.recommended,
          completed.weightingId, completed.decidedBy, completed.decidedAtMicros,
        ])
      if completed.recognised {
        let baseId = completed.baseId
        let existing = try Row.fetchOne(db, sql: "SELECT * FROM bases WHERE base_id = ?", arguments: [baseId])
          .map { try Rows.base(db, $0) }
        let historyCount = try Int.fetchOne(
          db, sql: "SELECT count(*) FROM base_level_history WHERE base_id = ?", arguments: [baseId]) ?? 0
        let (base, entries) = try ApplicationRules.recognition(
          completed, application: application, existingBase: existing, historyCount: historyCount, now: now)
        try Self.writeBase(db, base, now: now, actor: actor)
        for entry in entries {
          try db.execute(
            sql: """
              INSERT INTO base_level_history (base_id, position, level, effective_date, document_number, issuer, reason,
                application_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
              """,
            arguments: [
              entry.baseId, entry.position, entry.level.rawValue, entry.effectiveDate, entry.documentNumber, entry.issuer,
              entry.reason, entry.applicationId, entry.recordedAtMicros,
            ])
        }
      }
      try Self.changeState(
        db, application, to: completed.recognised ? .recognised : .notRecognised, at: now, actor: actor,
        reason: "\(completed.documentNumber) (\(completed.documentDate))\(completed.reason.isEmpty ? "" : ": \(completed.reason)")",
        action: "application.decide")
      return try Self.requireApplication(db, id: application.applicationId)
    }
  }

  public func decision(applicationId: String) async throws -> ApplicationDecisionRecord? {
    try await read("reading the decision on \(applicationId)") { db in
      try Row.fetchOne(db, sql: "SELECT * FROM application_decisions WHERE application_id = ?", arguments: [applicationId])
        .map(Self.decision)
    }
  }

  public func decisions(documentYear: Int, recognisedOnly: Bool) async throws -> [ApplicationDecisionRecord] {
    try await read("listing the decisions of \(documentYear)") { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT * FROM application_decisions WHERE substr(document_date, 1, 4) = ? AND (recognised = 1 OR ? = 0)
          ORDER BY document_date, application_id
          """,
        arguments: [String(format: "%04d", documentYear), recognisedOnly]
      ).map(Self.decision)
    }
  }

  static func decision(_ row: Row) -> ApplicationDecisionRecord {
    ApplicationDecisionRecord(
      applicationId: row["application_id"], recognised: row["recognised"], documentNumber: row["document_number"],
      documentDate: row["document_date"], issuer: row["issuer"], baseId: row["base_id"],
      firstReportYear: row["first_report_year"], reason: row["reason"], scoreMilli: row["score_milli"],
      recommended: row["recommended"], weightingId: row["weighting_id"], decidedBy: row["decided_by"],
      decidedAtMicros: row["decided_at"])
  }

  public func levelHistory(baseId: String) async throws -> [LevelChangeRecord] {
    try await read("reading the level history of \(baseId)") { db in
      try Row.fetchAll(db, sql: "SELECT * FROM base_level_history WHERE base_id = ? ORDER BY position", arguments: [baseId])
        .map { row in
          LevelChangeRecord(
            baseId: row["base_id"], position: row["position"],
            level: BaseRecord.Level(rawValue: row["level"]) ?? .national, effectiveDate: row["effective_date"],
            documentNumber: row["document_number"], issuer: row["issuer"], reason: row["reason"],
            applicationId: row["application_id"], recordedAtMicros: row["recorded_at"])
        }
    }
  }
}
