// Rows of the read-only monitoring queries (the dashboard, its JSON API, `hitech status`).

/// A rejected submission of a round, with the findings that refused it.
public struct RejectedSubmissionRow: Sendable, Hashable {
  public var submissionId: String
  public var reporterCode: String
  public var baseId: String
  /// The base's Chinese name; empty when the submission named a base not in the registry.
  public var baseNameZh: String
  public var receivedAtMicros: Int64
  public var findings: [StoredFinding]

  public init(
    submissionId: String, reporterCode: String, baseId: String, baseNameZh: String, receivedAtMicros: Int64,
    findings: [StoredFinding]
  ) {
    self.submissionId = submissionId
    self.reporterCode = reporterCode
    self.baseId = baseId
    self.baseNameZh = baseNameZh
    self.receivedAtMicros = receivedAtMicros
    self.findings = findings
  }
}

/// An accepted submission of a round that arrived after the deadline (`late`).
public struct LateSubmissionRow: Sendable, Hashable {
  public var submissionId: String
  public var accessionNumber: String
  public var reporterCode: String
  public var baseId: String
  public var baseNameZh: String
  public var revision: Int
  public var receivedAtMicros: Int64

  public init(
    submissionId: String, accessionNumber: String, reporterCode: String, baseId: String, baseNameZh: String,
    revision: Int, receivedAtMicros: Int64
  ) {
    self.submissionId = submissionId
    self.accessionNumber = accessionNumber
    self.reporterCode = reporterCode
    self.baseId = baseId
    self.baseNameZh = baseNameZh
    self.revision = revision
    self.receivedAtMicros = receivedAtMicros
  }
}

/// When an expected base's first accepted revision of a round arrived (the arrivals chart).
public struct BaseFirstAcceptance: Sendable, Hashable {
  public var baseId: String
  public var reporterCode: String
  /// The aggregator's wall-clock time (the receipt's).
  public var receivedAtMicros: Int64
  /// The same instant on the round's calendar (the arrival log's `round_clock_at`); nil when
  /// the round's calendar was never given.
  public var roundClockMicros: Int64?
  public var late: Bool

  public init(baseId: String, reporterCode: String, receivedAtMicros: Int64, roundClockMicros: Int64? = nil, late: Bool) {
    self.baseId = baseId
    self.reporterCode = reporterCode
    self.receivedAtMicros = receivedAtMicros
    self.roundClockMicros = roundClockMicros
    self.late = late
  }

  /// When it arrived on the round's calendar (the wall-clock time when the calendar is not
  /// known).
  public var calendarMicros: Int64 { roundClockMicros ?? receivedAtMicros }
}

