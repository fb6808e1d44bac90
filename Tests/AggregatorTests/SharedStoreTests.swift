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

  @Test(
    "1,000 submissions, each sent to both at once: one stored row each, the same receipt from both",
    .enabled(
      if: server != nil,
      "HITECH_TEST_POSTGRES_URL is not set: the several-aggregators test is skipped (Tests/run.sh runs it)"))
  func thousandRaces() async throws {
    let server = try #require(Self.server)
    let logger = Logger(label: "SharedStoreTests")
    let name = "hitech_races_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
    try await PostgresReportStore.execute("CREATE DATABASE \(name)", url: server, logger: logger)
    do {
      try await races(url: try PostgresReportStore.url(server, database: name), count: 1000)
    } catch {
      try? await PostgresReportStore.execute("DROP DATABASE \(name) WITH (FORCE)", url: server, logger: logger)
      throw error
    }
    try await PostgresReportStore.execute("DROP DATABASE \(name) WITH (FORCE)", url: server, logger: logger)
  }

  /// `count` first reports, one per base, each sent to both aggregators at the same moment
  /// (16 pairs in flight): each pair must answer one receipt twice and store one row.
  private func races(url: String, count: Int) async throws {
    let bases: [[String: Any]] = (1...count).map { index in
      [
        "baseId": Self.raceBase(index), "nameZh": "北京并发测试基地\(index)", "nameEn": "Beijing race test base \(index)",
        "kind": "BASE_KIND_SPECIALIZED", "fields": ["FIELD_INFORMATION"], "level": "BASE_LEVEL_NATIONAL",
        "reporterCode": "110000", "cityCode": "110100", "cityNameZh": "北京市",
        "recognition": [
          "documentNumber": "测试[2010]\(index)号", "date": ["year": 2010, "month": 6, "day": 1],
          "level": "BASE_LEVEL_NATIONAL", "issuer": "TEST",
        ] as [String: Any],
        "status": "BASE_STATUS_ACTIVE", "firstReportYear": 2000,
      ]
    }
    let one = try AggregatorProcess(reporters: ["110000"], extraBases: bases, store: url)
    let two = try AggregatorProcess(reporters: [], sharing: one)
    try await one.start()
    try await two.start()
    defer {
      _ = one.terminate()
      _ = two.terminate()
    }
    let submissions = try (1...count).map { index in
      try SampleSubmissions.submission(
        id: "race-\(index)", base: Self.raceBase(index), report: SampleSubmissions.report(scale: Int64(100 + index % 50)))
    }
    let pairs = try await one.withNode("110000") { first in
      try await two.withNode("110000") { second in
        try await withThrowingTaskGroup(of: (Ndrc_Hitech_V1_Receipt, Ndrc_Hitech_V1_Receipt).self) { group in
          var pairs: [(Ndrc_Hitech_V1_Receipt, Ndrc_Hitech_V1_Receipt)] = []
          var next = 0
          func add() {
            let submission = submissions[next]
            next += 1
            group.addTask {
              async let a = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: first).submit(submission)
              async let b = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: second).submit(submission)
              return try await (a, b)
            }
          }
          while next < min(16, submissions.count) { add() }
          while let pair = try await group.next() {
            pairs.append(pair)
            if next < submissions.count { add() }
          }
          return pairs
        }
      }
    }
    #expect(pairs.count == count)
    #expect(pairs.filter { $0.0 != $0.1 }.isEmpty, "\(pairs.filter { $0.0 != $0.1 }.prefix(3))")
    #expect(pairs.allSatisfy { $0.0.status == .accepted })
    #expect(Set(pairs.map(\.0.accessionNumber)).count == count)

    // One row per submission id: the store's own count, through the store.
    let store = try await one.openStore()
    var stored = 0
    var pageToken: String?
    repeat {
      let page = try await store.submissions(
        reporterCode: "110000", reportYear: 2025, baseId: nil, pageSize: 1000, pageToken: pageToken)
      stored += page.receipts.filter { $0.submissionId.hasPrefix("race-") }.count
      pageToken = page.nextPageToken
    } while pageToken != nil
    let arrivals = try await store.arrivals(afterSequence: 0, reportYear: 2025, reporterCode: "110000", limit: 1000)
    try await store.close()
    #expect(stored == count)
    #expect(arrivals.count == min(1000, count))
  }

  static func raceBase(_ index: Int) -> String {
    "RACE-110000-" + String(repeating: "0", count: max(0, 4 - String(index).count)) + String(index)
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
