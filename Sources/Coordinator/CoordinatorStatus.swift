public import Foundation
import HiTechDomain
import Logging
import ServiceLifecycle

/// What the coordinator's status file holds (JSON, rewritten every 2 s).
public struct CoordinatorStatus: Codable, Hashable, Sendable {
  /// One round's line.
  public struct RoundLine: Codable, Hashable, Sendable {
    public var reportYear: Int
    public var state: String
    public var pendingSteps: [String]
    public var nextStep: String?
    public var nextStepDueAt: String?
  }

  public var role = "coordinator"
  public var pid: Int32
  /// `running` or `stopped`.
  public var state: String
  /// `active` (this coordinator drives the rounds) or `standby` (another one on the same
  /// PostgreSQL store does; this one takes over when it stops). Always `active` on SQLite.
  public var leadership: String?
  public var startedAt: Date
  public var updatedAt: Date
  /// The calendar's time (ISO 8601, Asia/Shanghai), which an accelerated clock moves faster.
  public var calendarNow: String
  public var aggregatorEndpoint: String
  public var controlEndpoint: String
  public var rounds: [RoundLine]
  public var lastError: String?

  /// Reads a status file.
  public static func read(path: String) throws -> CoordinatorStatus {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return try decoder.decode(CoordinatorStatus.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
  }
}

/// Writes ``CoordinatorStatus`` every 2 s (atomically: write, then rename), and `stopped` at the end.
struct CoordinatorStatusWriter: Service {
  let path: String?
  let configuration: CoordinatorConfiguration
  let coordinator: RoundCoordinator
  let leadership: @Sendable () -> String
  let logger: Logger

  func run() async throws {
    guard path != nil || configuration.metricsPath != nil else { return }
    let startedAt = Date()
    await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        await write(path, state: "running", startedAt: startedAt)
        try? await Task.sleep(for: .seconds(2))
      }
    }
    await write(path, state: "stopped", startedAt: startedAt)
  }

  private func write(_ path: String?, state: String, startedAt: Date) async {
    var lastError: String?
    var lines: [CoordinatorStatus.RoundLine] = []
    do {
      for round in try await coordinator.rounds() {
        let next = RoundPlanner.candidates(round, now: .distantPast, startedAt: .distantPast, catchUpWindow: 0)
          .map(\.0).min { $0.dueAt < $1.dueAt }
        lines.append(.init(
          reportYear: round.reportYear, state: round.state.rawValue,
          pendingSteps: round.steps.filter { $0.state == .pending }.map(\.id),
          nextStep: next?.stepId, nextStepDueAt: next.map { ShanghaiTime.format($0.dueAt) }))
      }
    } catch {
      lastError = "\(error)"
    }
    let status = CoordinatorStatus(
      pid: getpid(), state: state, leadership: leadership(), startedAt: startedAt, updatedAt: Date(),
      calendarNow: ShanghaiTime.format(coordinator.clock.now()),
      aggregatorEndpoint: configuration.aggregatorEndpoint, controlEndpoint: configuration.effectiveControlEndpoint,
      rounds: lines, lastError: lastError)
    if let metricsPath = configuration.metricsPath {
      do {
        try Data(Self.metrics(status).utf8).write(to: URL(fileURLWithPath: metricsPath), options: .atomic)
      } catch {
        logger.warning("cannot write the metrics file", metadata: ["metrics.path": "\(metricsPath)", "error": "\(error)"])
      }
    }
    guard let path else { return }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    do {
      try encoder.encode(status).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      logger.warning("cannot write the status file", metadata: ["status.path": "\(path)", "error": "\(error)"])
    }
  }

  /// The status as Prometheus text metrics.
  static func metrics(_ status: CoordinatorStatus) -> String {
    var lines = [
      "# HELP hitech_coordinator_active 1 while this coordinator drives the rounds, 0 on standby (another one on its PostgreSQL store does) or stopped.",
      "# TYPE hitech_coordinator_active gauge",
      "hitech_coordinator_active \(status.state == "running" && status.leadership != "standby" ? 1 : 0)",
      "# HELP hitech_coordinator_pending_steps Steps recorded and not yet applied.",
      "# TYPE hitech_coordinator_pending_steps gauge",
      "hitech_coordinator_pending_steps \(status.rounds.reduce(0) { $0 + $1.pendingSteps.count })",
      "# HELP hitech_coordinator_round_state 1 for each round's current state, 0 for its other states.",
      "# TYPE hitech_coordinator_round_state gauge",
    ]
    for round in status.rounds {
      for state in RoundState.allCases {
        lines.append("hitech_coordinator_round_state{year=\"\(round.reportYear)\",state=\"\(state.rawValue)\"} \(round.state == state.rawValue ? 1 : 0)")
      }
    }
    lines += [
      "# HELP hitech_coordinator_last_update_timestamp_seconds When this file was written.",
      "# TYPE hitech_coordinator_last_update_timestamp_seconds gauge",
      "hitech_coordinator_last_update_timestamp_seconds \(Int64(status.updatedAt.timeIntervalSince1970))",
    ]
    return lines.joined(separator: "\n") + "\n"
  }
}
