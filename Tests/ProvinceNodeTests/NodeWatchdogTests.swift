import Foundation
import TestProcesses
import HiTechSchema
import Logging
import Synchronization
import Testing

@testable import ProvinceNode

#if canImport(Glibc)
import Glibc
#endif

/// A spool read that hangs until opened, like a read on a hung disk: an injected fault that
/// blocks instead of failing.
final class HangingRead: Sendable {
  private let closed = Atomic<Bool>(true)
  private let waiting = Atomic<Int>(0)

  /// How many reads are hanging now.
  var hanging: Int { waiting.load(ordering: .relaxed) }

  func open() { closed.store(false, ordering: .relaxed) }

  /// Hangs every `readToSend` of a path containing `name` while closed.
  func injector(name: String) -> FaultInjector {
    { operation, path in
      guard operation == .readToSend, path.contains(name) else { return nil }
      self.waiting.add(1, ordering: .relaxed)
      while self.closed.load(ordering: .relaxed) { usleep(10_000) }
      self.waiting.subtract(1, ordering: .relaxed)
      return nil
    }
  }
}

/// The node's watchdog, with the daemon in this process (to hang its spool) and the aggregator
/// as a real process: a node that moves nothing on while work is queued is reported as stalled
/// in its status file and its metrics, and a node that only waits (idle, or backing off from an
/// unreachable aggregator) is not.
@Suite(.serialized)
struct NodeWatchdogTests {
  static let reporter = "110000"

  static func status(_ node: NodeUnderTest) -> NodeStatus? { try? NodeStatus.read(path: node.statusPath) }

  static func metrics(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

  /// `hitech node status --config …`: its exit status and what it printed.
  static func statusCommand(_ node: NodeUnderTest) throws -> (status: Int32, output: String) {
    let process = ChildProcess()
    process.executableURL = try AggregatorUnderTest.executable
    process.arguments = ["node", "status", "--config", node.configPath]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readToEndRetryingInterrupts()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  @Test(
    "a hung spool read while files are queued: status `stalled` (connection too) with since-when, hitech_node_sender_stalled 1; backing off or idle is never stalled",
    .timeLimit(.minutes(3)))
  func stalledSenderIsReported() async throws {
    let samples = try NodeSamples.beijing(4)
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: NodeSamples.years(samples.count))
    let metricsPath = NSTemporaryDirectory() + "node-metrics-\(UUID().uuidString).prom"
    defer { unlink(metricsPath) }
    let node = try NodeUnderTest(
      reporter: Self.reporter, aggregator: aggregator,
      extra: ["callTimeoutSeconds": 1, "metricsPath": metricsPath])
    let hang = HangingRead()
    let configuration = try await NodeConfiguration.load(file: node.configPath, environment: [:])
    var logger = Logger(label: "test.node")
    logger.logLevel = .critical
    var daemon = NodeDaemon(configuration: configuration, logger: logger)
    daemon.spoolFaults = hang.injector(name: "_stuck.json")
    let running = SenderRecoveryTests.RunningDaemon(daemon)

    // 1. The aggregator is not running yet: calls fail, the sender backs off and retries. That
    // is waiting on purpose, not a stall, however long it lasts (> the 10 s bound here).
    try node.drop(samples[0].name, samples[0].submission)
    try await SenderRecoveryTests.waitFor("status unreachable", timeout: .seconds(30)) {
      Self.status(node)?.connection == "unreachable"
    }
    let bound = try #require(Self.status(node)?.stallAfterSeconds)
    #expect(bound == 10)
    let until = ContinuousClock.now + .seconds(bound + 4)
    while ContinuousClock.now < until {
      let status = try #require(Self.status(node))
      #expect(!status.stalled, "backing off is reported as a stall: \(status)")
      try await Task.sleep(for: .milliseconds(500))
    }
    try await aggregator.start(answeringAs: Self.reporter)
    try await node.waitUntilDone(1, timeout: .seconds(30))

    // 2. Idle for longer than the bound: not stalled.
    try await Task.sleep(for: .seconds(Double(bound) + 3))
    var idle = try #require(Self.status(node))
    #expect(!idle.stalled && idle.connection == "connected", "\(idle)")
    #expect(idle.lastProgressAt != nil)
    #expect(try Self.statusCommand(node).status == 0)

    // 3. The read of a claimed file hangs (a hung disk): the sender and the spool move nothing.
    try node.drop("stuck.json", samples[1].submission)
    try node.drop(samples[2].name, samples[2].submission)
    try await SenderRecoveryTests.waitFor("the hanging read", timeout: .seconds(30)) { hang.hanging == 1 }
    let hungAt = Date()
    try await SenderRecoveryTests.waitFor("status stalled", timeout: .seconds(60)) {
      Self.status(node)?.stalled == true
    }
    let stalled = try #require(Self.status(node))
    #expect(stalled.connection == "stalled")
    #expect(stalled.state == "running")
    let since = try #require(stalled.stalledSince)
    #expect(since <= hungAt.addingTimeInterval(1) && since >= hungAt.addingTimeInterval(-60), "stalled since \(since), hung at \(hungAt)")
    #expect(stalled.spoolWaitingSince != nil, "the spool's thread is stuck, yet the status says it answers")
    // The metrics file is written just after the status file.
    try await SenderRecoveryTests.waitFor("the metrics file saying stalled", timeout: .seconds(10)) {
      Self.metrics(metricsPath).contains("hitech_node_sender_stalled{reporter=\"110000\"} 1\n")
    }
    let metrics = Self.metrics(metricsPath)
    #expect(metrics.contains("hitech_node_connected{reporter=\"110000\"} 0\n"), "\(metrics)")
    #expect(metrics.contains("hitech_node_last_progress_timestamp_seconds{reporter=\"110000\"} "), "\(metrics)")
    let command = try Self.statusCommand(node)
    #expect(command.status == 2, "\(command.output)")
    #expect(command.output.contains("STALLED since") && command.output.contains("\"stalled\" : true"), "\(command.output)")

    // 4. The disk answers again: everything is sent, and the stall is over.
    hang.open()
    try await node.waitUntilDone(3, timeout: .seconds(60))
    try await SenderRecoveryTests.waitFor("status no longer stalled", timeout: .seconds(30)) {
      Self.status(node).map { !$0.stalled && $0.connection == "connected" } ?? false
    }
    idle = try #require(Self.status(node))
    #expect(idle.stalledSince == nil && idle.spoolWaitingSince == nil)
    try await SenderRecoveryTests.waitFor("the metrics file saying not stalled", timeout: .seconds(10)) {
      Self.metrics(metricsPath).contains("hitech_node_sender_stalled{reporter=\"110000\"} 0\n")
    }
    await running.stop()
    aggregator.terminate()
  }

  @Test("the stall rule: work queued and nothing moved for the bound, outside a pause")
  func stallRule() {
    let rule = StallRule(configuration: NodeConfiguration(callTimeoutSeconds: 30))
    #expect(rule.after == 90)
    #expect(StallRule(configuration: NodeConfiguration(callTimeoutSeconds: 1)).after == 10)
    let now = Date()
    let old = now.addingTimeInterval(-100)
    #expect(rule.stalledSince(now: now, lastProgressAt: old, work: 3, pausingUntil: nil) == old)
    #expect(rule.stalledSince(now: now, lastProgressAt: old, work: nil, pausingUntil: nil) == old)
    #expect(rule.stalledSince(now: now, lastProgressAt: old, work: 0, pausingUntil: nil) == nil)
    #expect(rule.stalledSince(now: now, lastProgressAt: now.addingTimeInterval(-80), work: 3, pausingUntil: nil) == nil)
    #expect(rule.stalledSince(now: now, lastProgressAt: old, work: 3, pausingUntil: now.addingTimeInterval(5)) == nil)
    #expect(rule.stalledSince(now: now, lastProgressAt: old, work: 3, pausingUntil: now.addingTimeInterval(-5)) == old)
  }
}
