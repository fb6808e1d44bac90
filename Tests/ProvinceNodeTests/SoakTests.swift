import AggregatorStorePostgres
import Foundation
import HiTechSchema
import Logging
import Testing

/// Two aggregators on one PostgreSQL database, five province nodes (each on one aggregator with
/// the other as its fallback), a backlog of reports, and one aggregator killed with SIGKILL
/// again and again while the nodes drain (each kill followed by a restart). Every report must
/// be stored exactly once and every file in sent/ must carry a receipt the store holds.
///
/// Tests/run.sh runs the short form (400 reports, 2 kills; well under two minutes). The soak:
/// `HITECH_SOAK_REPORTS=5000 HITECH_SOAK_KILLS=6 Tests/run.sh --filter SoakTests`.
@Suite(.serialized)
struct SoakTests {
  static let reporter = "110000"
  static let environment = ProcessInfo.processInfo.environment
  static let server: String? = {
    let value = environment["HITECH_TEST_POSTGRES_URL"] ?? ""
    return value.isEmpty ? nil : value
  }()
  static let reports = max(10, Int(environment["HITECH_SOAK_REPORTS"] ?? "") ?? 400)
  static let kills = max(1, Int(environment["HITECH_SOAK_KILLS"] ?? "") ?? 2)

  @Test(
    "two aggregators, five nodes, one aggregator killed again and again: every report stored once, every receipt in the store",
    .enabled(if: server != nil, "HITECH_TEST_POSTGRES_URL is not set: the soak is skipped (Tests/run.sh runs it)"),
    .timeLimit(.minutes(30)))
  func soak() async throws {
    let server = try #require(Self.server)
    let logger = Logger(label: "SoakTests")
    let name = "hitech_soak_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
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
    let count = Self.reports
    let bases = 50
    let samples = try NodeSamples.spread(count, bases: bases)
    let years = NodeSamples.spreadYears(count, bases: bases)
    let aggregators = [
      try await AggregatorUnderTest(reporters: [Self.reporter], years: years, loadBases: bases, store: url)
    ]
    let all = aggregators + [try await AggregatorUnderTest(reporters: [], years: [], sharing: aggregators[0])]
    for aggregator in all { try await aggregator.start(answeringAs: Self.reporter) }
    defer { for aggregator in all { aggregator.terminate() } }

    let nodes = try (0..<5).map { index in
      try NodeUnderTest(
        reporter: Self.reporter, aggregator: all[index % 2], extra: ["fallbackEndpoints": [all[(index + 1) % 2].endpoint]])
    }
    defer { for node in nodes { node.terminate() } }
    var expected = [Int](repeating: 0, count: nodes.count)
    for (index, sample) in samples.enumerated() {
      try nodes[index % nodes.count].drop(sample.name, sample.submission)
      expected[index % nodes.count] += 1
    }
    let started = ContinuousClock.now
    for node in nodes { try node.start() }

    // Kill one aggregator (in turn) each time another share of the backlog has been sent.
    func sent() -> Int { nodes.reduce(0) { $0 + $1.count("sent") } }
    var kills = 0
    for k in 0..<Self.kills {
      let mark = (k + 1) * count / (Self.kills + 1)
      let deadline = ContinuousClock.now + .seconds(600)
      while sent() < mark && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
      let victim = all[k % 2]
      victim.kill9()
      kills += 1
      try await Task.sleep(for: .milliseconds(300))
      try await victim.start(answeringAs: Self.reporter)
    }
    for (node, n) in zip(nodes, expected) { try await node.waitUntilDone(n, timeout: .seconds(900)) }
    let elapsed = ContinuousClock.now - started
    print("SoakTests: \(count) reports through 5 nodes and 2 aggregators in \(elapsed), \(kills) aggregators killed with SIGKILL")

    // Every file in sent/, none elsewhere; one receipt per submission id.
    var receipts: [String: Ndrc_Hitech_V1_Receipt] = [:]
    for (node, n) in zip(nodes, expected) {
      #expect(node.files("rejected").isEmpty, "\(node.files("rejected").prefix(3))")
      #expect(node.files("outbox").isEmpty)
      let sent = node.files("sent")
      #expect(sent.count == n)
      for name in sent {
        let receipt = try Ndrc_Hitech_V1_Receipt(jsonString: node.text("sent", name + ".receipt.json"))
        #expect(receipts[receipt.submissionID] == nil, "two files with receipts for \(receipt.submissionID)")
        receipts[receipt.submissionID] = receipt
      }
    }
    #expect(receipts.count == count)
    #expect(Set(receipts.keys) == Set(samples.map(\.submission.submissionID)))

    // Stored exactly once, and each receipt is the one the store holds.
    let store = try await all[0].openStore()
    var stored: [String: [String]] = [:]
    for year in years {
      var token: String?
      repeat {
        let page = try await store.submissions(
          reporterCode: Self.reporter, reportYear: year, baseId: nil, pageSize: 1000, pageToken: token)
        for receipt in page.receipts { stored[receipt.submissionId, default: []].append(receipt.accessionNumber) }
        token = page.nextPageToken
      } while token != nil
    }
    try await store.close()
    #expect(stored.count == count)
    #expect(stored.values.allSatisfy { $0.count == 1 }, "\(stored.filter { $0.value.count > 1 }.prefix(3))")
    let mismatched = receipts.filter { stored[$0.key] != [$0.value.accessionNumber] }
    #expect(mismatched.isEmpty, "receipts in sent/ the store does not hold: \(mismatched.prefix(3).map(\.key))")
  }
}
