import AggregatorStore
import DaemonSupport
import Foundation
import GRPCCore
public import Logging
import Monitoring
import Prometheus
import ServiceLifecycle
public import UnixSignals
import ZeroMQ
import ZeroMQTransport

/// The aggregator daemon: the store, the registered keys, and a gRPC server over ZeroMQ
/// offering `ReportIngest`, `RoundRelay` (for the coordinator), `RoundNotices` (for nodes),
/// `ArrivalStatus` and `Diagnostics`, and (when configured) the monitoring dashboard over HTTP, run as one `ServiceGroup` that stops cleanly on
/// SIGTERM and SIGINT (RPCs in flight finish, their commits and receipts complete, then the
/// store is closed).
public struct AggregatorDaemon: Sendable {
  public let configuration: AggregatorConfiguration
  public let logger: Logger

  public init(configuration: AggregatorConfiguration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
  }

  /// Runs until a signal (or `group.triggerGracefulShutdown()`) stops it.
  /// - Parameter onListening: called with the bound endpoint once nodes can connect.
  public func run(
    signals: [UnixSignal] = [.sigterm, .sigint],
    onListening: @escaping @Sendable (String) -> Void = { _ in }
  ) async throws {
    // From here on SIGTERM/SIGINT stop the daemon cleanly, even before its ServiceGroup runs.
    let earlySignals = EarlyShutdownSignals.install(signals)
    // Metrics are recorded when the dashboard (which serves /metrics) is configured.
    let registry = PrometheusCollectorRegistry()
    let metricsFactory = MonitoringMetrics.makeFactory(registry: registry)
    let metrics = configuration.dashboardAddress == nil ? IngestMetrics.none : IngestMetrics(factory: metricsFactory)
    // Every connected node holds a descriptor: 1,000 nodes took 1,033.
    DescriptorLimit.raiseAndLog(role: "aggregator", expectedPeers: 1_000, logger: logger)
    // One daemon per SQLite store: held for the life of the process (the kernel releases it on
    // any exit). A separate file, so that SQLite's own locking still lets the CLI write the
    // store. A PostgreSQL store is shared by design: no lock.
    let lock = try configuration.stateLockPath.map { try StateLock(path: $0, guarding: "the store \($0.dropLast(".lock".count))") }
    defer { withExtendedLifetime(lock) {} }
    let database = try await configuration.storeLocation.open(onBatch: { metrics.recordBatch($0) }, logger: logger)
    try await Registry.seedReporters(database, actor: "aggregator")
    let keys = RegisteredKeys(database: database, logger: logger)
    try await keys.reload()

    let security: ZeroMQTransport.Security
    if let secretKeyPath = configuration.secretKeyPath {
      security = .curveServer(
        keyPair: try CurveKeyFile.readKeyPair(secretKeyPath: secretKeyPath),
        policy: keys.allowList,
        zapDomain: "hitech.aggregator"
      )
    } else {
      logger.warning("running without CURVE: no node can be authenticated, every submission will be refused")
      security = .plaintext
    }
    let transport = ZeroMQTransport.Server(
      endpoint: configuration.endpoint,
      security: security,
      configuration: .init(
        maxRequestMessageBytes: configuration.maxMessageBytes,
        shutdownGracePeriod: .seconds(configuration.shutdownGraceSeconds),
        openRate: Double(configuration.callsPerSecondPerNode),
        openBurst: 2 * configuration.callsPerSecondPerNode,
        logger: logger
      )
    )
    let signingKeyPath = configuration.effectiveReceiptSigningKeyPath
    let (signingKey, created) = try ReceiptSigningKeyFile.readOrCreate(signingKeyPath)
    if created {
      logger.notice("created the receipt signing key", metadata: [
        "log.key_path": "\(signingKeyPath)", "log.key_id": "\(signingKey.verifyingKey.keyID)",
      ])
    }
    let arrivalBell = NoticeBell()
    let ingest = ReportIngestService(
      database: database,
      rules: .init(yearOnYearJumpPercent: configuration.yearOnYearJumpPercent),
      logger: logger,
      metrics: metrics,
      arrivalBell: arrivalBell,
      signer: signingKey
    )
    let bell = NoticeBell()
    var applicationServices: [any RegistrableRPCService] = []
    if let applications = database as? any ApplicationStore & RegistryStore {
      applicationServices.append(ApplicationIntakeService(store: applications, logger: logger))
    }
    let server = GRPCServer(
      transport: transport,
      services: applicationServices + [
        ingest,
        RoundRelayService(database: database, bell: bell, arrivalBell: arrivalBell, logSigningKey: signingKey, logger: logger),
        RoundNoticesService(database: database, bell: bell, logger: logger),
        ArrivalStatusService(database: database, logger: logger, bell: arrivalBell),
        SubmissionLogService(database: database, logger: logger),
        DiagnosticsService(role: "aggregator"),
      ]
    )
    var status = StatusFile(path: configuration.statusPath, database: database, configuration: configuration, logger: logger)
    status.transportStatistics = {
      let statistics = transport.statistics
      return (statistics.liveStreams, statistics.peers)
    }
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
      .init(service: keys),
      .init(service: status),
      .init(service: TreeHeadSigner(
        database: database, key: signingKey, interval: .seconds(configuration.treeHeadIntervalSeconds),
        nowMicros: AggregatorDatabase.systemNowMicros, logger: logger)),
      .init(service: GRPCServerService(server: server)),
    ]
    if let address = configuration.dashboardAddress {
      services.append(.init(service: MonitoringServer(
        database: database, host: address.host, port: address.port,
        registry: registry, metricsFactory: metricsFactory, logger: logger)))
    }
    let group = ServiceGroup(
      configuration: .init(
        services: services,
        gracefulShutdownSignals: signals,
        logger: logger
      ).escalating(after: .seconds(configuration.shutdownGraceSeconds + 1))
    )
    let deadline = ShutdownDeadline(grace: .seconds(configuration.shutdownGraceSeconds + 1), signals: signals, logger: logger)
    earlySignals.forward(to: group, deadline: deadline)
    // SIGTERM: RPCs in flight may end within the grace period (the transport then ends them
    // with UNAVAILABLE, the group cancels what remains), the store is closed; the process ends
    // at most a margin later whatever still runs (the store is crash-safe).
    do {
      try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await deadline.guarding { try await group.run() } }
        tasks.addTask {
          // Shut down before it listened (SIGTERM while starting): nothing to announce.
          guard let endpoint = try? await transport.listeningEndpoint() else { return }
          logger.info("aggregator listening", metadata: [
            "zmq.endpoint": "\(endpoint)", "store.location": "\(database.location)",
            "curve": "\(configuration.secretKeyPath != nil)",
          ])
          onListening(endpoint)
        }
        try await tasks.waitForAll()
      }
    } catch {
      try? await database.close()
      throw error
    }
    try await database.close()
    logger.info("aggregator stopped")
  }
}
