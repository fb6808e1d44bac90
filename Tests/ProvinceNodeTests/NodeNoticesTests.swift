import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import ProvinceNode
import SwiftProtobuf
import Testing
import ZeroMQ
import ZeroMQTransport

/// The node hears round notices from the real aggregator process: each kept once as a file in
/// `spool/notices/` and logged, across a SIGKILL and restart of the node.
@Suite("Node round notices (real processes)", .serialized)
struct NodeNoticesTests {
  /// Applies a round step at the aggregator as the coordinator would.
  func apply(
    _ aggregator: AggregatorUnderTest, coordinator: CurveKeyPair, step: String,
    state: Ndrc_Hitech_V1_RoundState, _ announcement: Ndrc_Hitech_V1_ApplyRoundStepRequest.OneOf_Announcement
  ) async throws -> Ndrc_Hitech_V1_ApplyRoundStepResponse {
    var request = Ndrc_Hitech_V1_ApplyRoundStepRequest()
    request.stepID = step
    request.round.reportYear = 2026
    request.round.state = state
    request.round.latePolicy = .acceptMarkLate
    request.round.deadline = Google_Protobuf_Timestamp(seconds: 1_806_508_800)
    request.announcement = announcement
    let transport = ZeroMQTransport.Client(
      endpoint: aggregator.endpoint,
      security: .curveClient(keyPair: coordinator, serverPublicKey: aggregator.serverKeys.publicKey))
    return try await withGRPCClient(transport: transport) { client in
      try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client).applyRoundStep(request)
    }
  }

  func waitForNotices(_ node: NodeUnderTest, count: Int) async throws -> [String] {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      let names = node.files("notices").filter { $0.hasSuffix(".json") }
      if names.count >= count { return names }
      try await Task.sleep(for: .milliseconds(100))
    }
    throw TestFailure("the node kept \(node.files("notices")) within 30 s; log: \(node.log())")
  }

  @Test("opened and reminder notices reach the node once each, across its kill -9", .timeLimit(.minutes(3)))
  func notices() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: ["110000"], years: [2025])
    let coordinator = try CurveKeyFile.generate(name: "coordinator", in: aggregator.keysDirectory)
    try aggregator.runCLI([
      "registry", "register-key", "--role", "coordinator", "--name", "central", "--public-key", coordinator.publicKeyPath,
    ])
    try await aggregator.start(answeringAs: "110000")
    defer { aggregator.terminate() }
    let metricsPath = NSTemporaryDirectory() + "node-metrics-\(UUID().uuidString).prom"
    defer { try? FileManager.default.removeItem(atPath: metricsPath) }
    let node = try NodeUnderTest(reporter: "110000", aggregator: aggregator, extra: ["metricsPath": metricsPath])
    try node.start()

    let opened = try await apply(aggregator, coordinator: coordinator.keyPair, step: "2026/opened", state: .open, .opened(.init()))
    #expect(opened.addressedReporterCodes.contains("110000"))
    let first = try await waitForNotices(node, count: 1)
    #expect(first.count == 1)
    #expect(first[0].hasSuffix("-opened-2026.json"))
    let kept = try Ndrc_Hitech_V1_RoundNotice(jsonString: node.text("notices", first[0]))
    #expect(kept.opened.expectedBases.map(\.baseID) == ["SAMPLE-110000-01", "SAMPLE-110000-02"])
    // The notice is kept (its file) before it is logged.
    for _ in 0..<100 where !node.log().contains("round 2026 opened: 2 bases expected") {
      try await Task.sleep(for: .milliseconds(50))
    }
    #expect(node.log().contains("round 2026 opened: 2 bases expected"))

    // Killed and restarted: it resumes after the notice it kept, and hears the next one only.
    node.kill9()
    try node.start()
    var reminder = Ndrc_Hitech_V1_ReminderAnnouncement()
    reminder.beforeDeadline = Google_Protobuf_Duration(seconds: 3 * 86_400)
    _ = try await apply(aggregator, coordinator: coordinator.keyPair, step: "2026/reminder/259200s", state: .open, .reminder(reminder))
    let both = try await waitForNotices(node, count: 2)
    try await Task.sleep(for: .seconds(1))
    #expect(node.files("notices").filter { $0.hasSuffix(".json") }.count == 2)
    #expect(both.contains { $0.hasSuffix("-reminder-2026.json") })
    #expect(node.log().components(separatedBy: "round 2026 opened").count == 2)  // logged once
    #expect(node.log().contains("still missing: SAMPLE-110000-01, SAMPLE-110000-02"))
    // The node's metrics, for node_exporter's textfile collector.
    try node.drop("one.json", try NodeSamples.submission(base: "SAMPLE-110000-01", year: 2025))
    try await node.waitUntilDone(1)
    try await Task.sleep(for: .seconds(3))
    let metrics = (try? String(contentsOfFile: metricsPath, encoding: .utf8)) ?? ""
    #expect(metrics.contains("hitech_node_sent_total{reporter=\"110000\"} 1\n"), "\(metrics)")
    #expect(metrics.contains("hitech_node_queue_depth{reporter=\"110000\"} 0\n"), "\(metrics)")
    #expect(metrics.contains("hitech_node_connected{reporter=\"110000\"} 1\n"), "\(metrics)")
    #expect(metrics.contains("# TYPE hitech_node_retries_total counter"))

    // The status file shows the notices heard beside the queue (kept across the kill -9), and
    // `hitech node status` says them in words.
    let status = try NodeStatus.read(path: node.statusPath)
    let heard = try #require(status.notices)
    #expect(heard.map(\.kind) == ["opened", "reminder"])
    #expect(heard.allSatisfy { $0.reportYear == 2026 && $0.issuedAt != nil })
    #expect(heard[0].baseIds == ["SAMPLE-110000-01", "SAMPLE-110000-02"])
    #expect(heard[1].baseIds == ["SAMPLE-110000-01", "SAMPLE-110000-02"])
    #expect(heard[1].summary.contains("still missing: SAMPLE-110000-01, SAMPLE-110000-02"))
    #expect(status.queued == 0)
    let command = try NodeWatchdogTests.statusCommand(node)
    #expect(command.status == 0)
    #expect(command.output.contains("round notices heard"))
    #expect(command.output.contains("round 2026 opened: 2 bases expected"))
    #expect(command.output.contains("reminder for round 2026"))
    #expect(node.terminate() == 0)
  }

  @Test("round notices follow the endpoint list: a dead first endpoint, the fallback serves them", .timeLimit(.minutes(3)))
  func noticesThroughTheFallback() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: ["110000"], years: [2025])
    let coordinator = try CurveKeyFile.generate(name: "coordinator", in: aggregator.keysDirectory)
    try aggregator.runCLI([
      "registry", "register-key", "--role", "coordinator", "--name", "central", "--public-key", coordinator.publicKeyPath,
    ])
    try await aggregator.start(answeringAs: "110000")
    defer { aggregator.terminate() }
    let dead = try AggregatorUnderTest.unusedLoopbackEndpoint()
    let node = try NodeUnderTest(
      reporter: "110000", aggregator: aggregator,
      extra: ["aggregatorEndpoint": dead, "fallbackEndpoints": [aggregator.endpoint]])
    try node.start()
    _ = try await apply(aggregator, coordinator: coordinator.keyPair, step: "2026/opened", state: .open, .opened(.init()))
    let kept = try await waitForNotices(node, count: 1)
    #expect(kept.count == 1 && kept[0].hasSuffix("-opened-2026.json"))
    #expect(node.log().contains("round notices: trying the next aggregator endpoint"))
    #expect(node.terminate() == 0)
  }
}
