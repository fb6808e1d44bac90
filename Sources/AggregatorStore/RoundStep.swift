/// What a round step needs to address its notices, read inside the step's own transaction: the
/// arrival status of the round's year and the bases expected of each reporter.
public struct RoundStepSnapshot: Sendable {
  public var status: ArrivalStatus
  /// Expected bases (active, first report year not after the round's), ordered by reporter
  /// then base id.
  public var expectedBases: [BaseRecord]

  package init(status: ArrivalStatus, expectedBases: [BaseRecord]) {
    self.status = status
    self.expectedBases = expectedBases
  }
}

/// A notice to one reporter, as the service layer encoded it (a serialized
/// `ndrc.hitech.v1.RoundNotice` without its sequence, which the store assigns).
public struct OutgoingNotice: Sendable, Hashable {
  public var reporterCode: String
  public var bytes: [UInt8]

  public init(reporterCode: String, bytes: [UInt8]) {
    self.reporterCode = reporterCode
    self.bytes = bytes
  }
}

/// A notice in the log.
public struct StoredNotice: Sendable, Hashable {
  /// Strictly increasing, never reused.
  public var sequence: Int64
  public var reporterCode: String
  public var reportYear: Int
  public var stepId: String
  public var issuedAtMicros: Int64
  public var bytes: [UInt8]

  package init(sequence: Int64, reporterCode: String, reportYear: Int, stepId: String, issuedAtMicros: Int64, bytes: [UInt8]) {
    self.sequence = sequence
    self.reporterCode = reporterCode
    self.reportYear = reportYear
    self.stepId = stepId
    self.issuedAtMicros = issuedAtMicros
    self.bytes = bytes
  }
}

/// What the store did with a round step.
public struct AppliedRoundStep: Sendable, Hashable {
  public var stepId: String
  public var reportYear: Int
  /// True when the step id had been applied before: nothing changed this time.
  public var alreadyApplied: Bool
  public var appliedAtMicros: Int64
  /// Reporters sent a notice, sorted.
  public var addressedReporterCodes: [String]
  /// First and last notice sequence issued; 0 when none.
  public var firstSequence: Int64
  public var lastSequence: Int64

  package init(
    stepId: String, reportYear: Int, alreadyApplied: Bool, appliedAtMicros: Int64, addressedReporterCodes: [String],
    firstSequence: Int64, lastSequence: Int64
  ) {
    self.stepId = stepId
    self.reportYear = reportYear
    self.alreadyApplied = alreadyApplied
    self.appliedAtMicros = appliedAtMicros
    self.addressedReporterCodes = addressedReporterCodes
    self.firstSequence = firstSequence
    self.lastSequence = lastSequence
  }
}

