import HiTechDomain

/// Applications for recognition and upgrades, their evaluation and the decisions
/// (proto-schemas/APPLICATIONS.md), kept by the aggregator's store beside the registry so that a
/// recognition changes the registry in the transaction that records the decision.
///
/// The contract, whichever backend (`Tests/StoreContractTests/ApplicationContractTests`):
///
/// - Filing follows the rules of reports: a submission id is stored once (the same id with the
///   same content answers the first receipt again, with other content it is refused); identical
///   content of the latest revision under a new id is a duplicate; a correction is revision N+1
///   replacing N. The application is keyed by (reporter, application_ref) and gets its id at
///   revision 1. A first filing needs its call OPEN; a correction the call OPEN or CLOSED and the
///   application SUBMITTED.
/// - Revisions, submissions, state changes, decisions and level history entries are never edited
///   nor deleted. Every change is in the audit log, in the same transaction.
/// - Scores are taken only while the call is EVALUATING and the application UNDER_EVALUATION,
///   never from an expert of the applicant's province (``ExpertConflict``).
/// - A recognition creates the base (new) or re-levels it (upgrade) through the store's registry
///   write path, and appends to the base's level history naming the application, in the
///   decision's transaction.
///
/// Refusals are ``StoreError``s whose message starts with the rule code (e.g.
/// `R-APP-EXPERT-CONFLICT: …`).
public protocol ApplicationStore: Sendable {
  /// Creates or replaces a call, with an audit entry.
  func setCall(_ call: ApplicationCallRecord, reason: String, actor: String) async throws
  /// The call of a year, if one was recorded.
  func call(year: Int) async throws -> ApplicationCallRecord?
  /// Every call, newest year first.
  func calls() async throws -> [ApplicationCallRecord]

  /// Decides and durably stores one filing (revision), answering only after the commit.
  func fileApplication(_ filing: ApplicationFiling) async throws -> ApplicationFilingOutcome
  /// The application with this centre id, or nil.
  func application(id: String) async throws -> StoredApplication?
  /// The application of a reporter with this reference, or nil.
  func application(reporterCode: String, applicationRef: String) async throws -> StoredApplication?
  /// Applications, filtered (nil / empty = all), by application id.
  func applications(callYear: Int?, reporterCode: String?, states: [ApplicationState]) async throws -> [StoredApplication]
  /// Every revision of an application, oldest first.
  func applicationRevisions(applicationId: String) async throws -> [StoredApplicationRevision]
  /// Every state change of an application, oldest first.
  func applicationHistory(applicationId: String) async throws -> [ApplicationStateChangeRecord]
  /// The applicant withdraws its application (SUBMITTED or UNDER_EVALUATION); again: unchanged.
  func withdrawApplication(id: String, reporterCode: String, reason: String, actor: String) async throws -> StoredApplication
  /// SUBMITTED → UNDER_EVALUATION (its call CLOSED or EVALUATING); again: unchanged.
  func startEvaluation(applicationId: String, reason: String, actor: String) async throws -> StoredApplication

  /// Creates or replaces an expert of the pool.
  func upsertExpert(_ expert: ExpertRecord, actor: String) async throws
  /// The pool, by expert id.
  func experts() async throws -> [ExpertRecord]
  /// Records one expert's complete evaluation, replacing the expert's earlier one.
  func recordEvaluation(_ evaluation: ExpertEvaluationRecord, actor: String) async throws
  /// The evaluations of an application, by expert id.
  func evaluations(applicationId: String) async throws -> [ExpertEvaluationRecord]

  /// Records the decision (UNDER_EVALUATION, at least `weighting.minExperts` complete
  /// evaluations); a recognition registers or re-levels the base in the same transaction.
  func recordDecision(_ decision: ApplicationDecisionRecord, weighting: ApplicationWeighting, actor: String) async throws
    -> StoredApplication
  /// The decision on an application, or nil.
  func decision(applicationId: String) async throws -> ApplicationDecisionRecord?
  /// The decisions whose document is dated in `year` (recognitions only when asked), by document
  /// date then application id.
  func decisions(documentYear: Int, recognisedOnly: Bool) async throws -> [ApplicationDecisionRecord]
  /// A base's level history, oldest first (empty for a base imported with none).
  func levelHistory(baseId: String) async throws -> [LevelChangeRecord]
}
