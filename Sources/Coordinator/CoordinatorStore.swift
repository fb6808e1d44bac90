public import Foundation
public import HiTechDomain
public import Logging

/// The coordinator's durable store, as the engine (``RoundCoordinator``), the daemon and the
/// operator commands use it, whatever the backend: an SQLite file (``SQLiteCoordinatorStore``,
/// the default, one daemon) or PostgreSQL (``PostgresCoordinatorStore``, an active and a
/// standby daemon sharing it).
///
/// It keeps the rounds (schedule and state), every step (recorded, applied or skipped, with
/// what it did), the transitions (history), expert scores, the assessments, and an append-only
/// audit log. The rules every backend keeps:
/// - a step is recorded in the same transaction as the state change it makes, so a crash
///   leaves either neither or both; its effects run afterwards and it is then marked applied;
/// - a step id is recorded once for ever (a database constraint: two coordinators recording
///   the same step at once record it once, the other one gets `.aborted`);
/// - a step is marked applied once (`.failedPrecondition` the second time); an applied or
///   skipped step, a transition, an assessment and an audit entry are never changed.
public protocol CoordinatorStore: Sendable {
  /// Where the store is, for logs and messages (`sqlite:PATH` or a URL without its password).
  var location: String { get }

  /// Closes the store.
  func close() async throws

  /// Adds the rounds of `schedules` not yet known (PLANNED) and updates the schedule of the
  /// others (steps already recorded keep their times). Returns the years added.
  @discardableResult
  func plan(_ schedules: [RoundSchedule], at now: Date) async throws -> [Int]

  /// Every round with its transitions and steps, by report year ascending.
  func rounds() async throws -> [CoordinatorRound]

  /// The round of `reportYear`, or `nil`.
  func round(_ reportYear: Int) async throws -> CoordinatorRound?

  /// Records a step as pending and, for a transition, moves the round to its target state with
  /// a transition row, in one transaction; the round message the step will send is built from
  /// the round as it is after the change (`message`).
  ///
  /// - Throws: ``CoordinatorError`` `.aborted` when the round is not in `expectedState` or the
  ///   step id is already recorded (nothing changed); `.notFound` for an unknown round.
  func record(
    _ step: CoordinatorStepRecord,
    at now: Date,
    message: @escaping @Sendable (CoordinatorRound) throws -> [UInt8]
  ) async throws -> RoundStep

  /// Records a step as skipped (never driven), with the reason.
  func recordSkipped(
    reportYear: Int, kind: StepKind, reminderOffset: Int64?, dueAt: Date, reason: String, at now: Date
  ) async throws

  /// The steps recorded but not yet applied, in the order they were recorded.
  func pendingSteps() async throws -> [RoundStep]

  /// Marks a pending step applied, with what it did.
  /// - Throws: ``CoordinatorError`` `.failedPrecondition` when it is not pending.
  func markApplied(_ stepId: String, detail: StepDetail, at now: Date) async throws

  /// Stores a round's results (JSON) once; a second call for the year keeps the first.
  /// Returns the stored results and when they were computed.
  func saveAssessment(reportYear: Int, results: [UInt8], stepId: String, at now: Date) async throws
    -> (results: [UInt8], assessedAt: Date)

  /// The stored results (JSON) of a round, or `nil` before it is assessed.
  func assessment(_ reportYear: Int) async throws -> (results: [UInt8], assessedAt: Date)?

  /// Records (or replaces) one expert's score of one base, until the round is assessed.
  func recordExpertScore(
    reportYear: Int, baseId: String, expertId: String, scoreMilli: Int64, comment: String, actor: String, at now: Date
  ) async throws

  /// The expert scores of a round as the assessment takes them, by base and expert.
  func expertScores(_ reportYear: Int) async throws -> [(baseId: String, expertId: String, scoreMilli: Int64, comment: String)]

  /// The newest audit entries first.
  func audit(limit: Int) async throws -> [CoordinatorAuditEntry]

  /// Writes an audit entry of its own (an operator's action that changed nothing else).
  func appendAudit(actor: String, action: String, subject: String, detail: String, at now: Date) async throws
}

/// What recording a step changes: the step, and for a transition the state change.
public struct CoordinatorStepRecord: Sendable {
  public var reportYear: Int
  public var kind: StepKind
  public var reminderOffset: Int64?
  public var dueAt: Date
  /// The state the round must be in (a conflict otherwise).
  public var expectedState: RoundState
  public var reason: String
  public var actor: String
  public var caughtUp: Bool

  public init(
    reportYear: Int, kind: StepKind, reminderOffset: Int64? = nil, dueAt: Date, expectedState: RoundState,
    reason: String = "scheduled", actor: String = "coordinator", caughtUp: Bool = false
  ) {
    self.reportYear = reportYear
    self.kind = kind
    self.reminderOffset = reminderOffset
    self.dueAt = dueAt
    self.expectedState = expectedState
    self.reason = reason
    self.actor = actor
    self.caughtUp = caughtUp
  }

  var stepId: String { RoundStep.id(reportYear: reportYear, kind: kind, reminderOffset: reminderOffset) }
}

/// One entry of the coordinator's audit log.
public struct CoordinatorAuditEntry: Sendable, Hashable {
  public var at: Date
  public var actor: String
  public var action: String
  public var subject: String
  public var detail: String
}

/// Opening the configured store.
public enum CoordinatorStores {
  /// Opens the store `location` names: `sqlite:PATH` (or a bare path) for the SQLite file, a
  /// `postgres://` URL for PostgreSQL. `fence`, for PostgreSQL only, makes the store refuse to
  /// record or apply a step unless that leadership is held (the daemon's; operator commands
  /// pass none).
  /// - Throws: ``CoordinatorError`` `.storage` naming the store when it cannot be opened.
  public static func open(
    _ location: String, fence: LeaderFence? = nil, logger: Logger
  ) async throws -> any CoordinatorStore {
    if PostgresCoordinatorStore.isPostgres(location) {
      return try await PostgresCoordinatorStore.open(location, fence: fence, logger: logger)
    }
    let path = location.hasPrefix("sqlite:") ? String(location.dropFirst("sqlite:".count)) : location
    return try SQLiteCoordinatorStore(path: path, logger: logger)
  }
}
