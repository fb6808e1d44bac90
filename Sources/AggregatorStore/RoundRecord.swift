public import HiTechDomain

/// The aggregator's view of one yearly round: whether reports for its year are accepted.
public struct RoundRecord: Sendable, Hashable {
  /// The domain's round state (one enum for the coordinator and the aggregator).
  public typealias State = RoundState

  public enum LatePolicy: String, Sendable, Hashable, CaseIterable {
    /// After the deadline, reports are still accepted and marked late.
    case acceptMarkLate = "accept_mark_late"
    /// After the deadline, reports are refused (`failedPrecondition`).
    case refuse
  }

  public var reportYear: Int
  public var state: State
  public var latePolicy: LatePolicy
  public var opensAtMicros: Int64?
  public var deadlineMicros: Int64?
  public var updatedAtMicros: Int64

  public init(
    reportYear: Int,
    state: State,
    latePolicy: LatePolicy,
    opensAtMicros: Int64? = nil,
    deadlineMicros: Int64? = nil,
    updatedAtMicros: Int64 = 0
  ) {
    self.reportYear = reportYear
    self.state = state
    self.latePolicy = latePolicy
    self.opensAtMicros = opensAtMicros
    self.deadlineMicros = deadlineMicros
    self.updatedAtMicros = updatedAtMicros
  }
}
