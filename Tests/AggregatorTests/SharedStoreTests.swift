import AggregatorStorePostgres
import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import Logging
import Testing

/// Two real aggregator processes on one PostgreSQL database (Tests/run.sh starts a throwaway
/// server and sets HITECH_TEST_POSTGRES_URL).
@Suite("Several aggregators on one PostgreSQL database", .serialized, .timeLimit(.minutes(5)))
struct SharedStoreTests {
  static let server: String? = {
    let value = ProcessInfo.processInfo.environment["HITECH_TEST_POSTGRES_URL"] ?? ""
    return value.isEmpty ? nil : value
  }()

  @Test(
    "a submission sent to both at once is stored once with one receipt; keys and notices reach both",
    .enabled(
      if: server != nil,
      "HITECH_TEST_POSTGRES_URL is not set: the several-aggregators test is skipped (Tests/run.sh runs it)"))
  func twoAggregators() async throws {
    let server = try #require(Self.server)
    let logger = Logger(label: "SharedStoreTests")
    let name = "hitech_shared_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
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
    let one = try AggregatorProcess(reporters: ["110000"], store: url)
    let two = try AggregatorProcess(reporters: [], sharing: one)
    try await one.start()
    try await two.start()
    defer {
      _ = one.terminate()
      _ = two.terminate()
    }

    // The same submission to both at once: stored once, the same receipt from each.
    var receipts: [Ndrc_Hitech_V1_Receipt] = []
    for i in 0..<10 {
      let revision = Int32(i / 2 + 1)
      let submission = try SampleSubmissions.submission(
        base: i % 2 == 0 ? "SAMPLE-110000-01" : "SAMPLE-110000-02", revision: revision, replaces: revision - 1,
        report: SampleSubmissions.report(scale: Int64(100 + i)))
      async let first = one.withNode("110000") { client in
        try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client).submit(submission)
      }
      async let second = two.withNode("110000") { client in
        try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client).submit(submission)
      }
      let (a, b) = try await (first, second)
      #expect(a == b)
      #expect(a.status == .accepted)
      #expect(a.revision == revision)
      receipts.append(a)
    }
    #expect(Set(receipts.map(\.accessionNumber)).count == 10)
    for receipt in receipts {
      var byId = Ndrc_Hitech_V1_GetReceiptRequest()
      byId.submissionID = receipt.submissionID
      let request = byId
      let fromOne = try await one.withNode("110000") { client in
        try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client).getReceipt(request)
      }
      let fromTwo = try await two.withNode("110000") { client in
        try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client).getReceipt(request)
      }
      #expect(fromOne == receipt)
      #expect(fromTwo == receipt)
    }
    var listing = Ndrc_Hitech_V1_ListSubmissionsRequest()
    listing.reportYear = 2025
    listing.pageSize = 100
    let list = listing
    let listed = try await two.withNode("110000") { client in
      try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client).listSubmissions(list)
    }
    #expect(listed.receipts.count == 10)

    // A key registered in the shared store is admitted by both, without a restart.
    let keys = one.directory.appendingPathComponent("keys").path
    let shanghai = try DaemonSupportKeys.generate(name: "310000", in: keys)
    try one.runCLI(["registry", "register-key", "--reporter", "310000", "--public-key", shanghai.publicKeyPath])
    let registered = ContinuousClock.now
    for aggregator in [one, two] {
      try await eventually(within: .seconds(20)) {
        let identity = try? await aggregator.withNode(as: "310000", keys: shanghai.keyPair) { client in
          var options = CallOptions.defaults
          options.timeout = .seconds(2)
          return try await Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client)
            .whoAmI(Ndrc_Hitech_V1_WhoAmIRequest(), options: options).authenticatedIdentity
        }
        return identity == "310000"
      }
    }
    print("SharedStoreTests: a new key was admitted by both aggregators \(ContinuousClock.now - registered) after its registration")

    // A round step applied through one reaches a node subscribed to the other, by sequence.
    let coordinator = try DaemonSupportKeys.generate(name: "coordinator", in: keys)
    try one.runCLI([
      "registry", "register-key", "--role", "coordinator", "--name", "central", "--public-key", coordinator.publicKeyPath,
    ])
    try await eventually(within: .seconds(20)) {
      (try? await one.withNode(as: "coordinator:central", keys: coordinator.keyPair) { client in
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        return try await Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client)
          .whoAmI(Ndrc_Hitech_V1_WhoAmIRequest(), options: options).authenticatedIdentity
      }) == "coordinator:central"
    }
    let applied = try await one.withNode(as: "coordinator:central", keys: coordinator.keyPair) { client in
      try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client).applyRoundStep(
        RelayHarness.step("2025/opened", RelayHarness.round(.open), .opened(.init())))
    }
    #expect(!applied.alreadyApplied)
    let notices = try await two.withNode("110000") { client in try await readNotices(client, count: 1) }
    #expect(notices.count == 1)
    #expect(notices.first?.reportYear == 2025)
    #expect(notices.first?.opened.round.state == .open)
    let sequence = notices.first?.sequence ?? 0
    #expect(sequence >= applied.firstNoticeSequence && sequence <= applied.lastNoticeSequence)
  }
}

/// Polls `condition` until it holds, failing the test after `limit`.
func eventually(within limit: Duration, _ condition: () async throws -> Bool) async throws {
  let deadline = ContinuousClock.now + limit
  while ContinuousClock.now < deadline {
    if try await condition() { return }
    try await Task.sleep(for: .milliseconds(100))
  }
  Issue.record("condition did not hold within \(limit)")
}
