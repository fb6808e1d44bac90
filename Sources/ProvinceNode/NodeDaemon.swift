import DaemonSupport
import Foundation
public import Logging
import ServiceLifecycle
import Synchronization
public import UnixSignals
import ZeroMQ
import TransparencyLog
import ZeroMQTransport

/// The province node daemon: the spool, the outbox watcher, the sender, the round-notice
/// listener and the status file,
/// run as one `ServiceGroup` that stops cleanly on SIGTERM and SIGINT (the watcher stops, calls
/// in flight finish and are marked, nothing new is sent, the status file says `stopped`).
public struct NodeDaemon: Sendable {
  public let configuration: NodeConfiguration
  public let logger: Logger
  /// Tests only: faults injected into the spool's file system calls once it is open.
  var spoolFaults: FaultInjector?

  public init(configuration: NodeConfiguration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
  }

  /// Runs until a signal stops it. Throws at start when a key file is unreadable or the secret
  /// key file is not mode 0600 (``DaemonSupport/CurveKeyFile/Problem``), when another daemon
  /// runs on the spool (``DaemonSupport/StateLock/InUse``: the spool's `.lock` is held for the
  /// life of the process), or the spool cannot be opened.
  /// - Parameter onStarted: called once the watcher is in place and the spool recovered.
  public func run(
    signals: [UnixSignal] = [.sigterm, .sigint],
    onStarted: @escaping @Sendable () -> Void = {}
  ) async throws {
    // From here on SIGTERM/SIGINT stop the daemon cleanly, even before its ServiceGroup runs.
    let earlySignals = EarlyShutdownSignals.install(signals)
    let keyPair = try CurveKeyFile.readKeyPair(secretKeyPath: configuration.secretKeyPath)
    let serverKey = try CurveKeyFile.readPublicKey(configuration.aggregatorPublicKeyPath)
    DescriptorLimit.raiseAndLog(role: "node", logger: logger)
    try FileSystem.makeDirectory(configuration.spoolDirectory)
    let lock = try StateLock(
      path: StateLock.path(inFolder: configuration.spoolDirectory), guarding: "the spool \(configuration.spoolDirectory)")
    defer { withExtendedLifetime(lock) {} }
    let spool = try Spool(directory: configuration.spoolDirectory, logger: logger)
    spool.faultInjector = spoolFaults
    let watcher = try OutboxWatcher(directory: spool.outboxPath)
    let executor = SpoolExecutor(spool: spool)
    let wake = Doorbell()
    let state = NodeState()
    let sender = Sender(
      configuration: configuration,
      security: .curveClient(keyPair: keyPair, serverPublicKey: serverKey),
      spool: executor,
      wake: wake,
      state: state,
      logger: logger
    )
    let outbox = OutboxService(watcher: watcher, spool: executor, wake: wake, state: state, logger: logger)
    let noticeLog = try NoticeLog(directory: (configuration.spoolDirectory as NSString).appendingPathComponent("notices"))
    let notices = NoticeListener(
      endpoints: configuration.endpoints,
      security: .curveClient(keyPair: keyPair, serverPublicKey: serverKey),
      log: noticeLog,
      logger: logger
    )
    let ledger = try LogAuditLedger(directory: (configuration.spoolDirectory as NSString).appendingPathComponent("audit"))
    let auditor = LogAuditor(
      endpoints: configuration.endpoints,
      security: .curveClient(keyPair: keyPair, serverPublicKey: serverKey),
      sentDirectory: spool.sentPath,
      ledger: ledger,
      configuredKeys: LogKeyRing(
        try configuration.receiptKeyPaths.map { .init(key: try ReceiptSigningKeyFile.readPublicKey($0), retired: false) }
          + configuration.retiredReceiptKeyPaths.map { .init(key: try ReceiptSigningKeyFile.readPublicKey($0), retired: true) }),
      interval: .seconds(configuration.auditIntervalSeconds),
      logger: logger)
    var status = NodeStatusWriter(
      path: configuration.statusPath, configuration: configuration, spool: executor, state: state, logger: logger,
      notices: noticeLog)
    status.audit = ledger
    let group = ServiceGroup(
      configuration: .init(
        services: [
          .init(service: status),
          .init(service: outbox),
          .init(service: sender),
          .init(service: notices),
          .init(service: auditor),
        ],
        gracefulShutdownSignals: signals,
        logger: logger
      ).escalating(after: .seconds(configuration.shutdownGraceSeconds))
    )
    let deadline = ShutdownDeadline(grace: .seconds(configuration.shutdownGraceSeconds), signals: signals, logger: logger)
    earlySignals.forward(to: group, deadline: deadline)
    logger.info("province node starting", metadata: [
      "node.reporter": "\(configuration.reporterCode)", "zmq.endpoint": "\(configuration.aggregatorEndpoint)",
      "spool.directory": "\(configuration.spoolDirectory)",
    ])
    onStarted()
    defer { watcher.stop() }
    // SIGTERM: calls in flight may end within the grace period, then they are cancelled; the
    // process ends at most a margin later, whatever still runs (the spool is crash-safe).
    try await deadline.guarding { try await group.run() }
    logger.info("province node stopped")
  }
}

/// Turns the watcher's events into claims: names are gathered while a claim runs, so a burst
/// of drops is claimed in batches (one journal fsync per batch); `.rescan` scans the whole
/// outbox. After each claim the sender is woken; after a failed claim it is also asked to
/// recover the spool (which claims what the failed claim left in claimed/ or outbox/).
struct OutboxService: Service {
  let watcher: OutboxWatcher
  let spool: SpoolExecutor
  let wake: Doorbell
  let state: NodeState
  let logger: Logger

  struct Pending: Sendable {
    var names: [String] = []
    var rescan = false
  }

  final class PendingBox: Sendable {
    let value = Mutex(Pending())
  }

  func run() async throws {
    let pending = PendingBox()
    let claimBell = Doorbell()
    await withGracefulShutdownHandler {
      await withTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
          for await event in watcher.events {
            pending.value.withLock {
              switch event {
              case .file(let name): $0.names.append(name)
              case .rescan: $0.rescan = true
              }
            }
            claimBell.ring()
          }
          claimBell.close()
        }
        tasks.addTask {
          while await claimBell.wait() {
            let work = pending.value.withLock { value -> Pending in
              defer { value = Pending() }
              return value
            }
            await claim(work)
          }
        }
      }
    } onGracefulShutdown: {
      watcher.stop()
    }
  }

  private func claim(_ work: Pending) async {
    do {
      let summary: ClaimSummary
      if work.rescan {
        summary = try await spool.run { try $0.claimPending() }
      } else if !work.names.isEmpty {
        summary = try await spool.run { [names = work.names] in try $0.claim(names: names) }
      } else {
        return
      }
      if !summary.rejected.isEmpty || !summary.quarantined.isEmpty {
        logger.warning("files refused locally", metadata: [
          "spool.rejected": "\(summary.rejected)", "spool.quarantined": "\(summary.quarantined)",
        ])
      }
      logger.debug("claimed", metadata: ["spool.claimed": "\(summary.claimed.count)"])
    } catch {
      logger.error("claim failed; the sender recovers the spool when it is idle", metadata: ["error": "\(error)"])
      state.update {
        $0.spoolNeedsRecovery = true
        $0.lastError = "claiming outbox files: \(error)"
        $0.lastErrorAt = Date()
      }
    }
    state.progressed()
    // Even after a failed claim: recovery or an earlier claim may have queued messages.
    wake.ring()
  }
}

/// What `hitech node status` prints: the spool's counts, the connection state, the last error.
public struct NodeStatus: Codable, Hashable, Sendable {
  public var role = "node"
  public var pid: Int32
  public var reporterCode: String
  public var aggregatorEndpoint: String
  public var spoolDirectory: String
  public var startedAt: Date
  public var updatedAt: Date
  /// `running` or `stopped`.
  public var state: String
  /// `starting`, `connected`, `unreachable`, `stopped`, or `stalled` when ``stalled``.
  public var connection: String
  /// The watchdog: the node has moved nothing on for ``stallAfterSeconds`` while work is queued
  /// (no call ended, no pause or claim ended, the spool did not answer), outside a pause after
  /// a failure. A hung disk under the spool or a call that never ends; see the log.
  public var stalled: Bool = false
  /// The last time the node moved its work on (``stalled`` counts from here).
  public var lastProgressAt: Date?
  /// When ``stalled``: since when nothing has moved.
  public var stalledSince: Date?
  /// The watchdog's bound: three call deadlines, at least 10 s.
  public var stallAfterSeconds: Int?
  /// Set when the spool has not answered a status request since this time (its thread is busy
  /// or stuck); the counts are then the last ones it gave.
  public var spoolWaitingSince: Date?
  public var queued: Int
  public var inFlight: Int
  public var outbox: Int
  public var claimed: Int
  public var sent: Int
  public var rejected: Int
  public var quarantined: Int
  public var sentSinceStart: Int
  public var rejectedSinceStart: Int
  public var retriesSinceStart: Int
  public var nextRetryAt: Date?
  public var lastReceipt: String?
  public var lastError: String?
  public var lastErrorAt: Date?
  /// The round notices heard last (at most ten), oldest first: opened, reminders naming the
  /// bases still missing, closed, results. Every notice is kept in `spool/notices/`.
  public var notices: [HeardNotice]?
  /// The audit of the centre's submissions log (RECEIPTS.md): the tree head last verified,
  /// the receipts proved included, and every alarm.
  public var audit: LogAuditSummary? = nil

  /// The status in the Prometheus text exposition format, labelled with the reporter code.
  public var prometheusText: String {
    let label = "{reporter=\"\(reporterCode)\"}"
    var lines: [String] = []
    func metric(_ name: String, _ type: String, _ help: String, _ value: Int) {
      lines.append("# HELP \(name) \(help)")
      lines.append("# TYPE \(name) \(type)")
      lines.append("\(name)\(label) \(value)")
    }
    metric("hitech_node_queue_depth", "gauge", "Report files claimed and waiting to be sent (not in flight).", queued)
    metric("hitech_node_in_flight", "gauge", "Submit calls in flight.", inFlight)
    metric("hitech_node_outbox_files", "gauge", "Files in outbox/ not yet claimed.", outbox)
    metric("hitech_node_sent_files", "gauge", "Files in sent/.", sent)
    metric("hitech_node_rejected_files", "gauge", "Files in rejected/.", rejected)
    metric("hitech_node_quarantined_files", "gauge", "Files in quarantine/.", quarantined)
    metric("hitech_node_sent_total", "counter", "Files sent with a receipt since the node started.", sentSinceStart)
    metric("hitech_node_rejected_total", "counter", "Files rejected since the node started.", rejectedSinceStart)
    metric("hitech_node_retries_total", "counter", "Retryable failures (each followed by a backoff) since the node started.", retriesSinceStart)
    metric("hitech_node_connected", "gauge", "1 when the last call to the aggregator got an answer.", connection == "connected" ? 1 : 0)
    metric(
      "hitech_node_sender_stalled", "gauge",
      "1 when the node has moved nothing on for stall_after seconds while work is queued (see lastError and the log).", stalled ? 1 : 0)
    if let audit {
      metric("hitech_node_audit_alarms", "gauge", "Alarms of the submissions log audit: receipts or tree heads that do not verify (see hitech node status).", audit.alarms.count)
      metric("hitech_node_audited_receipts", "gauge", "Receipts proved to be in the centre's submissions log.", audit.auditedReceipts)
      metric("hitech_node_audited_tree_size", "gauge", "Size of the centre's submissions log at the tree head last verified.", Int(audit.treeSize ?? 0))
    }
    if let lastProgressAt {
      lines.append("# HELP hitech_node_last_progress_timestamp_seconds When the node last moved its work on (a call ended, a pause or claim ended, or nothing was left to send), Unix time.")
      lines.append("# TYPE hitech_node_last_progress_timestamp_seconds gauge")
      lines.append("hitech_node_last_progress_timestamp_seconds\(label) \(Int64(lastProgressAt.timeIntervalSince1970))")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  public static func read(path: String) throws -> NodeStatus {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return try decoder.decode(NodeStatus.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
  }
}

/// Writes ``NodeStatus`` as JSON every 2 s (atomically: write, then rename).
struct NodeStatusWriter: Service {
  let path: String?
  let configuration: NodeConfiguration
  let spool: SpoolExecutor
  let state: NodeState
  let logger: Logger
  /// The notices heard, for the status file.
  var notices: NoticeLog? = nil
  var interval: Duration = .seconds(2)
  /// The submissions log audit's ledger, shown in the status.
  var audit: LogAuditLedger?
  /// The stall the watchdog last logged (it logs a stall once, and its end).
  private let loggedStall = LoggedStall()

  final class LoggedStall: Sendable {
    let since = Mutex<Date?>(nil)
  }

  private func noteStall(_ stalledSince: Date?, busySince: Date?, queued: Int) {
    let previous = loggedStall.since.withLock { value -> Date? in
      defer { value = stalledSince }
      return value
    }
    if let stalledSince, previous == nil {
      var metadata: Logger.Metadata = [
        "node.last_progress": "\(stalledSince)", "spool.queued": "\(queued)",
        "node.stall_after_s": "\(Int(StallRule(configuration: configuration).after))",
      ]
      if let busySince { metadata["spool.busy_since"] = "\(busySince)" }
      logger.error(
        "the sender is stalled: nothing has moved while work is queued\(busySince != nil ? " (the spool's thread has not answered: a hung disk?)" : "")",
        metadata: metadata)
    } else if stalledSince == nil, let previous {
      logger.notice("the sender moves again", metadata: ["node.stalled_since": "\(previous)"])
    }
  }

  func run() async throws {
    // Runs even without a status or metrics file: the watchdog logs a stall.
    let startedAt = Date()
    try? await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        await write(state: "running", startedAt: startedAt)
        try await Task.sleep(for: interval)
      }
    }
    await write(state: "stopped", startedAt: startedAt)
  }

  private func write(state running: String, startedAt: Date) async {
    let where_ = [path, configuration.metricsPath].compactMap { $0 }.joined(separator: ", ")
    do {
      // Never waits on a stuck spool thread: the last counts it gave, and since when it is busy.
      let probe = await spool.status()
      let spoolStatus = probe.last ?? SpoolStatus(outbox: 0, claimed: 0, inFlight: 0, sent: 0, rejected: 0, quarantined: 0)
      let busySince = probe.waitingSince.flatMap { Date().timeIntervalSince($0) >= 1 ? $0 : nil }
      let values = state.snapshot
      let rule = StallRule(configuration: configuration)
      let now = Date()
      // A claim moving on batch by batch is progress; a spool that does not answer has work
      // (its counts are stale).
      let lastProgressAt = max(values.lastProgressAt, spool.spool.lastBatchEndedAt ?? .distantPast)
      let stalledSince = running == "stopped" ? nil : rule.stalledSince(
        now: now, lastProgressAt: lastProgressAt,
        work: probe.last == nil || busySince != nil ? nil : spoolStatus.outbox + spoolStatus.claimed,
        pausingUntil: values.nextRetryAt)
      noteStall(stalledSince, busySince: busySince, queued: spoolStatus.queued)
      let status = NodeStatus(
        pid: ProcessInfo.processInfo.processIdentifier,
        reporterCode: configuration.reporterCode,
        aggregatorEndpoint: configuration.aggregatorEndpoint,
        spoolDirectory: configuration.spoolDirectory,
        startedAt: startedAt,
        updatedAt: Date(),
        state: running,
        connection: running == "stopped" ? "stopped" : stalledSince != nil ? "stalled" : values.connection,
        stalled: stalledSince != nil,
        lastProgressAt: lastProgressAt,
        stalledSince: stalledSince,
        stallAfterSeconds: Int(rule.after),
        spoolWaitingSince: busySince,
        queued: spoolStatus.queued,
        inFlight: spoolStatus.inFlight,
        outbox: spoolStatus.outbox,
        claimed: spoolStatus.claimed,
        sent: spoolStatus.sent,
        rejected: spoolStatus.rejected,
        quarantined: spoolStatus.quarantined,
        sentSinceStart: values.sentSinceStart,
        rejectedSinceStart: values.rejectedSinceStart,
        retriesSinceStart: values.retriesSinceStart,
        nextRetryAt: values.nextRetryAt,
        lastReceipt: spoolStatus.lastReceipt,
        lastError: values.lastError ?? spoolStatus.lastError,
        lastErrorAt: values.lastErrorAt,
        notices: notices?.recent,
        audit: audit?.summary
      )
      if let path {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(status).write(to: URL(fileURLWithPath: path), options: .atomic)
      }
      if let metricsPath = configuration.metricsPath {
        try Data(status.prometheusText.utf8).write(to: URL(fileURLWithPath: metricsPath), options: .atomic)
      }
    } catch {
      logger.warning("could not write the status or metrics file", metadata: ["status.path": "\(where_)", "error": "\(error)"])
    }
  }
}
