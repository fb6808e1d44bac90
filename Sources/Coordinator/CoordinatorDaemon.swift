import Assessment
import DaemonSupport
import Foundation
import GRPCCore
public import Logging
import ServiceLifecycle
public import UnixSignals
import ZeroMQ
import ZeroMQTransport

/// The coordinator daemon: the store, the calendar (``RoundScheduler``), the link to the
/// aggregator (``RoundRelayLink``, CURVE), the `RoundControl` server for operators on the
/// control endpoint and the status file, run as one `ServiceGroup` that stops cleanly on
/// SIGTERM and SIGINT (a step in flight is left pending and driven again at the next start;
/// then the store is closed).
public struct CoordinatorDaemon: Sendable {
  public let configuration: CoordinatorConfiguration
  public let logger: Logger
  /// Tests only: the clock instead of the configured one.
  let clockOverride: (any CoordinatorClock)?

  public init(configuration: CoordinatorConfiguration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
    self.clockOverride = nil
  }

  init(configuration: CoordinatorConfiguration, logger: Logger, clock: any CoordinatorClock) {
    self.configuration = configuration
    self.logger = logger
    self.clockOverride = clock
  }

  /// The configured calendar clock.
  public static func clock(_ setting: CoordinatorConfiguration.ClockSetting) -> any CoordinatorClock {
    if setting.isReal { return SystemCoordinatorClock() }
    return AcceleratedCoordinatorClock(epoch: setting.epoch ?? Date(), speed: setting.speed)
  }

  /// The configured rubric: the file's, or the standard one.
  public static func rubric(_ configuration: CoordinatorConfiguration) throws -> Rubric {
    guard let path = configuration.rubricPath else { return .standard }
    do {
      let rubric = try JSONDecoder().decode(Rubric.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
      return try rubric.validated()
    } catch {
      throw CoordinatorConfiguration.Problem(key: "rubricPath", rule: "\(path) is not a valid rubric: \(error)")
    }
  }

  /// Runs until a signal stops it. Throws at start when a key file is unreadable (or the secret
  /// key is not mode 0600), the rubric is invalid, another coordinator runs on the store
  /// (``DaemonSupport/StateLock/InUse``), or the store cannot be opened.
  /// - Parameter onListening: called with the bound control endpoint once operators can connect.
  public func run(
    signals: [UnixSignal] = [.sigterm, .sigint],
    onListening: @escaping @Sendable (String) -> Void = { _ in }
  ) async throws {
    // From here on SIGTERM/SIGINT stop the daemon cleanly, even before its ServiceGroup runs.
    let earlySignals = EarlyShutdownSignals.install(signals)
    let keyPair = try CurveKeyFile.readKeyPair(secretKeyPath: configuration.secretKeyPath)
    let serverKey = try CurveKeyFile.readPublicKey(configuration.aggregatorPublicKeyPath)
    let rubric = try Self.rubric(configuration)
    let clock = clockOverride ?? Self.clock(configuration.clock)
    DescriptorLimit.raiseAndLog(role: "coordinator", logger: logger)
    // On SQLite, one daemon per store, held for the life of the process; a separate file, so
    // that the operator commands still read and write the store while the daemon runs. On
    // PostgreSQL several run: the one holding the leadership is active, the others wait.
    let lock = try configuration.stateLockPath.map { try StateLock(path: $0, guarding: "the store \($0.dropLast(".lock".count))") }
    defer { withExtendedLifetime(lock) {} }
    let fence: LeaderFence? = configuration.sqlitePath == nil ? LeaderFence() : nil
    let store = try await CoordinatorStores.open(configuration.effectiveStore, fence: fence, logger: logger)
    let link = RoundRelayLink(
      endpoint: configuration.aggregatorEndpoint,
      security: .curveClient(keyPair: keyPair, serverPublicKey: serverKey),
      callTimeout: .seconds(configuration.callTimeoutSeconds),
      logger: logger)
    let coordinator = RoundCoordinator(
      store: store, link: link, clock: clock,
      settings: .init(
        catchUpWindow: TimeInterval(configuration.catchUpWindowSeconds),
        publishDirectory: configuration.publishDirectory,
        rubric: rubric,
        schedules: configuration.rounds),
      logger: logger)
    let scheduler = RoundScheduler(
      coordinator: coordinator,
      initialBackoff: .milliseconds(configuration.initialBackoffMilliseconds),
      maxBackoff: .milliseconds(configuration.maxBackoffMilliseconds),
      logger: logger)
    let controlEndpoint = configuration.effectiveControlEndpoint
    if controlEndpoint.hasPrefix("ipc://") {
      // A socket file left by a killed daemon would make the bind fail.
      try? FileManager.default.removeItem(atPath: String(controlEndpoint.dropFirst("ipc://".count)))
    }
    let transport = ZeroMQTransport.Server(
      endpoint: controlEndpoint, security: .plaintext,
      configuration: .init(shutdownGracePeriod: .seconds(configuration.shutdownGraceSeconds), logger: logger))
    let server = GRPCServer(
      transport: transport,
      services: [RoundControlService(coordinator: coordinator, logger: logger), DiagnosticsService(role: "coordinator")])
    let calendar: any Service =
      if let fence {
        LeadingScheduler(
          election: try PostgresLeaderElection(url: configuration.effectiveStore, fence: fence, logger: logger),
          scheduler: scheduler, logger: logger)
      } else {
        scheduler
      }
    let status = CoordinatorStatusWriter(
      path: configuration.statusPath, configuration: configuration, coordinator: coordinator,
      leadership: { fence.map { $0.isActive ? "active" : "standby" } ?? "active" }, logger: logger)
    let group = ServiceGroup(
      configuration: .init(
        services: [
          .init(service: link),
          .init(service: status),
          .init(service: calendar),
          .init(service: GRPCServerService(server: server)),
        ],
        gracefulShutdownSignals: signals,
        logger: logger
      ).escalating(after: .seconds(configuration.shutdownGraceSeconds))
    )
    let deadline = ShutdownDeadline(grace: .seconds(configuration.shutdownGraceSeconds), signals: signals, logger: logger)
    earlySignals.forward(to: group, deadline: deadline)
    // SIGTERM: a step or call in flight may end within the grace period, then it is cancelled
    // (and driven again at the next start); the store is closed; the process ends at most a
    // margin later whatever still runs (the store is crash-safe).
    logger.info("coordinator starting", metadata: [
      "zmq.endpoint": "\(configuration.aggregatorEndpoint)", "control.endpoint": "\(controlEndpoint)",
      "store.location": "\(store.location)", "clock.speed": "\(configuration.clock.speed)",
      "rounds": "\(configuration.rounds.map(\.reportYear))",
    ])
    do {
      try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await deadline.guarding { try await group.run() } }
        tasks.addTask {
          // Shut down before it listened (SIGTERM while starting): nothing to announce.
          guard let endpoint = try? await transport.listeningEndpoint() else { return }
          onListening(endpoint)
        }
        try await tasks.waitForAll()
      }
    } catch {
      try? await store.close()
      throw error
    }
    try await store.close()
    logger.info("coordinator stopped")
  }
}
