import Foundation
import HiTechSchema
import ProvinceNode
import Testing

/// The node as a real `hitech node run` process against the real aggregator process.
@Suite(.serialized)
struct NodeEndToEndTests {
  static let reporter = "110000"

  @Test(
    "1,000 files end in sent/ with a receipt, stored once each; another province's base is rejected with permissionDenied",
    .timeLimit(.minutes(5)))
  func deliversEveryFileOnce() async throws {
    let count = 1000
    let samples = try NodeSamples.beijing(count)
    let years = NodeSamples.years(count)
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: years)
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    try node.start()
    let started = ContinuousClock.now
    for sample in samples { try node.drop(sample.name, sample.submission) }
    try node.drop("shanghai.json", try NodeSamples.submission(base: "SAMPLE-310000-01", year: 2025))
    try await node.waitUntilDone(count + 1, timeout: .seconds(240))
    let elapsed = ContinuousClock.now - started
    print("node drained \(count) files (+1 refused) in \(elapsed)")

    let sent = node.files("sent")
    #expect(sent.count == count)
    var receiptIds: Set<String> = []
    for name in sent {
      let receipt = try Ndrc_Hitech_V1_Receipt(jsonString: node.text("sent", name + ".receipt.json"))
      #expect(!receipt.accessionNumber.isEmpty)
      receiptIds.insert(receipt.submissionID)
    }
    #expect(receiptIds == Set(samples.map(\.submission.submissionID)))

    let rejected = node.files("rejected")
    #expect(rejected.count == 1)
    #expect(rejected.first?.hasSuffix("_shanghai.json") == true)
    if let name = rejected.first {
      #expect(node.text("rejected", name + ".rejected.txt").contains("permissionDenied"))
    }

    // The status file reflects the run.
    try await Task.sleep(for: .seconds(2.5))
    let status = try NodeStatus.read(path: node.statusPath)
    #expect(status.sent == count && status.rejected == 1 && status.queued == 0 && status.connection == "connected")

    #expect(node.terminate() == 0)
    let stoppedStatus = try NodeStatus.read(path: node.statusPath)
    #expect(stoppedStatus.state == "stopped")
    aggregator.terminate()
    let stored = try await aggregator.storedSubmissionIds(reporter: Self.reporter, years: years)
    #expect(stored.count == count)
    #expect(stored.values.allSatisfy { $0 == 1 })
    #expect(Set(stored.keys) == receiptIds)
  }

  @Test("the first endpoint answers nobody: the node moves on to the fallback endpoint and everything arrives once", .timeLimit(.minutes(3)))
  func fallsBackToTheNextEndpoint() async throws {
    let samples = try NodeSamples.beijing(60)
    let years = NodeSamples.years(samples.count)
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: years)
    try await aggregator.start(answeringAs: Self.reporter)
    let dead = try AggregatorUnderTest.unusedLoopbackEndpoint()
    let node = try NodeUnderTest(
      reporter: Self.reporter, aggregator: aggregator,
      extra: ["aggregatorEndpoint": dead, "fallbackEndpoints": [aggregator.endpoint]])
    try node.start()
    for sample in samples { try node.drop(sample.name, sample.submission) }
    try await node.waitUntilDone(samples.count, timeout: .seconds(90))
    #expect(node.files("sent").count == samples.count)
    #expect(node.log().contains("trying the next"))
    #expect(node.terminate() == 0)
    aggregator.terminate()
    let stored = try await aggregator.storedSubmissionIds(reporter: Self.reporter, years: years)
    #expect(stored.count == samples.count)
    #expect(stored.values.allSatisfy { $0 == 1 })
  }

  @Test("aggregator stopped while files are queued, then restarted: everything arrives once", .timeLimit(.minutes(5)))
  func survivesAggregatorOutage() async throws {
    let samples = try NodeSamples.beijing(150)
    let years = NodeSamples.years(150)
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: years)
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    try node.start()
    for sample in samples[0..<50] { try node.drop(sample.name, sample.submission) }
    try await node.waitUntilDone(50)

    #expect(aggregator.terminate() == 0)
    for sample in samples[50...] { try node.drop(sample.name, sample.submission) }
    // The node keeps trying for a while against nobody.
    try await Task.sleep(for: .seconds(5))
    #expect(node.files("sent").count == 50)
    let status = try NodeStatus.read(path: node.statusPath)
    #expect(status.connection == "unreachable")
    #expect(status.queued + status.inFlight >= 100)
    #expect(status.lastError != nil)

    try await aggregator.start(answeringAs: Self.reporter)
    try await node.waitUntilDone(150)
    #expect(node.files("sent").count == 150)
    #expect(node.files("rejected").isEmpty)
    #expect(node.terminate() == 0)
    aggregator.terminate()
    let stored = try await aggregator.storedSubmissionIds(reporter: Self.reporter, years: years)
    #expect(stored.count == 150)
    #expect(stored.values.allSatisfy { $0 == 1 })
    #expect(Set(stored.keys) == Set(samples.map(\.submission.submissionID)))
  }
}
