import AggregatorStorePostgres
import Foundation
import HiTechSchema
import Logging
import Testing

/// A node in front of two aggregators sharing one PostgreSQL database (Tests/run.sh starts a
/// throwaway server and sets HITECH_TEST_POSTGRES_URL): one aggregator is killed with SIGKILL
/// while the node drains its outbox, and the node goes on through the other.
@Suite(.serialized)
struct NodeFailoverTests {
  static let reporter = "110000"
  static let server: String? = {
    let value = ProcessInfo.processInfo.environment["HITECH_TEST_POSTGRES_URL"] ?? ""
    return value.isEmpty ? nil : value
  }()

  @Test(
    "one of two aggregators killed with SIGKILL mid-drain: the node fails over, every file stored exactly once",
    .enabled(if: server != nil, "HITECH_TEST_POSTGRES_URL is not set: the failover test is skipped (Tests/run.sh runs it)"),
    .timeLimit(.minutes(5)))
  func failover() async throws {
    let server = try #require(Self.server)
    let logger = Logger(label: "NodeFailoverTests")
    let name = "hitech_failover_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
    try await PostgresReportStore.execute("CREATE DATABASE \(name)", url: server, logger: logger)
    do {
      try await run(url: try PostgresReportStore.url(server, database: name))
    } catch {
      try? await PostgresReportStore.execute("DROP DATABASE \(name) WITH (FORCE)", url: server, logger: logger)
      throw error
    }
    try await PostgresReportStore.execute("DROP DATABASE \(name) WITH (FORCE)", url: server, logger: logger)
  }

  private func run(url: String) async throws {
    let count = 200
    let samples = try NodeSamples.beijing(count)
    let years = NodeSamples.years(count)
    let first = try await AggregatorUnderTest(reporters: [Self.reporter], years: years, store: url)
    let second = try await AggregatorUnderTest(reporters: [], years: [], sharing: first)
    try await first.start(answeringAs: Self.reporter)
    try await second.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(
      reporter: Self.reporter, aggregator: first, extra: ["fallbackEndpoints": [second.endpoint]])
    try node.start()
    for sample in samples { try node.drop(sample.name, sample.submission) }

    // Kill the node's first aggregator once part of the backlog has gone through it.
    let deadline = ContinuousClock.now + .seconds(120)
    while node.count("sent") < count / 4 && ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(20))
    }
    let sentBeforeKill = node.count("sent")
    first.kill9()
    try await node.waitUntilDone(count, timeout: .seconds(180))
    print("NodeFailoverTests: \(sentBeforeKill) of \(count) sent before the first aggregator was killed; the rest through the second")
    #expect(sentBeforeKill < count)

    #expect(node.files("rejected").isEmpty)
    #expect(node.files("outbox").isEmpty)
    let sent = node.files("sent")
    #expect(sent.count == count)
    var receiptIds: [String: Int] = [:]
    for name in sent {
      let receipt = try Ndrc_Hitech_V1_Receipt(jsonString: node.text("sent", name + ".receipt.json"))
      receiptIds[receipt.submissionID, default: 0] += 1
    }
    #expect(receiptIds.count == count)
    #expect(node.terminate() == 0)
    second.terminate()

    let stored = try await second.storedSubmissionIds(reporter: Self.reporter, years: years)
    #expect(stored.count == count)
    #expect(stored.values.allSatisfy { $0 == 1 })
    #expect(Set(stored.keys) == Set(samples.map(\.submission.submissionID)))
  }
}
