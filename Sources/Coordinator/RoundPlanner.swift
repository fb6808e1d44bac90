public import Foundation
public import HiTechDomain

/// The calendar's rules, with no I/O: which step of which round is next, and whether it is
/// recorded and applied, or skipped.
///
/// - A round's next transition is due at its scheduled time (open at `opensAt`, close at the
///   `deadline`, assess at `assessmentAt`, publish at `publishAt`), and only from the state
///   before it. **Transitions are never skipped**: one due while the coordinator was down is
///   caught up late (`caughtUp`), however late.
/// - A reminder is due at `deadline − offset` while the round is OPEN. It is **skipped** when it
///   is older than the catch-up window (due before now − window), when the deadline has passed
///   (a reminder after the deadline tells nothing), or when the round is no longer open.
/// - Steps due at the same time go in calendar order: opened, reminders, closed, assessed,
///   published; rounds by report year.
public enum RoundPlanner {
  /// A step the calendar wants recorded (or skipped) now.
  public struct PlannedStep: Sendable, Hashable {
    public var reportYear: Int
    public var kind: StepKind
    public var reminderOffset: Int64?
    public var dueAt: Date
    /// The round's state when the step is taken.
    public var fromState: RoundState
    /// Due before the coordinator started: missed during downtime, caught up now.
    public var caughtUp: Bool

    /// The step's id.
    public var stepId: String { RoundStep.id(reportYear: reportYear, kind: kind, reminderOffset: reminderOffset) }
  }

  /// What to do next.
  public enum Action: Sendable, Hashable {
    /// Record the step and drive its effects.
    case take(PlannedStep)
    /// Record the step as skipped, with the reason.
    case skip(PlannedStep, reason: String)
  }

  /// The first action due at `now`, or `nil` when nothing is due.
  /// - Parameters:
  ///   - startedAt: when the coordinator started (steps due before were missed while it was down).
  ///   - catchUpWindow: seconds; reminders due longer ago than this are skipped.
  public static func nextAction(
    rounds: [CoordinatorRound], now: Date, startedAt: Date, catchUpWindow: TimeInterval
  ) -> Action? {
    var due: [(PlannedStep, String?)] = []
    for round in rounds {
      for (step, skipReason) in candidates(round, now: now, startedAt: startedAt, catchUpWindow: catchUpWindow)
      where skipReason != nil || step.dueAt <= now {
        due.append((step, skipReason))
      }
    }
    guard let first = due.min(by: { order($0.0) < order($1.0) }) else { return nil }
    if let reason = first.1 { return .skip(first.0, reason: reason) }
    return .take(first.0)
  }

  /// The earliest due time of a step not yet recorded, or `nil` when every round is published.
  public static func nextDueDate(rounds: [CoordinatorRound]) -> Date? {
    rounds.flatMap { candidates($0, now: .distantPast, startedAt: .distantPast, catchUpWindow: 0).map(\.0.dueAt) }.min()
  }

  /// The steps of a round not yet recorded that could be taken from its current state, each
  /// with a reason when it must be skipped.
  static func candidates(
    _ round: CoordinatorRound, now: Date, startedAt: Date, catchUpWindow: TimeInterval
  ) -> [(PlannedStep, String?)] {
    let schedule = round.schedule
    var result: [(PlannedStep, String?)] = []
    func planned(_ kind: StepKind, _ dueAt: Date, offset: Int64? = nil) -> PlannedStep {
      PlannedStep(
        reportYear: round.reportYear, kind: kind, reminderOffset: offset, dueAt: dueAt, fromState: round.state,
        caughtUp: dueAt < startedAt)
    }
    if let next = round.state.next, let kind = StepKind(leadingTo: next) {
      let step = planned(kind, dueDate(of: kind, in: schedule))
      if round.step(step.stepId) == nil { result.append((step, nil)) }
    }
    if round.state >= .open {
      for offset in schedule.reminderOffsets {
        let step = planned(.reminder, schedule.reminderDue(offset), offset: offset)
        guard round.step(step.stepId) == nil else { continue }
        let due = ShanghaiTime.format(step.dueAt)
        if round.state > .open {
          result.append((step, "skipped reminder \(step.stepId) due at \(due) (the round was already \(round.state.rawValue))"))
        } else if step.dueAt <= now && now >= schedule.deadline {
          result.append((step, "skipped reminder \(step.stepId) due at \(due) (the deadline has passed)"))
        } else if step.dueAt <= now && step.dueAt < now.addingTimeInterval(-catchUpWindow) {
          result.append((step, "skipped reminder \(step.stepId) due at \(due) (outside the catch-up window)"))
        } else {
          result.append((step, nil))
        }
      }
    }
    return result
  }

  /// When the transition step `kind` is due by the schedule.
  public static func dueDate(of kind: StepKind, in schedule: RoundSchedule) -> Date {
    switch kind {
    case .opened: schedule.opensAt
    case .reminder: schedule.deadline
    case .closed: schedule.deadline
    case .assessed: schedule.assessmentAt
    case .published: schedule.publishAt
    }
  }

  private static func order(_ step: PlannedStep) -> (Double, Int, Int, Int64) {
    let kindOrder = StepKind.allCases.firstIndex(of: step.kind)!
    return (step.dueAt.timeIntervalSince1970, kindOrder, step.reportYear, -(step.reminderOffset ?? 0))
  }
}
