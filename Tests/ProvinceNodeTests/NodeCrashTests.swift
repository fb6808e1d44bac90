import Foundation
import HiTechSchema
import ProvinceNode
import Testing

/// The node process killed with SIGKILL again and again while it drains a backlog.
@Suite(.serialized)
struct NodeCrashTests {
  static let reporter = "110000"

  @Test("node killed with SIGKILL repeatedly during a run of 1,000 files: every file stored exactly once")
  func killNineRepeatedly() async throws {
    let count = 1000
    let samples = try NodeSamples.beijing(count)
    let years = NodeSamples.years(count)
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: years)
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    try node.start()
    let started = ContinuousClock.now
    var kills = 0
    for (index, sample) in samples.enumerated() {
      try node.drop(sample.name, sample.submission)
      // Kill while files are still being dropped and claimed, too.
      if index % 250 == 125 {
        try await Task.sleep(for: .milliseconds(Int.random(in: 20...200)))
        node.kill9()
        kills += 1
        try node.start()
      }
    }
    // Then kill during the drain, at random moments, until everything has arrived.
    while node.files("sent").count + node.files("rejected").count < count && kills < 12 {
      try await Task.sleep(for: .milliseconds(Int.random(in: 100...600)))
      node.kill9()
      kills += 1
      try node.start()
    }
    try await node.waitUntilDone(count, timeout: .seconds(300))
    print("node drained \(count) files with \(kills) SIGKILLs in \(ContinuousClock.now - started)")

    #expect(node.files("rejected").isEmpty)
    #expect(node.files("quarantine").isEmpty)
    #expect(node.files("claimed").isEmpty)
    #expect(node.files("outbox").isEmpty)
    let sent = node.files("sent")
    #expect(sent.count == count)
    var receiptIds: [String: Int] = [:]
    for name in sent {
      let receipt = try Ndrc_Hitech_V1_Receipt(jsonString: node.text("sent", name + ".receipt.json"))
      receiptIds[receipt.submissionID, default: 0] += 1
    }
    #expect(receiptIds.count == count)
    #expect(receiptIds.values.allSatisfy { $0 == 1 })
    #expect(node.terminate() == 0)

    aggregator.terminate()
    let stored = try await aggregator.storedSubmissionIds(reporter: Self.reporter, years: years)
    #expect(stored.count == count)
    #expect(stored.values.allSatisfy { $0 == 1 })
    #expect(Set(stored.keys) == Set(samples.map(\.submission.submissionID)))
  }
}
