public import Foundation
public import HiTechDomain

/// The kind of a step of a round: the four transitions and the reminders between opening and
/// the deadline.
public enum StepKind: String, Sendable, Hashable, Codable, CaseIterable {
  /// PLANNED → OPEN, announced to every reporter with expected bases.
  case opened
  /// A reminder to the reporters still missing bases; no state change.
  case reminder
  /// OPEN → CLOSED at the deadline, announced with each reporter's missing bases.
  case closed
  /// CLOSED → ASSESSED: the assessment is computed and stored; nothing is announced.
  case assessed
  /// ASSESSED → PUBLISHED: the results files are written, then announced.
  case published

  /// The state a transition step leads to; `nil` for a reminder.
  public var targetState: RoundState? {
    switch self {
    case .opened: .open
    case .reminder: nil
    case .closed: .closed
    case .assessed: .assessed
    case .published: .published
    }
  }

  /// The transition step that leads to `state`; `nil` for `planned`.
  public init?(leadingTo state: RoundState) {
    switch state {
    case .planned: return nil
    case .open: self = .opened
    case .closed: self = .closed
    case .assessed: self = .assessed
    case .published: self = .published
    }
  }
}

/// Where a step is: recorded and its effects still to run, done, or deliberately not done.
public enum StepState: String, Sendable, Hashable, Codable {
  /// Recorded durably; its effects (at the aggregator, in files) are still to be driven.
  case pending
  /// Its effects are done.
  case applied
  /// Not done, by rule (a reminder outside the catch-up window, or after the round closed).
  case skipped
}

/// What a step did, kept with it (`steps.detail`, JSON).
public struct StepDetail: Sendable, Hashable, Codable {
  /// The reporters that were sent a notice, sorted.
  public var addressedReporterCodes: [String]?
  /// The notice sequence numbers the aggregator gave out, first and last.
  public var firstNoticeSequence: Int64?
  public var lastNoticeSequence: Int64?
  /// The aggregator had applied the step id before (the answer to a re-driven step).
  public var alreadyApplied: Bool?
  /// When the aggregator applied it.
  public var aggregatorAppliedAt: Date?
  /// Why a step was skipped.
  public var skippedReason: String?
  /// The step was due while the coordinator was down and was caught up late.
  public var caughtUp: Bool?
  /// The published files (names), for the PUBLISHED step.
  public var files: [String]?

  public init() {}
}

/// One step of a round as recorded in the store.
public struct RoundStep: Sendable, Hashable {
  /// Unique for ever, e.g. "2025/opened", "2025/reminder/1209600s"; the aggregator applies a
  /// step id at most once.
  public var id: String
  public var reportYear: Int
  public var kind: StepKind
  /// The reminder's offset before the deadline, in seconds.
  public var reminderOffset: Int64?
  /// When the calendar said the step is due.
  public var dueAt: Date
  public var state: StepState
  /// When it was recorded (the calendar's time).
  public var recordedAt: Date
  /// When its effects were done.
  public var appliedAt: Date?
  public var detail: StepDetail
  /// The round message sent to the aggregator (serialized `Ndrc_Hitech_V1_Round`), fixed when
  /// recorded so that a re-driven step sends the same bytes.
  public var roundMessage: [UInt8]?

  /// The step id of `kind` in `reportYear`'s round.
  public static func id(reportYear: Int, kind: StepKind, reminderOffset: Int64? = nil) -> String {
    if kind == .reminder { return "\(reportYear)/reminder/\(reminderOffset ?? 0)s" }
    return "\(reportYear)/\(kind.rawValue)"
  }
}

/// One state change of a round, for the audit trail (round.proto `RoundTransition`).
public struct RoundTransitionRecord: Sendable, Hashable {
  public var reportYear: Int
  public var from: RoundState
  public var to: RoundState
  public var at: Date
  /// "scheduled" for the calendar (", caught up" when late after downtime), else the operator's reason.
  public var reason: String
  /// "coordinator" for the calendar, else the operator.
  public var actor: String
  public var stepId: String
}

/// A round as the coordinator's store holds it.
public struct CoordinatorRound: Sendable, Hashable {
  public var reportYear: Int
  public var state: RoundState
  public var schedule: RoundSchedule
  public var transitions: [RoundTransitionRecord]
  public var steps: [RoundStep]

  /// The step of `id`, when recorded.
  public func step(_ id: String) -> RoundStep? { steps.first { $0.id == id } }
}
