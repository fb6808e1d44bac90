/// The arrival state of one expected base for one report year (arrival_status_service.proto
/// `BaseArrival`).
public struct BaseArrivalRow: Sendable, Hashable {
  public enum State: String, Sendable, Hashable {
    /// Nothing received.
    case missing
    /// Only rejected submissions so far.
    case rejected
    /// Its first accepted revision arrived on time.
    case accepted
    /// Its first accepted revision arrived late.
    case acceptedLate
  }

  public var baseId: String
  public var baseNameZh: String
  public var reporterCode: String
  public var state: State
  /// Latest accepted revision; 0 if none.
  public var currentRevision: Int
  /// Accession number of that revision; empty if none.
  public var accessionNumber: String
  public var acceptedRevisions: Int
  public var rejectedSubmissions: Int
  /// Warnings not overridden on the current revision.
  public var warnings: Int
  /// The latest submission for the base, any outcome; nil if none.
  public var lastSubmissionAtMicros: Int64?
  /// Findings of the latest rejected submission when the state is `.rejected`; else empty.
  public var lastRejectionFindings: [StoredFinding]

  public init(
    baseId: String,
    baseNameZh: String,
    reporterCode: String,
    state: State,
    currentRevision: Int,
    accessionNumber: String,
    acceptedRevisions: Int,
    rejectedSubmissions: Int,
    warnings: Int,
    lastSubmissionAtMicros: Int64?,
    lastRejectionFindings: [StoredFinding]
  ) {
    self.baseId = baseId
    self.baseNameZh = baseNameZh
    self.reporterCode = reporterCode
    self.state = state
    self.currentRevision = currentRevision
    self.accessionNumber = accessionNumber
    self.acceptedRevisions = acceptedRevisions
    self.rejectedSubmissions = rejectedSubmissions
    self.warnings = warnings
    self.lastSubmissionAtMicros = lastSubmissionAtMicros
    self.lastRejectionFindings = lastRejectionFindings
  }
}

/// The arrival counts of one reporter for one report year (`ReporterArrival`). Counts are of
/// bases, except `rejectedSubmissions`.
public struct ReporterArrivalRow: Sendable, Hashable {
  public var reporterCode: String
  public var nameZh: String
  /// Active bases with `firstReportYear <= year`.
  public var expected: Int
  /// Expected bases with at least one accepted revision.
  public var accepted: Int
  /// Expected bases with rejected submissions and no accepted revision.
  public var rejected: Int
  /// Expected bases with no accepted revision (`expected - accepted`; includes `rejected`).
  public var missing: Int
  /// Expected bases whose first accepted revision arrived late.
  public var late: Int
  /// The reporter's latest submission for the year, any outcome, any base; nil if none.
  public var lastSubmissionAtMicros: Int64?
  /// Rejected submissions (not bases) of the year.
  public var rejectedSubmissions: Int

  public init(
    reporterCode: String,
    nameZh: String,
    expected: Int,
    accepted: Int,
    rejected: Int,
    missing: Int,
    late: Int,
    lastSubmissionAtMicros: Int64?,
    rejectedSubmissions: Int
  ) {
    self.reporterCode = reporterCode
    self.nameZh = nameZh
    self.expected = expected
    self.accepted = accepted
    self.rejected = rejected
    self.missing = missing
    self.late = late
    self.lastSubmissionAtMicros = lastSubmissionAtMicros
    self.rejectedSubmissions = rejectedSubmissions
  }
}

/// Arrival status of one report year: one row per reporter (ordered by code) and one per
/// expected base (ordered by reporter code, then base id).
public struct ArrivalStatus: Sendable, Hashable {
  public var reportYear: Int
  public var reporters: [ReporterArrivalRow]
  public var bases: [BaseArrivalRow]

  public init(reportYear: Int, reporters: [ReporterArrivalRow], bases: [BaseArrivalRow]) {
    self.reportYear = reportYear
    self.reporters = reporters
    self.bases = bases
  }
}
