public import Assessment
public import Foundation
import GRPCCore
import HiTechDomain
public import HiTechSchema
public import Logging
import SwiftProtobuf

/// The coordinator's engine: the durable state machine of every round, driven by the calendar
/// (``tick()``) or by hand (``advance(reportYear:to:reason:actor:expectedState:)``).
///
/// Every step is first **recorded** (the state change and a pending step row in one store
/// transaction), then its **effects** run — for ASSESSED the assessment is computed from the
/// aggregator's inputs and stored; for PUBLISHED the results files are written; then the step
/// is applied at the aggregator (RoundRelay.ApplyRoundStep with the step id) — and only then is
/// it marked **applied**. Pending steps are driven in the order they were recorded; a failure
/// stops the drive there (later steps wait, so the aggregator never sees them out of order)
/// and the step stays pending, to be driven again. After a restart the pending steps are
/// driven again: the aggregator applies a step id once, the assessment stored first is reused,
/// and publishing rewrites identical files — never repeated in effect, never skipped.
public actor RoundCoordinator {
  /// What the engine needs besides the store, the link and the clock.
  public struct Settings: Sendable {
    /// Reminders due longer ago than this (seconds) are skipped after downtime.
    public var catchUpWindow: TimeInterval
    /// Where results are published.
    public var publishDirectory: String
    /// The scoring rubric.
    public var rubric: Rubric
    /// The rounds as configured (planned into the store by ``start()``).
    public var schedules: [RoundSchedule]

    public init(catchUpWindow: TimeInterval = 7 * 86_400, publishDirectory: String, rubric: Rubric = .standard, schedules: [RoundSchedule]) {
      self.catchUpWindow = catchUpWindow
      self.publishDirectory = publishDirectory
      self.rubric = rubric
      self.schedules = schedules
    }
  }

  /// What one ``tick()`` (or manual operation) did, for logs and tests.
  public struct Report: Sendable, Hashable {
    /// Step ids recorded (to be applied).
    public var recorded: [String] = []
    /// Step ids among `recorded` that were due while the coordinator was down.
    public var caughtUp: [String] = []
    /// Step ids skipped, with the reason.
    public var skipped: [String: String] = [:]
    /// Step ids applied (effects done, marked applied).
    public var applied: [String] = []
    /// The step that could not be applied (it stays pending) and why.
    public var failure: Failure?
    /// The log lines written at info level or above, in order.
    public var lines: [String] = []

    /// A step left pending by a failed effect.
    public struct Failure: Sendable, Hashable {
      public var stepId: String
      public var message: String
      /// Worth retrying soon (the aggregator unreachable or slow).
      public var retryable: Bool
    }

    public init() {}
  }

  public let store: any CoordinatorStore
  public let link: any AggregatorLink
  public let clock: any CoordinatorClock
  public let settings: Settings
  let logger: Logger
  private var startedAt: Date
  private var driving = false

  public init(store: any CoordinatorStore, link: any AggregatorLink, clock: any CoordinatorClock, settings: Settings, logger: Logger) {
    self.store = store
    self.link = link
    self.clock = clock
    self.settings = settings
    self.logger = logger
    self.startedAt = clock.now()
  }

  /// Plans the configured rounds into the store (new ones PLANNED, others rescheduled) and
  /// notes the start time: steps due before it were missed while the coordinator was down.
  public func start() async throws {
    startedAt = clock.now()
    let added = try await store.plan(settings.schedules, at: startedAt)
    if !added.isEmpty { logger.info("rounds planned", metadata: ["round.years": "\(added)"]) }
    let pending = try await store.pendingSteps()
    if !pending.isEmpty {
      logger.notice("steps recorded before a stop are driven again", metadata: ["step.ids": "\(pending.map(\.id))"])
    }
  }

  /// Records every step due now (catching up those missed while down, skipping reminders as
  /// the rules say), then drives the pending steps. Never throws: a failure is in the report.
  @discardableResult
  public func tick() async -> Report {
    var report = Report()
    do {
      while true {
        let now = clock.now()
        let rounds = try await store.rounds()
        guard let action = RoundPlanner.nextAction(
          rounds: rounds, now: now, startedAt: startedAt, catchUpWindow: settings.catchUpWindow)
        else { break }
        switch action {
        case .skip(let step, let reason):
          try await store.recordSkipped(
            reportYear: step.reportYear, kind: step.kind, reminderOffset: step.reminderOffset, dueAt: step.dueAt,
            reason: reason, at: now)
          report.skipped[step.stepId] = reason
          log(&report, .notice, reason, ["step.id": "\(step.stepId)"])
        case .take(let step):
          let record = CoordinatorStepRecord(
            reportYear: step.reportYear, kind: step.kind, reminderOffset: step.reminderOffset, dueAt: step.dueAt,
            expectedState: step.fromState, reason: step.caughtUp ? "scheduled, caught up" : "scheduled",
            actor: "coordinator", caughtUp: step.caughtUp)
          do {
            _ = try await store.record(record, at: now) { try Ndrc_Hitech_V1_Round($0).serializedBytes() }
          } catch let error as CoordinatorError where error.code == .aborted {
            continue  // changed meanwhile (by hand): plan again
          }
          report.recorded.append(step.stepId)
          if step.caughtUp {
            report.caughtUp.append(step.stepId)
            log(
              &report, .notice,
              "caught up \(step.stepId) due at \(ShanghaiTime.format(step.dueAt)) (missed while the coordinator was down)",
              ["step.id": "\(step.stepId)"])
          } else {
            log(&report, .info, "recorded \(step.stepId) due at \(ShanghaiTime.format(step.dueAt))", ["step.id": "\(step.stepId)"])
          }
        }
      }
    } catch {
      log(&report, .error, "the calendar could not record its steps: \(error)", [:])
      report.failure = .init(stepId: "", message: "\(error)", retryable: true)
      return report
    }
    if !report.caughtUp.isEmpty || !report.skipped.isEmpty {
      logger.notice(
        "catch-up after downtime: \(report.caughtUp.count) step(s) caught up, \(report.skipped.count) reminder(s) skipped",
        metadata: ["steps.caught_up": "\(report.caughtUp)", "steps.skipped": "\(report.skipped.keys.sorted())"])
    }
    await drive(&report)
    return report
  }

  /// Drives the pending steps in the order they were recorded, stopping at the first failure.
  /// Returns at once when another drive is running (it picks up what is pending).
  public func drivePending() async -> Report {
    var report = Report()
    await drive(&report)
    return report
  }

  private func drive(_ report: inout Report) async {
    guard !driving else { return }
    driving = true
    defer { driving = false }
    while true {
      let step: RoundStep
      do {
        guard let next = try await store.pendingSteps().first else { return }
        step = next
      } catch {
        log(&report, .error, "cannot read the pending steps: \(error)", [:])
        report.failure = .init(stepId: "", message: "\(error)", retryable: true)
        return
      }
      do {
        var detail = try await effects(of: step)
        detail.caughtUp = step.detail.caughtUp
        try await store.markApplied(step.id, detail: detail, at: clock.now())
        report.applied.append(step.id)
        log(
          &report, .info, "applied \(step.id)",
          ["step.id": "\(step.id)", "notices.reporters": "\(detail.addressedReporterCodes?.count ?? 0)"])
      } catch {
        let retryable = (error as? CoordinatorError).map { $0.code == .storage } ?? Self.retryable(error)
        report.failure = .init(stepId: step.id, message: "\(error)", retryable: retryable)
        if retryable {
          log(&report, .warning, "step \(step.id) not applied yet, will retry: \(error)", ["step.id": "\(step.id)"])
        } else {
          log(&report, .error, "step \(step.id) failed and stays pending (retried later): \(error)", ["step.id": "\(step.id)"])
        }
        return
      }
    }
  }

  /// Whether an error of the link is worth retrying soon: `unavailable`, `deadlineExceeded`,
  /// or not a gRPC status at all (the transport).
  static func retryable(_ error: any Error) -> Bool {
    guard let rpc = error as? RPCError else { return true }
    return rpc.code == .unavailable || rpc.code == .deadlineExceeded
  }

  /// The effects of one step, ending with its application at the aggregator.
  private func effects(of step: RoundStep) async throws -> StepDetail {
    guard let bytes = step.roundMessage else {
      throw CoordinatorError(.internalError, "step \(step.id) has no round message")
    }
    var request = Ndrc_Hitech_V1_ApplyRoundStepRequest()
    request.stepID = step.id
    request.round = try Ndrc_Hitech_V1_Round(serializedBytes: bytes)
    request.calendarNow = Google_Protobuf_Timestamp(date: clock.now())
    request.calendarSpeed = clock.speed
    var detail = StepDetail()
    switch step.kind {
    case .opened:
      request.opened = .init()
    case .reminder:
      var reminder = Ndrc_Hitech_V1_ReminderAnnouncement()
      reminder.beforeDeadline = Google_Protobuf_Duration(seconds: step.reminderOffset ?? 0)
      request.reminder = reminder
    case .closed:
      request.closed = .init()
    case .assessed:
      let results = try await assessment(of: step)
      logger.info(
        "round assessed",
        metadata: ["round.year": "\(step.reportYear)", "assessment.bases": "\(results.bases.count)"])
    case .published:
      let results = try await assessment(of: step)
      let files = ResultsPublication.render(results, publishedAt: ShanghaiTime.formatDate(step.recordedAt))
      do {
        try ResultsPublication.write(files, to: settings.publishDirectory)
      } catch {
        throw CoordinatorError(.storage, "publishing the results of \(step.reportYear): \(error)")
      }
      detail.files = files.keys.sorted()
      var published = Ndrc_Hitech_V1_PublishedAnnouncement()
      published.results = results.bases.map(Ndrc_Hitech_V1_BaseAssessment.init)
      published.publicationRef = (settings.publishDirectory as NSString).appendingPathComponent("results-\(step.reportYear).html")
      request.published = published
    }
    let response = try await link.applyRoundStep(request)
    detail.addressedReporterCodes = response.addressedReporterCodes
    detail.firstNoticeSequence = response.firstNoticeSequence
    detail.lastNoticeSequence = response.lastNoticeSequence
    detail.alreadyApplied = response.alreadyApplied
    if response.hasAppliedAt {
      detail.aggregatorAppliedAt = Date(timeIntervalSince1970: Double(response.appliedAt.seconds) + Double(response.appliedAt.nanos) / 1e9)
    }
    return detail
  }

  /// The round's results: those stored first (a re-driven step reuses them), else computed
  /// now from the aggregator's inputs, the expert scores and the rubric, and stored.
  private func assessment(of step: RoundStep) async throws -> RoundAssessment {
    if let stored = try await store.assessment(step.reportYear) {
      return try ResultsPublication.decode(json: stored.results)
    }
    let received = try await link.assessmentInputs(reportYear: step.reportYear)
    let inputs = received.map(AssessmentInput.init)
    // The log's signed head, asked for after the inputs: every assessed report must be one of
    // its leaves, so the published results name exactly what the ranking used.
    let logHead = try await submissionsLogHead(covering: received, reportYear: step.reportYear)
    // A score for a base the aggregator does not expect this year (a typo, a withdrawn base)
    // would stop the assessment for good, since scores are closed now: it is left out, loudly.
    let expected = Set(inputs.map(\.base.id))
    var scores: [ExpertScore] = []
    for score in try await store.expertScores(step.reportYear) {
      guard expected.contains(score.baseId) else {
        logger.warning(
          "expert score left out: the base is not assessed this round",
          metadata: ["round.year": "\(step.reportYear)", "base.id": "\(score.baseId)", "expert.id": "\(score.expertId)"])
        continue
      }
      scores.append(ExpertScore(baseId: score.baseId, expertId: score.expertId, scoreMilli: score.scoreMilli, comment: score.comment))
    }
    let round = try await store.round(step.reportYear)
    let national = round?.schedule.nationalHighTechOutputTenThousandYuan.map { Amount($0, .cnyTenThousand) }
    var results: RoundAssessment
    do {
      results = try Assessor.assess(
        reportYear: step.reportYear, inputs: inputs, expertScores: scores, nationalHighTechOutput: national,
        rubric: settings.rubric)
    } catch {
      throw CoordinatorError(.failedPrecondition, "the assessment of \(step.reportYear) cannot run: \(error)")
    }
    results.submissionsLog = logHead
    let stored = try await store.saveAssessment(
      reportYear: step.reportYear, results: ResultsPublication.json(results), stepId: step.id, at: clock.now())
    return try ResultsPublication.decode(json: stored.results)
  }

  /// The submissions log's signed tree head covering every reported input; nil when no base
  /// reported. A reported input without a log leaf, or beyond the head, stops the step (it is
  /// retried): the results would otherwise name reports the head does not cover.
  private func submissionsLogHead(
    covering inputs: [Ndrc_Hitech_V1_AssessmentInput], reportYear: Int
  ) async throws -> SubmissionsLogHead? {
    let reported = inputs.filter(\.hasReceipt)
    guard !reported.isEmpty else { return nil }
    let head = try await link.signTreeHead()
    for input in reported where !(0..<Int64(clamping: head.treeSize)).contains(input.receipt.logIndex) || input.receipt.attestation.isEmpty {
      throw CoordinatorError(
        .storage,
        "the assessment of \(reportYear): the report \(input.receipt.accessionNumber) of base \(input.base.baseID) has log index "
          + "\(input.receipt.logIndex), not a leaf of the signed tree head of size \(head.treeSize)")
    }
    return try SubmissionsLogHead(head)
  }

  // MARK: - Manual operations

  /// Moves a round to its next state by hand (an operator's decision, recorded with the reason
  /// and actor in the history and the audit log), then drives its effects. The same transition
  /// again is a no-op returning the round.
  ///
  /// - Throws: ``CoordinatorError``: `.invalidArgument` without a reason; `.notFound` for an
  ///   unknown round; `.aborted` when `expectedState` is given and the round is in another
  ///   state; `.failedPrecondition` when `to` is not the next state (skipping or going back).
  @discardableResult
  public func advance(
    reportYear: Int, to target: RoundState, reason: String, actor: String, expectedState: RoundState? = nil
  ) async throws -> (round: CoordinatorRound, report: Report) {
    let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !reason.isEmpty else { throw CoordinatorError(.invalidArgument, "reason: required for a change by hand") }
    guard !actor.isEmpty else { throw CoordinatorError(.invalidArgument, "actor: required for a change by hand") }
    guard let round = try await store.round(reportYear) else {
      throw CoordinatorError(.notFound, "no round for report year \(reportYear)")
    }
    // The same transition again (a retry of the same request) returns the round unchanged.
    if round.state == target, round.transitions.contains(where: { $0.to == target }) {
      return (round, Report())
    }
    if let expectedState, expectedState != round.state {
      throw CoordinatorError(
        .aborted, "round \(reportYear) is \(round.state.rawValue), not \(expectedState.rawValue) as expected; nothing changed")
    }
    guard round.state.next == target, let kind = StepKind(leadingTo: target) else {
      let next = round.state.next.map { "the next state is \($0.rawValue)" } ?? "it is final"
      let why = target <= round.state ? "a round never goes back" : "a round never skips a state"
      throw CoordinatorError(
        .failedPrecondition,
        "round \(reportYear) is \(round.state.rawValue): \(next); cannot move to \(target.rawValue) (\(why))")
    }
    var report = Report()
    let record = CoordinatorStepRecord(
      reportYear: reportYear, kind: kind, dueAt: RoundPlanner.dueDate(of: kind, in: round.schedule),
      expectedState: round.state, reason: reason, actor: actor)
    let step = try await store.record(record, at: clock.now()) { try Ndrc_Hitech_V1_Round($0).serializedBytes() }
    report.recorded.append(step.id)
    log(
      &report, .notice, "\(actor) moved round \(reportYear) from \(round.state.rawValue) to \(target.rawValue): \(reason)",
      ["step.id": "\(step.id)"])
    await drive(&report)
    return (try await store.round(reportYear)!, report)
  }

  /// Records one expert's score of one base for a round not yet assessed (replacing that
  /// expert's earlier score of the base), with an audit entry.
  public func recordExpertScore(reportYear: Int, score: ExpertScore, actor: String) async throws {
    try await store.recordExpertScore(
      reportYear: reportYear, baseId: score.baseId, expertId: score.expertId, scoreMilli: score.scoreMilli,
      comment: score.comment, actor: actor, at: clock.now())
  }

  /// Every round, by report year ascending.
  public func rounds() async throws -> [CoordinatorRound] { try await store.rounds() }

  /// A round with its timeline (transitions and steps), or `nil`.
  public func round(_ reportYear: Int) async throws -> CoordinatorRound? { try await store.round(reportYear) }

  /// The round as a wire message (RoundControl).
  public func roundMessage(_ reportYear: Int) async throws -> Ndrc_Hitech_V1_Round? {
    try await store.round(reportYear).map(Ndrc_Hitech_V1_Round.init)
  }

  /// The stored results of a round, once assessed.
  public func results(_ reportYear: Int) async throws -> RoundAssessment? {
    try await store.assessment(reportYear).map { try ResultsPublication.decode(json: $0.results) }
  }

  /// When the next step not yet recorded is due; `nil` when every round is published.
  public func nextDueDate() async throws -> Date? {
    RoundPlanner.nextDueDate(rounds: try await store.rounds())
  }

  private func log(_ report: inout Report, _ level: Logger.Level, _ line: String, _ metadata: Logger.Metadata) {
    report.lines.append(line)
    logger.log(level: level, "\(line)", metadata: metadata)
  }
}
