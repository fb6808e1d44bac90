/// One event of the arrival log (ArrivalStatus.WatchArrivals): a stored submission outcome or an
/// applied round step.
public struct ArrivalLogEntry: Sendable, Hashable {
  /// The event's position in the arrival log (for a submission stored before the log carried
  /// round steps: its row id).
  public var sequence: Int64
  /// When the submission was stored (for a duplicate: this one, not the original) or the step
  /// applied, microseconds since 1970-01-01T00:00:00Z, on the aggregator's clock.
  public var storedAtMicros: Int64
  /// The same instant on the round's calendar (see ``RoundStepMark``); nil when the round's
  /// calendar was never given.
  public var roundClockMicros: Int64?
  /// The submission's receipt, exactly as `receipt(submissionId:)` answers it; nil for a step.
  public var receipt: StoredReceipt?
  /// The round step; nil for a submission.
  public var roundStep: ArrivalLogRoundStep?

  public init(
    sequence: Int64, storedAtMicros: Int64, roundClockMicros: Int64? = nil, receipt: StoredReceipt? = nil,
    roundStep: ArrivalLogRoundStep? = nil
  ) {
    self.sequence = sequence
    self.storedAtMicros = storedAtMicros
    self.roundClockMicros = roundClockMicros
    self.receipt = receipt
    self.roundStep = roundStep
  }
}

/// An applied round step as the arrival log reads it.
public struct ArrivalLogRoundStep: Sendable, Hashable {
  public var stepId: String
  public var reportYear: Int
  /// Nil for a step applied before steps recorded their kind, when neither its state nor its
  /// id says it.
  public var kind: RoundStepMark.Kind?
  /// The round's state after the step.
  public var state: RoundRecord.State
  /// Reporters sent a notice by the step.
  public var addressedReporters: Int

  public init(stepId: String, reportYear: Int, kind: RoundStepMark.Kind?, state: RoundRecord.State, addressedReporters: Int) {
    self.stepId = stepId
    self.reportYear = reportYear
    self.kind = kind
    self.state = state
    self.addressedReporters = addressedReporters
  }

  /// The kind recorded with the step, or for a step recorded before kinds were: what its state
  /// and its id say.
  package static func kind(recorded: String, state: RoundRecord.State, stepId: String) -> RoundStepMark.Kind? {
    if let kind = RoundStepMark.Kind(rawValue: recorded) { return kind }
    if stepId.contains("/reminder") { return .reminded }
    switch state {
    case .open: return .opened
    case .closed: return .closed
    case .assessed: return .assessed
    case .published: return .published
    default: return nil
    }
  }
}

/// What a round step is, and the round's calendar when the coordinator sent it.
public struct RoundStepMark: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable, CaseIterable {
    case opened, reminded, closed, assessed, published
  }

  public var kind: Kind?
  /// The round's calendar (the coordinator's clock) when the step was sent, microseconds since
  /// 1970-01-01T00:00:00Z; nil = the aggregator's own clock.
  public var calendarAtMicros: Int64?
  /// Calendar seconds per real second (a demonstration runs faster); 1 for real time.
  public var calendarSpeed: Double

  public init(kind: Kind?, calendarAtMicros: Int64? = nil, calendarSpeed: Double = 1) {
    self.kind = kind
    self.calendarAtMicros = calendarAtMicros
    self.calendarSpeed = calendarSpeed.isFinite && calendarSpeed > 0 ? calendarSpeed : 1
  }
}

/// The arrival log: every stored submission outcome and every applied round step, in the order
/// of one sequence the store assigns (the `arrival_events` table, filled by triggers), readable
/// from any position. Sequences only grow and are never reused, so a reader that remembers the
/// last sequence it handled misses and repeats nothing, whichever aggregator stored the event.
public protocol ArrivalLog: Sendable {
  /// Entries with a sequence above `afterSequence`, oldest first, at most `limit` (capped to
  /// 1...1000), of one report year (all when nil) and one submitting reporter (all when nil;
  /// round steps are every reporter's).
  ///
  /// Only entries below the log's settled end are returned: every submission with a lower
  /// sequence has been committed or will never be (on PostgreSQL, concurrent transactions of
  /// several aggregators may commit out of row-id order; the store waits for those in flight).
  func arrivals(afterSequence: Int64, reportYear: Int?, reporterCode: String?, limit: Int) async throws -> [ArrivalLogEntry]

  /// The settled end of the log: the highest sequence below which every event is committed
  /// (0 when none).
  func lastArrivalSequence() async throws -> Int64

  /// The round steps of one report year in the log, oldest first (the dashboard marks them on
  /// the round's calendar).
  func roundSteps(reportYear: Int) async throws -> [ArrivalLogEntry]
}
