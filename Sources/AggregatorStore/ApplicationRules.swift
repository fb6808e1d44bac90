import Foundation
import HiTechDomain

/// The decisions about applications that need no database (APPLICATIONS.md): ids, the filing
/// rules, the state changes, the experts' and the decision's checks. Every backend decides with
/// these, so that a rule cannot differ between them. Each refusal is a ``StoreError`` whose
/// message starts with its rule code.
package enum ApplicationRules {
  /// "APP-" + 4-digit call year + "-" + 6-digit number.
  package static func applicationId(callYear: Int, number: Int64) -> String {
    let y = String(callYear)
    let n = String(number)
    return "APP-" + String(repeating: "0", count: max(0, 4 - y.count)) + y
      + "-" + String(repeating: "0", count: max(0, 6 - n.count)) + n
  }

  static func refusal(_ code: StoreError.Code, _ rule: String, _ message: String) -> StoreError {
    StoreError(code: code, message: "\(rule): \(message)")
  }

  package static func malformed(_ filing: ApplicationFiling) -> IngestConflict? {
    func invalid(_ message: String) -> IngestConflict {
      IngestConflict(code: .invalidArgument, ruleCode: "R-REQUEST-INVALID", message: message)
    }
    if !EnvelopeRule.isValidSubmissionID(filing.submissionId) {
      return IngestConflict(
        code: .invalidArgument, ruleCode: "R-SUBMISSION-ID",
        message: "submission_id must be 1..64 characters of [A-Za-z0-9._-]")
    }
    if !EnvelopeRule.isValidSubmissionID(filing.applicationRef) {
      return IngestConflict(
        code: .invalidArgument, ruleCode: "R-APP-REF",
        message: "application_ref must be 1..64 characters of [A-Za-z0-9._-]")
    }
    if filing.reporterCode.isEmpty { return invalid("the reporter code is empty") }
    if filing.contentSHA256.count != 32 {
      return invalid("content_sha256 has \(filing.contentSHA256.count) bytes; a SHA-256 has 32")
    }
    if !(1000...9999).contains(filing.callYear) { return invalid("call year \(filing.callYear) is not a 4-digit year") }
    if filing.kind == .upgradeToNational && filing.upgradesBaseId.isEmpty {
      return invalid("an upgrade names the base it upgrades")
    }
    return nil
  }

  /// What is stored under a submission id already.
  package struct KnownSubmission: Sendable {
    package var receipt: ApplicationReceiptRecord
    package init(receipt: ApplicationReceiptRecord) { self.receipt = receipt }
  }

  /// The application a filing continues, as stored.
  package struct Existing: Sendable {
    package var application: StoredApplication
    package var latestSHA256: [UInt8]
    package var latestSubmissionId: String
    package var latestReceivedAtMicros: Int64
    package init(application: StoredApplication, latestSHA256: [UInt8], latestSubmissionId: String, latestReceivedAtMicros: Int64) {
      self.application = application
      self.latestSHA256 = latestSHA256
      self.latestSubmissionId = latestSubmissionId
      self.latestReceivedAtMicros = latestReceivedAtMicros
    }
  }

  /// What a filing does, decided from what is stored.
  package enum FilingDecision: Sendable {
    /// Answer this (replay or conflict); nothing to store.
    case answer(ApplicationFilingOutcome)
    /// Record the new id as a duplicate of the latest revision.
    case duplicate(of: Existing)
    /// Store a new revision (a new application when `existing` is nil).
    case store(existing: Existing?)
  }

  package static func decideFiling(
    _ filing: ApplicationFiling, known: KnownSubmission?, existing: Existing?, call: ApplicationCallRecord?
  ) -> FilingDecision {
    if let conflict = malformed(filing) { return .answer(.conflict(conflict)) }
    if let known {
      if known.receipt.contentSHA256 == filing.contentSHA256 && known.receipt.reporterCode == filing.reporterCode {
        return .answer(.replayed(known.receipt))
      }
      return .answer(
        .conflict(
          IngestConflict(
            code: .alreadyExists, ruleCode: "R-SUBMISSION-ID-REUSED",
            message: "submission id \(filing.submissionId) was used before for other content; use a new id")))
    }
    if let existing, existing.latestSHA256 == filing.contentSHA256 {
      return .duplicate(of: existing)
    }
    let ref = filing.applicationRef
    let k = filing.revision
    let replaces = filing.replacesRevision
    guard let existing else {
      guard k == 1 && replaces == 0 else {
        return .answer(
          .conflict(
            IngestConflict(
              code: .failedPrecondition,
              ruleCode: k < 1 ? "R-REVISION-INVALID" : (k == 1 ? "R-REVISION-STALE" : "R-REVISION-GAP"),
              message: "application \(ref) has no stored revision, but this is revision \(k) replacing revision \(replaces); "
                + "file the application as revision 1 with replaces_revision 0")))
      }
      guard let call, call.state == .open else {
        return .answer(
          .conflict(
            IngestConflict(
              code: .failedPrecondition, ruleCode: "R-APP-CALL-NOT-OPEN",
              message: "the call for applications of \(filing.callYear) is \(call?.state.rawValue ?? "not announced"); "
                + "new applications are taken while it is open")))
      }
      return .store(existing: nil)
    }
    let n = existing.application.latestRevision
    let id = existing.application.applicationId
    if k == 1 {
      return .answer(
        .conflict(
          IngestConflict(
            code: .alreadyExists, ruleCode: "R-REVISION-CONFLICT",
            message: "application \(ref) is already stored as \(id) (revision \(n)); "
              + "to correct it, file revision \(n + 1) with replaces_revision \(n)")))
    }
    if k < 1 || replaces != n || k != n + 1 {
      let rule = k < 1 ? "R-REVISION-INVALID" : (replaces != n ? "R-REVISION-STALE" : "R-REVISION-GAP")
      return .answer(
        .conflict(
          IngestConflict(
            code: .failedPrecondition, ruleCode: rule,
            message: "revision \(k) replacing revision \(replaces) does not follow the latest stored revision of "
              + "application \(id), which is revision \(n); file revision \(n + 1) with replaces_revision \(n)")))
    }
    if existing.application.callYear != filing.callYear {
      return .answer(
        .conflict(
          IngestConflict(
            code: .failedPrecondition, ruleCode: "R-APP-NOT-CORRECTABLE",
            message: "application \(id) answers the call of \(existing.application.callYear), not \(filing.callYear)")))
    }
    guard existing.application.state == .submitted else {
      return .answer(
        .conflict(
          IngestConflict(
            code: .failedPrecondition, ruleCode: "R-APP-NOT-CORRECTABLE",
            message: "application \(id) is \(existing.application.state.rawValue); only a submitted application "
              + "(not yet under evaluation) can be corrected")))
    }
    guard let call, call.state == .open || call.state == .closed else {
      return .answer(
        .conflict(
          IngestConflict(
            code: .failedPrecondition, ruleCode: "R-APP-CALL-NOT-OPEN",
            message: "the call for applications of \(filing.callYear) is \(call?.state.rawValue ?? "not announced"); "
              + "corrections are taken while it is open or closed")))
    }
    return .store(existing: existing)
  }

  package static func receipt(
    _ filing: ApplicationFiling, applicationId: String, revision: Int, status: ApplicationReceiptRecord.Status,
    receivedAtMicros: Int64, duplicateOf: String, state: ApplicationState
  ) -> ApplicationReceiptRecord {
    ApplicationReceiptRecord(
      applicationId: applicationId, submissionId: filing.submissionId, applicationRef: filing.applicationRef,
      reporterCode: filing.reporterCode, callYear: filing.callYear, revision: revision, status: status,
      receivedAtMicros: receivedAtMicros, contentSHA256: filing.contentSHA256, duplicateOfSubmissionId: duplicateOf,
      applicationState: state)
  }

  // MARK: State changes

  /// The state after StartEvaluation, or nil when it is already under evaluation.
  package static func startEvaluation(_ application: StoredApplication, call: ApplicationCallRecord?) throws -> ApplicationState? {
    if application.state == .underEvaluation { return nil }
    guard application.state == .submitted else {
      throw refusal(
        .failedPrecondition, "R-APP-STATE",
        "application \(application.applicationId) is \(application.state.rawValue); only a submitted one can go to evaluation")
    }
    guard let call, call.state == .closed || call.state == .evaluating else {
      throw refusal(
        .failedPrecondition, "R-APP-EVALUATION-WINDOW",
        "the call of \(application.callYear) is \(call?.state.rawValue ?? "not announced"); the evaluation starts once it is closed")
    }
    return .underEvaluation
  }

  /// The state after Withdraw, or nil when it is already withdrawn.
  package static func withdraw(_ application: StoredApplication, reporterCode: String) throws -> ApplicationState? {
    guard application.reporterCode == reporterCode else {
      throw refusal(.notFound, "R-APP-UNKNOWN", "reporter \(reporterCode) has no application \(application.applicationId)")
    }
    if application.state == .withdrawn { return nil }
    guard application.state == .submitted || application.state == .underEvaluation else {
      throw refusal(
        .failedPrecondition, "R-APP-STATE",
        "application \(application.applicationId) is \(application.state.rawValue); a decided application cannot be withdrawn")
    }
    return .withdrawn
  }

  package static func checkEvaluation(
    _ evaluation: ExpertEvaluationRecord, application: StoredApplication, expert: ExpertRecord?, call: ApplicationCallRecord?
  ) throws {
    guard let expert, expert.active else {
      throw refusal(.notFound, "R-APP-EXPERT-UNKNOWN", "expert \(evaluation.expertId) is not an active expert of the pool")
    }
    if ExpertConflict.conflicts(expertProvince: expert.provinceCode, applicantCode: application.reporterCode) {
      throw refusal(
        .permissionDenied, "R-APP-EXPERT-CONFLICT",
        "expert \(expert.expertId) works in province \(expert.provinceCode), the province of applicant "
          + "\(application.reporterCode); an expert may not evaluate an application of their own province")
    }
    for criterion in EvaluationCriterion.allCases {
      guard let score = evaluation.scoresMilli[criterion] else {
        throw refusal(
          .invalidArgument, "R-APP-SCORES-INCOMPLETE",
          "evaluation.scores[\(criterion.name)]: no score for \(criterion.nameZh); an evaluation scores all ten criteria")
      }
      guard (0...100_000).contains(score) else {
        throw refusal(
          .invalidArgument, "R-APP-SCORE-RANGE",
          "evaluation.scores[\(criterion.name)]: \(score) is outside 0...100000 milli-points")
      }
    }
    guard application.state == .underEvaluation else {
      throw refusal(
        .failedPrecondition, "R-APP-STATE",
        "application \(application.applicationId) is \(application.state.rawValue); scores are taken under evaluation only")
    }
    guard let call, call.state == .evaluating else {
      throw refusal(
        .failedPrecondition, "R-APP-EVALUATION-WINDOW",
        "the call of \(application.callYear) is \(call?.state.rawValue ?? "not announced"); scores are taken in its evaluation window")
    }
  }

  /// Checks a decision and fills in what the store decides (score, recommendation, base id of
  /// an upgrade, first report year, issuer).
  package static func completeDecision(
    _ decision: ApplicationDecisionRecord, application: StoredApplication, call: ApplicationCallRecord?,
    evaluations: [ExpertEvaluationRecord], weighting: ApplicationWeighting, actor: String, now: Int64
  ) throws -> ApplicationDecisionRecord {
    let id = application.applicationId
    guard application.state == .underEvaluation else {
      throw refusal(
        .failedPrecondition, "R-APP-STATE",
        "application \(id) is \(application.state.rawValue); a decision is recorded on an application under evaluation")
    }
    guard let call, call.state == .evaluating || call.state == .evaluated else {
      throw refusal(
        .failedPrecondition, "R-APP-EVALUATION-WINDOW",
        "the call of \(application.callYear) is \(call?.state.rawValue ?? "not announced"); decisions follow the evaluation")
    }
    let score = ApplicationScoring.score(evaluations.map(\.criterionScores), weighting: weighting)
    guard score.complete else {
      throw refusal(
        .failedPrecondition, "R-APP-TOO-FEW-EXPERTS",
        "application \(id) has \(score.experts) complete evaluation(s); a decision needs \(weighting.minExperts)")
    }
    let document = decision.documentNumber.trimmingCharacters(in: .whitespaces)
    guard !document.isEmpty, document.count <= 100 else {
      throw refusal(.invalidArgument, "R-APP-DECISION-DOCUMENT", "decision.document.document_number: 1..100 characters")
    }
    guard let date = CalendarDate(iso: decision.documentDate) else {
      throw refusal(
        .invalidArgument, "R-APP-DECISION-DOCUMENT",
        "decision.document.date: \(decision.documentDate) is not a valid date (YYYY-MM-DD)")
    }
    let departs = decision.recognised != score.recommended
    if (departs || !decision.recognised) && decision.reason.trimmingCharacters(in: .whitespaces).isEmpty {
      throw refusal(
        .invalidArgument, "R-APP-DECISION-REASON",
        "decision.reason: required for a refusal and for a decision that departs from the recommendation "
          + "(score \(score.scoreMilli), threshold \(score.thresholdMilli), \(score.recommended ? "recommended" : "not recommended"))")
    }
    guard decision.reason.count <= 2000 else {
      throw refusal(.invalidArgument, "R-APP-DECISION-REASON", "decision.reason: at most 2000 characters")
    }
    var completed = decision
    completed.documentNumber = document
    completed.documentDate = date.description
    if completed.issuer.isEmpty { completed.issuer = "国家发展改革委" }
    completed.scoreMilli = score.scoreMilli
    completed.recommended = score.recommended
    completed.weightingId = weighting.weightingId
    completed.decidedBy = actor
    completed.decidedAtMicros = now
    if !decision.recognised {
      completed.baseId = ""
      completed.firstReportYear = 0
    } else if application.kind == .upgradeToNational {
      completed.baseId = application.upgradesBaseId
      completed.firstReportYear = 0
    } else {
      guard isValidBaseId(decision.baseId) else {
        throw refusal(
          .invalidArgument, "R-APP-BASE-ID",
          "decision.base_id: \"\(decision.baseId)\" is not 1..64 characters of [A-Z0-9-]; name the base to register")
      }
      if completed.firstReportYear == 0 { completed.firstReportYear = date.year }
      guard (1000...9999).contains(completed.firstReportYear) else {
        throw refusal(.invalidArgument, "R-APP-BASE-ID", "decision.first_report_year: \(completed.firstReportYear) is not a year")
      }
    }
    return completed
  }

  /// The base a recognition registers or re-levels, with the level history entries to append
  /// (for an upgrade of a base with no history yet, its recorded recognition comes first).
  package static func recognition(
    _ decision: ApplicationDecisionRecord, application: StoredApplication, existingBase: BaseRecord?,
    historyCount: Int, now: Int64
  ) throws -> (base: BaseRecord, history: [LevelChangeRecord]) {
    let id = application.applicationId
    var entries: [LevelChangeRecord] = []
    var base: BaseRecord
    switch application.kind {
    case .newNationalBase:
      if existingBase != nil {
        throw refusal(
          .alreadyExists, "R-APP-BASE-ID", "decision.base_id: base \(decision.baseId) is registered already; choose an unused id")
      }
      let proposed = application.proposedBase
      base = BaseRecord(
        baseId: decision.baseId, nameZh: proposed.nameZh, nameEn: proposed.nameEn, reporterCode: application.reporterCode,
        kind: proposed.kind, level: .national, fields: proposed.fields, cityCode: proposed.cityCode,
        cityNameZh: proposed.cityNameZh, recognitionDocument: decision.documentNumber,
        recognitionDate: decision.documentDate, firstReportYear: decision.firstReportYear, status: .active)
    case .upgradeToNational:
      guard let existing = existingBase, existing.reporterCode == application.reporterCode, existing.status == .active,
        existing.level == .provincial
      else {
        throw refusal(
          .failedPrecondition, "R-APP-UPGRADE-BASE",
          "base \(application.upgradesBaseId) is no longer an active provincial base of \(application.reporterCode)")
      }
      base = existing
      base.level = .national
      if historyCount == 0 {
        entries.append(
          LevelChangeRecord(
            baseId: existing.baseId, position: 0, level: .provincial, effectiveDate: existing.recognitionDate,
            documentNumber: existing.recognitionDocument, issuer: "", reason: "registered", applicationId: "",
            recordedAtMicros: now))
      }
    }
    let verb = application.kind == .newNationalBase ? "认定" : "升级"
    entries.append(
      LevelChangeRecord(
        baseId: base.baseId, position: historyCount + entries.count, level: .national,
        effectiveDate: decision.documentDate, documentNumber: decision.documentNumber, issuer: decision.issuer,
        reason: "\(verb) \(id)", applicationId: id, recordedAtMicros: now))
    return (base, entries)
  }

  package static func isValidBaseId(_ id: String) -> Bool {
    (1...64).contains(id.utf8.count)
      && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || $0 == UInt8(ascii: "-") }
  }

  /// Scores as stored: "criterion:milli" pairs in criterion order; comments likewise.
  package static func encodeScores(_ scores: [EvaluationCriterion: Int64]) -> String {
    scores.sorted { $0.key < $1.key }.map { "\($0.key.rawValue):\($0.value)" }.joined(separator: ",")
  }

  package static func decodeScores(_ text: String) -> [EvaluationCriterion: Int64] {
    var scores: [EvaluationCriterion: Int64] = [:]
    for pair in text.split(separator: ",") {
      let parts = pair.split(separator: ":")
      guard parts.count == 2, let c = Int(parts[0]).flatMap(EvaluationCriterion.init(rawValue:)), let v = Int64(parts[1])
      else { continue }
      scores[c] = v
    }
    return scores
  }
}

extension ApplicationRules {
  package static func encodeComments(_ comments: [EvaluationCriterion: String]) -> String {
    let named = Dictionary(uniqueKeysWithValues: comments.filter { !$0.value.isEmpty }.map { ($0.key.name, $0.value) })
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return (try? encoder.encode(named)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
  }

  package static func decodeComments(_ text: String) -> [EvaluationCriterion: String] {
    guard let named = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else { return [:] }
    var comments: [EvaluationCriterion: String] = [:]
    for (name, comment) in named {
      if let criterion = EvaluationCriterion(name: name) { comments[criterion] = comment }
    }
    return comments
  }
}
