/// The aggregator's durable store, whatever database holds it: the one boundary between the
/// services (ReportIngest, RoundRelay, RoundNotices, ArrivalStatus, the dashboard) and storage.
///
/// Two backends implement it with the same contract (one test suite runs against both):
/// ``AggregatorDatabase``, an embedded SQLite file through GRDB (the default), and
/// `PostgresReportStore` in the `AggregatorStorePostgres` module, which several aggregator
/// processes can share. The contract, whichever backend:
///
/// - History is append-only: submissions, their original bytes and findings, report revisions,
///   round steps, notices and the audit log are never edited nor deleted.
/// - A submission id is stored once, with no time window: the same id with the same content
///   answers the first receipt again, with other content it is refused. Identical content of
///   the latest revision under a new id is a duplicate answered with the original receipt. A
///   correction is revision N+1 replacing N; anything else is refused with a stable rule code.
/// - ``IngestStore/ingest(_:)`` answers only after the transaction holding the decision is
///   durably committed, and decides many concurrent submissions in one transaction.
/// - Accession numbers are unique and never reused (gaps are allowed).
/// - Schema migrations are versioned, recorded in the database, and never edited.
///
/// The store is split by concern so that a component can ask for only what it uses.
public protocol ReportStore: IngestStore, RegistryStore, RoundStore, ArrivalQueries, ArrivalLog, SubmissionsLog, AuditTrail {
  /// Where the store is, for logs and messages: `sqlite:PATH` or `postgres://user@host:port/db`
  /// (never a password).
  var location: String { get }

  /// Stops taking submissions, waits for those already queued to be decided, and closes the
  /// store. Later calls fail.
  func close() async throws
}

/// Storing submissions and reading back receipts and reports.
public protocol IngestStore: Sendable {
  /// Decides and durably stores one submission, grouped with the others queued at the same
  /// time into one transaction (group commit). Returns only after that transaction committed.
  ///
  /// - Throws: a retryable ``StoreError`` (`.unavailable`) when the batch's transaction failed:
  ///   nothing of it was stored. Another ``StoreError`` when this request alone could not be
  ///   stored (a bug; not retryable).
  func ingest(_ request: IngestRequest) async throws -> IngestOutcome

  /// This process's group-commit counters since the store was opened.
  var ingestStatistics: IngestStatistics { get async }

  /// The receipt stored for a submission id (accepted, duplicate or rejected), or nil.
  func receipt(submissionId: String) async throws -> StoredReceipt?

  /// The receipt of the accepted submission that got this accession number, or nil.
  func receipt(accessionNumber: String) async throws -> StoredReceipt?

  /// A reporter's receipts for a report year (optionally of one base), newest stored first;
  /// `pageSize` is capped to 1...1000, `pageToken` is nil or a previous page's token.
  ///
  /// - Throws: ``StoreError`` `.invalidArgument` for a token this store did not make.
  func submissions(
    reporterCode: String, reportYear: Int, baseId: String?, pageSize: Int, pageToken: String?
  ) async throws -> SubmissionPage

  /// The base, the round of `reportYear` and the base's report for the year before, read in
  /// one snapshot. (Submit reads the same through a ``RegistryReadModel``, which keeps the
  /// registry and rounds in memory.)
  func submissionContext(baseId: String, reportYear: Int) async throws -> SubmissionContext

  /// Every base (with its fields) and every round, with the registry generation, in one
  /// snapshot (what ``RegistryReadModel`` loads when the generation moved).
  func registrySnapshot() async throws -> RegistrySnapshot

  /// The registry generation and the latest revision of the (base, `previousYear`) report, in
  /// one snapshot and as few statements as the backend can (what every Submit reads).
  func submissionFacts(baseId: String, previousYear: Int) async throws -> SubmissionFacts

  /// The latest stored revision of the (base, year) report with its original bytes, or nil.
  func latestReport(baseId: String, reportYear: Int) async throws -> StoredReport?

  /// The latest revisions of (base, year) and of (base, year - 1), read in one snapshot.
  func latestReports(baseId: String, reportYear: Int) async throws -> (current: StoredReport?, previousYear: StoredReport?)

  /// Every stored revision of the (base, year) report, oldest first.
  func revisions(baseId: String, reportYear: Int) async throws -> [StoredReport]
}

/// The registry: reporters, their CurveZMQ keys, the keys of central principals, and bases.
/// Every change is recorded in the audit log in the same transaction, with the `actor` named.
public protocol RegistryStore: Sendable {
  /// Creates the reporter, or replaces every field of the stored one with the same code.
  func upsertReporter(_ reporter: ReporterRecord, actor: String) async throws
  /// All reporters, ordered by code.
  func reporters() async throws -> [ReporterRecord]
  /// The reporter with this code, or nil.
  func reporter(code: String) async throws -> ReporterRecord?

  /// Registers a reporter's CurveZMQ public key (again: nothing happens).
  ///
  /// - Throws: ``StoreError`` `.invalidArgument` (not 40 Z85 characters), `.notFound` (unknown
  ///   reporter), `.alreadyExists` (another owner's key, or a retired one).
  func registerKey(_ publicKeyZ85: String, reporterCode: String, comment: String, actor: String) async throws
  /// Retires a reporter's or a principal's key (again: nothing happens).
  ///
  /// - Throws: ``StoreError`` `.notFound` for an unknown key.
  func retireKey(_ publicKeyZ85: String, actor: String) async throws
  /// Reporters' keys, of one reporter or of all, ordered by reporter then registration time.
  func keys(reporterCode: String?, includeRetired: Bool) async throws -> [ReporterKeyRecord]
  /// The reporter a connection with this key speaks for: nil unless the key is registered, not
  /// retired, and its reporter active.
  func reporterCode(forKey publicKeyZ85: String) async throws -> String?

  /// Registers the key of the coordinator or of an operator (again: nothing happens).
  func registerPrincipalKey(
    _ publicKeyZ85: String, role: PrincipalKeyRecord.Role, name: String, comment: String, actor: String
  ) async throws
  /// Keys of central principals, ordered by role, name, registration time.
  func principalKeys(includeRetired: Bool) async throws -> [PrincipalKeyRecord]

  /// Creates the base, or replaces every field of the stored one with the same id.
  func upsertBase(_ base: BaseRecord, actor: String) async throws
  /// Withdraws a base (again: nothing happens). Its stored reports stay.
  func retireBase(_ baseId: String, actor: String) async throws
  /// Bases, of one reporter or of all, ordered by reporter then id.
  func bases(reporterCode: String?, includeWithdrawn: Bool) async throws -> [BaseRecord]
  /// The base with this id, or nil.
  func base(id baseId: String) async throws -> BaseRecord?
}

/// The aggregator's view of the yearly rounds, the steps the coordinator applied, and the
/// notices issued to reporters.
public protocol RoundStore: Sendable {
  /// Records a round's state (an operator's command), with an audit entry.
  func setRound(_ round: RoundRecord, actor: String) async throws
  /// The round of a report year, if one was recorded.
  func round(reportYear: Int) async throws -> RoundRecord?
  /// Every recorded round, newest year first.
  func rounds() async throws -> [RoundRecord]
  /// The full round as the coordinator last sent it (serialized `ndrc.hitech.v1.Round`).
  func roundDetail(reportYear: Int) async throws -> [UInt8]?

  /// Applies one step of a round in one transaction: the round's new state and the notices
  /// `makeNotices` addresses from a snapshot taken in that transaction. Idempotent by `stepId`.
  ///
  /// `mark` says which step it is and the round's calendar when it was sent (recorded with the
  /// step; the arrival log dates submissions on that calendar).
  ///
  /// - Throws: ``StoreError`` `.failedPrecondition` when the round would move backwards.
  func applyRoundStep(
    stepId: String,
    round: RoundRecord,
    roundDetail: [UInt8],
    actor: String,
    mark: RoundStepMark,
    makeNotices: @escaping @Sendable (RoundStepSnapshot) throws -> [OutgoingNotice]
  ) async throws -> AppliedRoundStep

  /// Notices to `reporterCode` with a sequence above `afterSequence`, oldest first, of the given
  /// report years (all when empty), at most `limit`. Sequences only grow, so a reader that
  /// remembers the last one it saw misses nothing, whichever aggregator issued the notice.
  func notices(reporterCode: String, afterSequence: Int64, reportYears: [Int], limit: Int) async throws -> [StoredNotice]
  /// The highest notice sequence issued so far (0 when none).
  func lastNoticeSequence() async throws -> Int64
}

extension RoundStore {
  /// ``applyRoundStep(stepId:round:roundDetail:actor:mark:makeNotices:)`` with the step's kind
  /// read from the round's state and the step id, on the aggregator's own clock.
  public func applyRoundStep(
    stepId: String,
    round: RoundRecord,
    roundDetail: [UInt8],
    actor: String,
    makeNotices: @escaping @Sendable (RoundStepSnapshot) throws -> [OutgoingNotice]
  ) async throws -> AppliedRoundStep {
    try await applyRoundStep(
      stepId: stepId, round: round, roundDetail: roundDetail, actor: actor,
      mark: RoundStepMark(kind: ArrivalLogRoundStep.kind(recorded: "", state: round.state, stepId: stepId)),
      makeNotices: makeNotices)
  }
}

/// Read-only arrival monitoring: the status table, rejections, late reports, the arrivals
/// chart (the dashboard, its JSON API, `hitech status`, ArrivalStatus.Get).
public protocol ArrivalQueries: Sendable {
  /// Arrival status of a report year, per reporter (all active ones, or the one named) and per
  /// expected base. Only submissions by a base's own reporter count for it.
  func arrivalStatus(reportYear: Int, reporterCode: String?) async throws -> ArrivalStatus
  /// Rejected submissions of a report year, newest first, at most `limit`, with findings.
  func rejectedSubmissions(reportYear: Int, reporterCode: String?, limit: Int) async throws -> [RejectedSubmissionRow]
  /// Accepted submissions of a report year marked late, newest first, at most `limit`.
  func lateSubmissions(reportYear: Int, reporterCode: String?, limit: Int) async throws -> [LateSubmissionRow]
  /// When each expected base's first accepted revision of the year arrived, oldest first.
  func firstAcceptances(reportYear: Int, reporterCode: String?) async throws -> [BaseFirstAcceptance]
  /// How many distinct reporters sent a submission received at or after `sinceMicros`.
  func activeReporterCount(sinceMicros: Int64) async throws -> Int
}

/// The append-only audit log.
public protocol AuditTrail: Sendable {
  /// Entries after `afterId` (0 for the start), oldest first, at most `limit`.
  func auditLog(afterId: Int64, limit: Int) async throws -> [AuditEntry]
  /// The newest `limit` entries, newest first.
  func recentAuditEntries(limit: Int) async throws -> [AuditEntry]
}
