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

/// What a backend reads to build an ``ArrivalStatus``; the rows are assembled here, once for
/// every backend, so that the states and counts mean the same whichever database answered.
package struct ArrivalFacts: Sendable {
  package struct Reporter: Sendable {
    package var code: String
    package var nameZh: String
    /// The newest submission of the year by this reporter (any outcome, any base).
    package var lastSubmissionAtMicros: Int64?
    /// Rejected submissions of the year by this reporter (any base).
    package var rejectedSubmissions: Int

    package init(code: String, nameZh: String, lastSubmissionAtMicros: Int64?, rejectedSubmissions: Int) {
      self.code = code
      self.nameZh = nameZh
      self.lastSubmissionAtMicros = lastSubmissionAtMicros
      self.rejectedSubmissions = rejectedSubmissions
    }
  }

  /// An expected base, with what its own reporter sent for the year.
  package struct Base: Sendable {
    package var baseId: String
    package var nameZh: String
    package var reporterCode: String
    package var acceptedRevisions: Int
    package var rejectedSubmissions: Int
    package var lastSubmissionAtMicros: Int64?
    /// The latest stored revision and its accession number, if any.
    package var current: (revision: Int, accessionNumber: String)?
    /// Whether revision 1 was accepted late.
    package var firstRevisionLate: Bool
    /// Warnings of the latest revision not overridden.
    package var warnings: Int
    /// The findings of the newest rejected submission (needed only when nothing was accepted).
    package var lastRejectionFindings: [StoredFinding]

    package init(
      baseId: String, nameZh: String, reporterCode: String, acceptedRevisions: Int, rejectedSubmissions: Int,
      lastSubmissionAtMicros: Int64?, current: (revision: Int, accessionNumber: String)?, firstRevisionLate: Bool,
      warnings: Int, lastRejectionFindings: [StoredFinding]
    ) {
      self.baseId = baseId
      self.nameZh = nameZh
      self.reporterCode = reporterCode
      self.acceptedRevisions = acceptedRevisions
      self.rejectedSubmissions = rejectedSubmissions
      self.lastSubmissionAtMicros = lastSubmissionAtMicros
      self.current = current
      self.firstRevisionLate = firstRevisionLate
      self.warnings = warnings
      self.lastRejectionFindings = lastRejectionFindings
    }

    /// True when the row shows the findings of its last rejection (nothing accepted yet).
    package var showsRejection: Bool { current == nil && rejectedSubmissions > 0 }
  }

  package var reporters: [Reporter]
  package var bases: [Base]

  package init(reporters: [Reporter], bases: [Base]) {
    self.reporters = reporters
    self.bases = bases
  }

  package func status(reportYear: Int) -> ArrivalStatus {
    let baseRows = bases.map { base -> BaseArrivalRow in
      let state: BaseArrivalRow.State =
        if base.current != nil {
          base.firstRevisionLate ? .acceptedLate : .accepted
        } else if base.rejectedSubmissions > 0 {
          .rejected
        } else {
          .missing
        }
      return BaseArrivalRow(
        baseId: base.baseId,
        baseNameZh: base.nameZh,
        reporterCode: base.reporterCode,
        state: state,
        currentRevision: base.current?.revision ?? 0,
        accessionNumber: base.current?.accessionNumber ?? "",
        acceptedRevisions: base.acceptedRevisions,
        rejectedSubmissions: base.rejectedSubmissions,
        warnings: base.current == nil ? 0 : base.warnings,
        lastSubmissionAtMicros: base.lastSubmissionAtMicros,
        lastRejectionFindings: state == .rejected ? base.lastRejectionFindings : [])
    }
    let basesByReporter = Dictionary(grouping: baseRows, by: \.reporterCode)
    let reporterRows = reporters.map { reporter -> ReporterArrivalRow in
      let own = basesByReporter[reporter.code] ?? []
      let accepted = own.filter { $0.state == .accepted || $0.state == .acceptedLate }.count
      return ReporterArrivalRow(
        reporterCode: reporter.code,
        nameZh: reporter.nameZh,
        expected: own.count,
        accepted: accepted,
        rejected: own.filter { $0.state == .rejected }.count,
        missing: own.count - accepted,
        late: own.filter { $0.state == .acceptedLate }.count,
        lastSubmissionAtMicros: reporter.lastSubmissionAtMicros,
        rejectedSubmissions: reporter.rejectedSubmissions)
    }
    return ArrivalStatus(reportYear: reportYear, reporters: reporterRows, bases: baseRows)
  }
}
