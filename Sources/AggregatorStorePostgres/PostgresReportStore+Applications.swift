import AggregatorStore
import Foundation
import HiTechDomain
import Logging
import PostgresNIO

/// Applications, their evaluation and decisions on PostgreSQL (``ApplicationStore``; the rules
/// are ``ApplicationRules``, shared with SQLite). Every write takes the applications' advisory
/// lock first, so that several aggregators decide numbers, revisions and states one at a time.
extension PostgresReportStore: ApplicationStore {
  private func applicationWrite<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
    let logger = self.logger
    return try await write(what) { db in
      try await db.run("SELECT pg_advisory_xact_lock(\(PostgresSchema.applicationsLockKey))", logger)
      return try await body(db)
    }
  }

  // MARK: Calls

  public func setCall(_ call: ApplicationCallRecord, reason: String, actor: String) async throws {
    let now = configuration.nowMicros()
    let logger = self.logger
    try await applicationWrite("storing the call of \(call.callYear)") { db in
      try await db.run(
        """
        INSERT INTO application_calls (call_year, state, opens_at, closes_at, evaluation_starts_at, evaluation_ends_at, updated_at)
        VALUES (\(call.callYear), \(call.state.rawValue), \(call.opensAtMicros), \(call.closesAtMicros),
          \(call.evaluationStartsAtMicros), \(call.evaluationEndsAtMicros), \(now))
        ON CONFLICT (call_year) DO UPDATE SET state = excluded.state, opens_at = excluded.opens_at,
          closes_at = excluded.closes_at, evaluation_starts_at = excluded.evaluation_starts_at,
          evaluation_ends_at = excluded.evaluation_ends_at, updated_at = excluded.updated_at
        """, logger)
      try await PostgresRows.appendAudit(
        db, at: now, actor: actor, action: "application.call", subject: String(call.callYear),
        detail: "\(call.state.rawValue)\(reason.isEmpty ? "" : ": \(reason)")", logger)
    }
  }

  public func call(year: Int) async throws -> ApplicationCallRecord? {
    let logger = self.logger
    return try await read("reading the call of \(year)") { db in try await Self.call(db, year: year, logger) }
  }

  public func calls() async throws -> [ApplicationCallRecord] {
    let logger = self.logger
    return try await read("listing calls") { db in
      try await db.rows("SELECT * FROM application_calls ORDER BY call_year DESC", logger).map(Self.call)
    }
  }

  static func call(_ db: PostgresConnection, year: Int, _ logger: Logger) async throws -> ApplicationCallRecord? {
    try await db.row("SELECT * FROM application_calls WHERE call_year = \(year)", logger).map(call)
  }

  static func call(_ row: PostgresRandomAccessRow) throws -> ApplicationCallRecord {
    ApplicationCallRecord(
      callYear: try row.get("call_year"), state: ApplicationCallRecord.State(rawValue: try row.get("state")) ?? .planned,
      opensAtMicros: try row.get("opens_at"), closesAtMicros: try row.get("closes_at"),
      evaluationStartsAtMicros: try row.get("evaluation_starts_at"), evaluationEndsAtMicros: try row.get("evaluation_ends_at"))
  }

  // MARK: Filing

  public func fileApplication(_ filing: ApplicationFiling) async throws -> ApplicationFilingOutcome {
    let now = configuration.nowMicros()
    let logger = self.logger
    return try await applicationWrite("filing application \(filing.applicationRef) of \(filing.reporterCode)") { db in
      var known: ApplicationRules.KnownSubmission?
      if let row = try await db.row(
        """
        SELECT s.*, a.application_ref, a.call_year, a.state FROM application_submissions s
        JOIN applications a USING (application_id) WHERE s.submission_id = \(filing.submissionId)
        """, logger)
      {
        known = ApplicationRules.KnownSubmission(
          receipt: ApplicationReceiptRecord(
            applicationId: try row.get("application_id"), submissionId: try row.get("submission_id"),
            applicationRef: try row.get("application_ref"), reporterCode: try row.get("reporter_code"),
            callYear: try row.get("call_year"), revision: try row.get("revision"),
            status: ApplicationReceiptRecord.Status(rawValue: try row.get("status")) ?? .accepted,
            receivedAtMicros: try row.get("received_at"), contentSHA256: try row.bytes("content_sha256"),
            duplicateOfSubmissionId: try row.get("duplicate_of"),
            applicationState: ApplicationState(rawValue: try row.get("state")) ?? .submitted))
      }
      var existing: ApplicationRules.Existing?
      if let application = try await Self.application(
        db, reporterCode: filing.reporterCode, applicationRef: filing.applicationRef, logger)
      {
        let latest = try await db.row(
          """
          SELECT submission_id, content_sha256, received_at FROM application_revisions
          WHERE application_id = \(application.applicationId) AND revision = \(application.latestRevision)
          """, logger)
        existing = ApplicationRules.Existing(
          application: application, latestSHA256: try latest?.bytes("content_sha256") ?? [],
          latestSubmissionId: try latest?.get("submission_id", as: String.self) ?? "",
          latestReceivedAtMicros: try latest?.get("received_at", as: Int64.self) ?? 0)
      }
      let call = try await Self.call(db, year: filing.callYear, logger)
      switch ApplicationRules.decideFiling(filing, known: known, existing: existing, call: call) {
      case .answer(let outcome):
        return outcome
      case .duplicate(let original):
        let application = original.application
        try await db.run(
          """
          INSERT INTO application_submissions (submission_id, application_id, reporter_code, revision, content_sha256,
            status, duplicate_of, received_at)
          VALUES (\(filing.submissionId), \(application.applicationId), \(filing.reporterCode), \(application.latestRevision),
            \(Data(filing.contentSHA256)), 'duplicate', \(original.latestSubmissionId), \(original.latestReceivedAtMicros))
          """, logger)
        return .duplicate(
          ApplicationRules.receipt(
            filing, applicationId: application.applicationId, revision: application.latestRevision, status: .duplicate,
            receivedAtMicros: original.latestReceivedAtMicros, duplicateOf: original.latestSubmissionId,
            state: application.state))
      case .store(let existing):
        let applicationId: String
        if let existing {
          applicationId = existing.application.applicationId
          try await db.run(
            """
            UPDATE applications SET latest_revision = \(filing.revision), kind = \(filing.kind.rawValue),
              upgrades_base_id = \(filing.upgradesBaseId), updated_at = \(now)
            WHERE application_id = \(applicationId)
            """, logger)
        } else {
          guard try await db.row("SELECT 1 FROM reporters WHERE code = \(filing.reporterCode)", logger) != nil else {
            throw StoreError(code: .notFound, message: "reporter \(filing.reporterCode) is not registered")
          }
          let number =
            (try await db.row("SELECT max(number) AS n FROM applications", logger)?.get("n", as: Int64?.self) ?? 0) + 1
          applicationId = ApplicationRules.applicationId(callYear: filing.callYear, number: number)
          try await db.run(
            """
            INSERT INTO applications (application_id, number, reporter_code, application_ref, call_year, kind,
              upgrades_base_id, state, latest_revision, submitted_at, updated_at)
            VALUES (\(applicationId), \(number), \(filing.reporterCode), \(filing.applicationRef), \(filing.callYear),
              \(filing.kind.rawValue), \(filing.upgradesBaseId), 'submitted', \(filing.revision), \(now), \(now))
            """, logger)
          try await Self.appendHistory(
            db, applicationId: applicationId, from: nil, to: .submitted, at: now, actor: filing.reporterCode,
            reason: "filed", logger)
        }
        let proposed = filing.proposedBase
        try await db.run(
          """
          INSERT INTO application_revisions (application_id, revision, submission_id, content_sha256, kind,
            upgrades_base_id, name_zh, name_en, base_kind, fields, city_code, city_name_zh, received_at, bytes)
          VALUES (\(applicationId), \(filing.revision), \(filing.submissionId), \(Data(filing.contentSHA256)),
            \(filing.kind.rawValue), \(filing.upgradesBaseId), \(proposed.nameZh), \(proposed.nameEn),
            \(proposed.kind.rawValue), \(proposed.fields.joined(separator: ";")), \(proposed.cityCode),
            \(proposed.cityNameZh), \(now), \(Data(filing.bytes)))
          """, logger)
        try await db.run(
          """
          INSERT INTO application_submissions (submission_id, application_id, reporter_code, revision, content_sha256,
            status, duplicate_of, received_at)
          VALUES (\(filing.submissionId), \(applicationId), \(filing.reporterCode), \(filing.revision),
            \(Data(filing.contentSHA256)), 'accepted', '', \(now))
          """, logger)
        try await PostgresRows.appendAudit(
          db, at: now, actor: filing.reporterCode, action: "application.file", subject: applicationId,
          detail: "\(filing.applicationRef) revision \(filing.revision), \(filing.kind.rawValue), \(proposed.nameZh)", logger)
        return .accepted(
          ApplicationRules.receipt(
            filing, applicationId: applicationId, revision: filing.revision, status: .accepted, receivedAtMicros: now,
            duplicateOf: "", state: .submitted))
      }
    }
  }

  // MARK: Reading applications

  public func application(id: String) async throws -> StoredApplication? {
    let logger = self.logger
    return try await read("reading application \(id)") { db in try await Self.application(db, id: id, logger) }
  }

  public func application(reporterCode: String, applicationRef: String) async throws -> StoredApplication? {
    let logger = self.logger
    return try await read("reading application \(applicationRef)") { db in
      try await Self.application(db, reporterCode: reporterCode, applicationRef: applicationRef, logger)
    }
  }

  public func applications(callYear: Int?, reporterCode: String?, states: [ApplicationState]) async throws
    -> [StoredApplication]
  {
    let logger = self.logger
    let stateNames = states.map(\.rawValue)
    return try await read("listing applications") { db in
      try await db.rows(
        """
        SELECT a.*, r.name_zh, r.name_en, r.base_kind, r.fields, r.city_code, r.city_name_zh
        FROM applications a JOIN application_revisions r
          ON r.application_id = a.application_id AND r.revision = a.latest_revision
        WHERE (\(callYear)::bigint IS NULL OR a.call_year = \(callYear))
          AND (\(reporterCode)::text IS NULL OR a.reporter_code = \(reporterCode))
          AND (cardinality(\(stateNames)::text[]) = 0 OR a.state = ANY(\(stateNames)::text[]))
        ORDER BY a.application_id
        """, logger
      ).map(Self.application)
    }
  }

  public func applicationRevisions(applicationId: String) async throws -> [StoredApplicationRevision] {
    let logger = self.logger
    return try await read("reading the revisions of \(applicationId)") { db in
      try await db.rows(
        "SELECT * FROM application_revisions WHERE application_id = \(applicationId) ORDER BY revision", logger
      ).map { row in
        StoredApplicationRevision(
          applicationId: try row.get("application_id"), revision: try row.get("revision"),
          submissionId: try row.get("submission_id"), contentSHA256: try row.bytes("content_sha256"),
          receivedAtMicros: try row.get("received_at"), bytes: try row.bytes("bytes"))
      }
    }
  }

  public func applicationHistory(applicationId: String) async throws -> [ApplicationStateChangeRecord] {
    let logger = self.logger
    return try await read("reading the history of \(applicationId)") { db in
      try await db.rows("SELECT * FROM application_history WHERE application_id = \(applicationId) ORDER BY id", logger)
        .map { row in
          ApplicationStateChangeRecord(
            from: ApplicationState(rawValue: try row.get("from_state")),
            to: ApplicationState(rawValue: try row.get("to_state")) ?? .submitted, atMicros: try row.get("at"),
            actor: try row.get("actor"), reason: try row.get("reason"))
        }
    }
  }

  static func application(_ db: PostgresConnection, id: String, _ logger: Logger) async throws -> StoredApplication? {
    try await db.row(
      """
      SELECT a.*, r.name_zh, r.name_en, r.base_kind, r.fields, r.city_code, r.city_name_zh
      FROM applications a JOIN application_revisions r
        ON r.application_id = a.application_id AND r.revision = a.latest_revision
      WHERE a.application_id = \(id)
      """, logger
    ).map(application)
  }

  static func application(
    _ db: PostgresConnection, reporterCode: String, applicationRef: String, _ logger: Logger
  ) async throws -> StoredApplication? {
    try await db.row(
      """
      SELECT a.*, r.name_zh, r.name_en, r.base_kind, r.fields, r.city_code, r.city_name_zh
      FROM applications a JOIN application_revisions r
        ON r.application_id = a.application_id AND r.revision = a.latest_revision
      WHERE a.reporter_code = \(reporterCode) AND a.application_ref = \(applicationRef)
      """, logger
    ).map(application)
  }

  static func application(_ row: PostgresRandomAccessRow) throws -> StoredApplication {
    let fields: String = try row.get("fields")
    return StoredApplication(
      applicationId: try row.get("application_id"), applicationRef: try row.get("application_ref"),
      reporterCode: try row.get("reporter_code"), callYear: try row.get("call_year"),
      kind: ApplicationKindRecord(rawValue: try row.get("kind")) ?? .newNationalBase,
      upgradesBaseId: try row.get("upgrades_base_id"),
      state: ApplicationState(rawValue: try row.get("state")) ?? .submitted, latestRevision: try row.get("latest_revision"),
      submittedAtMicros: try row.get("submitted_at"), updatedAtMicros: try row.get("updated_at"),
      proposedBase: ProposedBaseRecord(
        nameZh: try row.get("name_zh"), nameEn: try row.get("name_en"),
        kind: BaseRecord.Kind(rawValue: try row.get("base_kind")) ?? .specialized,
        fields: fields.split(separator: ";").map(String.init), cityCode: try row.get("city_code"),
        cityNameZh: try row.get("city_name_zh")))
  }

  static func appendHistory(
    _ db: PostgresConnection, applicationId: String, from: ApplicationState?, to: ApplicationState, at: Int64,
    actor: String, reason: String, _ logger: Logger
  ) async throws {
    try await db.run(
      """
      INSERT INTO application_history (application_id, from_state, to_state, at, actor, reason)
      VALUES (\(applicationId), \(from?.rawValue ?? ""), \(to.rawValue), \(at), \(actor), \(reason))
      """, logger)
  }

  static func changeState(
    _ db: PostgresConnection, _ application: StoredApplication, to state: ApplicationState, at now: Int64, actor: String,
    reason: String, action: String, _ logger: Logger
  ) async throws {
    try await db.run(
      "UPDATE applications SET state = \(state.rawValue), updated_at = \(now) WHERE application_id = \(application.applicationId)",
      logger)
    try await appendHistory(
      db, applicationId: application.applicationId, from: application.state, to: state, at: now, actor: actor,
      reason: reason, logger)
    try await PostgresRows.appendAudit(
      db, at: now, actor: actor, action: action, subject: application.applicationId,
      detail: "\(application.state.rawValue) → \(state.rawValue)\(reason.isEmpty ? "" : ": \(reason)")", logger)
  }

  static func requireApplication(_ db: PostgresConnection, id: String, _ logger: Logger) async throws -> StoredApplication {
    guard let application = try await application(db, id: id, logger) else {
      throw StoreError(code: .notFound, message: "R-APP-UNKNOWN: application \(id) is not stored")
    }
    return application
  }

  // MARK: State changes

  public func withdrawApplication(id: String, reporterCode: String, reason: String, actor: String) async throws
    -> StoredApplication
  {
    let now = configuration.nowMicros()
    let logger = self.logger
    return try await applicationWrite("withdrawing application \(id)") { db in
      let application = try await Self.requireApplication(db, id: id, logger)
      guard let state = try ApplicationRules.withdraw(application, reporterCode: reporterCode) else { return application }
      try await Self.changeState(
        db, application, to: state, at: now, actor: actor, reason: reason, action: "application.withdraw", logger)
      return try await Self.requireApplication(db, id: id, logger)
    }
  }

  public func startEvaluation(applicationId: String, reason: String, actor: String) async throws -> StoredApplication {
    let now = configuration.nowMicros()
    let logger = self.logger
    return try await applicationWrite("starting the evaluation of \(applicationId)") { db in
      let application = try await Self.requireApplication(db, id: applicationId, logger)
      let call = try await Self.call(db, year: application.callYear, logger)
      guard let state = try ApplicationRules.startEvaluation(application, call: call) else { return application }
      try await Self.changeState(
        db, application, to: state, at: now, actor: actor, reason: reason, action: "application.evaluate", logger)
      return try await Self.requireApplication(db, id: applicationId, logger)
    }
  }

  // MARK: Experts and evaluations

  public func upsertExpert(_ expert: ExpertRecord, actor: String) async throws {
    guard EnvelopeRule.isValidSubmissionID(expert.expertId) else {
      throw StoreError(code: .invalidArgument, message: "R-APP-EXPERT-ID: expert id must be 1..64 characters of [A-Za-z0-9._-]")
    }
    guard ExpertConflict.province(of: expert.provinceCode) != nil else {
      throw StoreError(
        code: .invalidArgument,
        message: "R-APP-EXPERT-PROVINCE: expert \(expert.expertId): province \(expert.provinceCode) is not a 6-digit code")
    }
    let now = configuration.nowMicros()
    let logger = self.logger
    try await applicationWrite("storing expert \(expert.expertId)") { db in
      try await db.run(
        """
        INSERT INTO experts (expert_id, name, domain, province_code, active, created_at, updated_at)
        VALUES (\(expert.expertId), \(expert.name), \(expert.domain), \(expert.provinceCode), \(expert.active), \(now), \(now))
        ON CONFLICT (expert_id) DO UPDATE SET name = excluded.name, domain = excluded.domain,
          province_code = excluded.province_code, active = excluded.active, updated_at = excluded.updated_at
        """, logger)
      try await PostgresRows.appendAudit(
        db, at: now, actor: actor, action: "expert.upsert", subject: expert.expertId,
        detail: "\(expert.domain), province \(expert.provinceCode), \(expert.active ? "active" : "inactive")", logger)
    }
  }

  public func experts() async throws -> [ExpertRecord] {
    let logger = self.logger
    return try await read("listing experts") { db in
      try await db.rows("SELECT * FROM experts ORDER BY expert_id", logger).map(Self.expert)
    }
  }

  static func expert(_ row: PostgresRandomAccessRow) throws -> ExpertRecord {
    ExpertRecord(
      expertId: try row.get("expert_id"), name: try row.get("name"), domain: try row.get("domain"),
      provinceCode: try row.get("province_code"), active: try row.get("active"))
  }

  public func recordEvaluation(_ evaluation: ExpertEvaluationRecord, actor: String) async throws {
    let now = configuration.nowMicros()
    let logger = self.logger
    let outcome: Result<Bool, StoreError> = try await applicationWrite(
      "recording an evaluation of \(evaluation.applicationId)"
    ) { db in
      let application = try await Self.requireApplication(db, id: evaluation.applicationId, logger)
      let expert = try await db.row("SELECT * FROM experts WHERE expert_id = \(evaluation.expertId)", logger).map(Self.expert)
      do {
        try ApplicationRules.checkEvaluation(
          evaluation, application: application, expert: expert,
          call: try await Self.call(db, year: application.callYear, logger))
      } catch let refusal as StoreError where refusal.code == .permissionDenied {
        // A refused conflict of interest stays on record.
        try await PostgresRows.appendAudit(
          db, at: now, actor: actor, action: "application.score.refused", subject: evaluation.applicationId,
          detail: "expert \(evaluation.expertId): \(refusal.message)", logger)
        return .failure(refusal)
      }
      try await db.run(
        """
        INSERT INTO application_evaluations (application_id, expert_id, scores, comments, recommends, evaluated_at, actor)
        VALUES (\(evaluation.applicationId), \(evaluation.expertId), \(ApplicationRules.encodeScores(evaluation.scoresMilli)),
          \(ApplicationRules.encodeComments(evaluation.comments)), \(evaluation.recommends), \(now), \(actor))
        ON CONFLICT (application_id, expert_id) DO UPDATE SET scores = excluded.scores, comments = excluded.comments,
          recommends = excluded.recommends, evaluated_at = excluded.evaluated_at, actor = excluded.actor
        """, logger)
      try await PostgresRows.appendAudit(
        db, at: now, actor: actor, action: "application.score", subject: evaluation.applicationId,
        detail: "expert \(evaluation.expertId): \(ApplicationRules.encodeScores(evaluation.scoresMilli))"
          + (evaluation.recommends ? ", recommends" : ", does not recommend"), logger)
      return .success(true)
    }
    _ = try outcome.get()
  }

  public func evaluations(applicationId: String) async throws -> [ExpertEvaluationRecord] {
    let logger = self.logger
    return try await read("reading the evaluations of \(applicationId)") { db in
      try await Self.evaluations(db, applicationId: applicationId, logger)
    }
  }

  static func evaluations(_ db: PostgresConnection, applicationId: String, _ logger: Logger) async throws
    -> [ExpertEvaluationRecord]
  {
    try await db.rows(
      "SELECT * FROM application_evaluations WHERE application_id = \(applicationId) ORDER BY expert_id", logger
    ).map { row in
      ExpertEvaluationRecord(
        applicationId: try row.get("application_id"), expertId: try row.get("expert_id"),
        scoresMilli: ApplicationRules.decodeScores(try row.get("scores")),
        comments: ApplicationRules.decodeComments(try row.get("comments")), recommends: try row.get("recommends"),
        evaluatedAtMicros: try row.get("evaluated_at"), actor: try row.get("actor"))
    }
  }

  // MARK: Decisions and the registry

  public func recordDecision(_ decision: ApplicationDecisionRecord, weighting: ApplicationWeighting, actor: String)
    async throws -> StoredApplication
  {
    let now = configuration.nowMicros()
    let logger = self.logger
    return try await applicationWrite("recording the decision on \(decision.applicationId)") { db in
      let application = try await Self.requireApplication(db, id: decision.applicationId, logger)
      let completed = try ApplicationRules.completeDecision(
        decision, application: application, call: try await Self.call(db, year: application.callYear, logger),
        evaluations: try await Self.evaluations(db, applicationId: application.applicationId, logger),
        weighting: weighting, actor: actor, now: now)
      try await db.run(
        """
        INSERT INTO application_decisions (application_id, recognised, document_number, document_date, issuer, base_id,
          first_report_year, reason, score_milli, recommended, weighting_id, decided_by, decided_at)
        VALUES (\(completed.applicationId), \(completed.recognised), \(completed.documentNumber), \(completed.documentDate),
          \(completed.issuer), \(completed.baseId), \(completed.firstReportYear), \(completed.reason),
          \(completed.scoreMilli), \(completed.recommended), \(completed.weightingId), \(completed.decidedBy),
          \(completed.decidedAtMicros))
        """, logger)
      if completed.recognised {
        let baseId = completed.baseId
        var existing: BaseRecord?
        if let row = try await db.row("SELECT * FROM bases WHERE base_id = \(baseId) FOR UPDATE", logger) {
          existing = try await PostgresRows.base(db, row, logger)
        }
        let historyCount =
          try await db.row("SELECT count(*) AS n FROM base_level_history WHERE base_id = \(baseId)", logger)?
          .get("n", as: Int64.self) ?? 0
        let (base, entries) = try ApplicationRules.recognition(
          completed, application: application, existingBase: existing, historyCount: Int(historyCount), now: now)
        try await Self.writeBase(db, base, now: now, actor: actor, logger)
        for entry in entries {
          try await db.run(
            """
            INSERT INTO base_level_history (base_id, position, level, effective_date, document_number, issuer, reason,
              application_id, recorded_at)
            VALUES (\(entry.baseId), \(entry.position), \(entry.level.rawValue), \(entry.effectiveDate),
              \(entry.documentNumber), \(entry.issuer), \(entry.reason), \(entry.applicationId), \(entry.recordedAtMicros))
            """, logger)
        }
      }
      try await Self.changeState(
        db, application, to: completed.recognised ? .recognised : .notRecognised, at: now, actor: actor,
        reason: "\(completed.documentNumber) (\(completed.documentDate))\(completed.reason.isEmpty ? "" : ": \(completed.reason)")",
        action: "application.decide", logger)
      return try await Self.requireApplication(db, id: application.applicationId, logger)
    }
  }

  public func decision(applicationId: String) async throws -> ApplicationDecisionRecord? {
    let logger = self.logger
    return try await read("reading the decision on \(applicationId)") { db in
      try await db.row("SELECT * FROM application_decisions WHERE application_id = \(applicationId)", logger).map(Self.decision)
    }
  }

  public func decisions(documentYear: Int, recognisedOnly: Bool) async throws -> [ApplicationDecisionRecord] {
    let logger = self.logger
    let prefix = String(format: "%04d", documentYear)
    return try await read("listing the decisions of \(documentYear)") { db in
      try await db.rows(
        """
        SELECT * FROM application_decisions WHERE substr(document_date, 1, 4) = \(prefix) AND (recognised OR NOT \(recognisedOnly))
        ORDER BY document_date, application_id
        """, logger
      ).map(Self.decision)
    }
  }

  static func decision(_ row: PostgresRandomAccessRow) throws -> ApplicationDecisionRecord {
    ApplicationDecisionRecord(
      applicationId: try row.get("application_id"), recognised: try row.get("recognised"),
      documentNumber: try row.get("document_number"), documentDate: try row.get("document_date"),
      issuer: try row.get("issuer"), baseId: try row.get("base_id"), firstReportYear: try row.get("first_report_year"),
      reason: try row.get("reason"), scoreMilli: try row.get("score_milli"), recommended: try row.get("recommended"),
      weightingId: try row.get("weighting_id"), decidedBy: try row.get("decided_by"),
      decidedAtMicros: try row.get("decided_at"))
  }

  public func levelHistory(baseId: String) async throws -> [LevelChangeRecord] {
    let logger = self.logger
    return try await read("reading the level history of \(baseId)") { db in
      try await db.rows("SELECT * FROM base_level_history WHERE base_id = \(baseId) ORDER BY position", logger).map { row in
        LevelChangeRecord(
          baseId: try row.get("base_id"), position: try row.get("position"),
          level: BaseRecord.Level(rawValue: try row.get("level")) ?? .national,
          effectiveDate: try row.get("effective_date"), documentNumber: try row.get("document_number"),
          issuer: try row.get("issuer"), reason: try row.get("reason"), applicationId: try row.get("application_id"),
          recordedAtMicros: try row.get("recorded_at"))
      }
    }
  }
}
