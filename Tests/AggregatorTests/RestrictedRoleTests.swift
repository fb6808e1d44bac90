import AggregatorStorePostgres
import DaemonSupport
import Foundation
import TestProcesses
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import Logging
import Testing

/// The PostgreSQL deployment of deploy/postgres/: the roles made by roles.sql, the schema
/// migrated by the owner with `hitech store migrate`, grants.sql, and a real aggregator process
/// logging in as the restricted role.
@Suite("The aggregator on PostgreSQL as the restricted role of deploy/postgres/", .serialized, .timeLimit(.minutes(5)))
struct RestrictedRoleTests {
  @Test(
    "ingests and applies round steps with only the grants of grants.sql, and can change nothing else",
    .enabled(
      if: SharedStoreTests.server != nil,
      "HITECH_TEST_POSTGRES_URL is not set: the PostgreSQL deployment test is skipped (Tests/run.sh runs it)"))
  func restrictedRole() async throws {
    let server = try #require(SharedStoreTests.server)
    let logger = Logger(label: "RestrictedRoleTests")
    let suffix = String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10))
    let owner = "hitech_owner_\(suffix)"
    let aggregatorRole = "hitech_aggregator_\(suffix)"
    let database = "hitech_roles_\(suffix)"
    let root = AggregatorProcess.repositoryRoot.appendingPathComponent("deploy/postgres").path
    defer {
      Task {
        try? await PostgresReportStore.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)", url: server, logger: logger)
        try? await PostgresReportStore.execute("DROP ROLE IF EXISTS \(aggregatorRole)", url: server, logger: logger)
        try? await PostgresReportStore.execute("DROP ROLE IF EXISTS \(owner)", url: server, logger: logger)
      }
    }
    try psql(
      server, ["-v", "owner=\(owner)", "-v", "aggregator=\(aggregatorRole)", "-v", "database=\(database)", "-f", "\(root)/roles.sql"])
    let ownerURL = try Self.url(server, user: owner, database: database)
    let aggregatorURL = try Self.url(server, user: aggregatorRole, database: database)

    // The aggregator's role cannot make the schema, and says who can.
    let refused = try run(
      try AggregatorProcess.executable, ["store", "migrate", "--store", aggregatorURL], expectFailure: true)
    #expect(refused.contains("run `hitech store migrate` as the role that owns it"), "\(refused)")

    // The owner migrates and grants, as deploy/hitech-aggregator.service.d/postgres.conf says.
    let migrated = try hitech(["store", "migrate", "--store", ownerURL])
    #expect(migrated.contains("schema after:"))
    try psql(ownerURL, ["-v", "aggregator=\(aggregatorRole)", "-f", "\(root)/grants.sql"])

    // The registry, keys and the open round through the owner; the daemon as the restricted role.
    let setup = try AggregatorProcess(reporters: ["110000"], store: ownerURL)
    let aggregator = try AggregatorProcess(reporters: [], store: aggregatorURL, sharing: setup)
    try await aggregator.start()
    defer { _ = aggregator.terminate() }

    let submission = try SampleSubmissions.submission(base: "SAMPLE-110000-01")
    let receipt = try await aggregator.withNode("110000") { client in
      try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client).submit(submission)
    }
    #expect(receipt.status == .accepted)
    let again = try await aggregator.withNode("110000") { client in
      try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client).submit(submission)
    }
    #expect(again == receipt)

    // A round step: rounds, round_steps, round_notices, arrival_events.
    let keys = setup.directory.appendingPathComponent("keys").path
    let coordinator = try DaemonSupportKeys.generate(name: "coordinator", in: keys)
    _ = try setup.runCLI([
      "registry", "register-key", "--role", "coordinator", "--name", "central", "--public-key", coordinator.publicKeyPath,
    ])
    try await eventually(within: .seconds(20)) {
      (try? await aggregator.withNode(as: "coordinator:central", keys: coordinator.keyPair) { client in
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        return try await Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client)
          .whoAmI(Ndrc_Hitech_V1_WhoAmIRequest(), options: options).authenticatedIdentity
      }) == "coordinator:central"
    }
    let applied = try await aggregator.withNode(as: "coordinator:central", keys: coordinator.keyPair) { client in
      try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client).applyRoundStep(
        RelayHarness.step("2025/closed", RelayHarness.round(.closed), .closed(.init())))
    }
    #expect(!applied.alreadyApplied)

    // Nothing else: no edit of history, no registry change, no schema change.
    for statement in [
      "DELETE FROM audit_log", "UPDATE submissions SET late = true", "INSERT INTO bases SELECT * FROM bases",
      "UPDATE reporter_keys SET retired_at = 1", "CREATE TABLE intruder (x int)", "TRUNCATE findings",
    ] {
      let refused = try psql(aggregatorURL, ["-c", statement], expectFailure: true)
      #expect(refused.contains("permission denied"), "\(statement): \(refused)")
    }
  }

  // MARK: - Helpers

  /// The server's URL with another user and database (trust authentication: no password).
  static func url(_ server: String, user: String, database: String) throws -> String {
    guard var components = URLComponents(string: try PostgresReportStore.url(server, database: database)) else {
      throw AggregatorProcess.Failure("not a URL: \(server)")
    }
    components.user = user
    components.password = nil
    return components.string ?? server
  }

  @discardableResult
  func psql(_ url: String, _ arguments: [String], expectFailure: Bool = false) throws -> String {
    try run(URL(fileURLWithPath: "/usr/bin/env"), ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url] + arguments, expectFailure: expectFailure)
  }

  func hitech(_ arguments: [String]) throws -> String {
    try run(try AggregatorProcess.executable, arguments, expectFailure: false)
  }

  func run(_ executable: URL, _ arguments: [String], expectFailure: Bool) throws -> String {
    let process = ChildProcess()
    process.executableURL = executable
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readToEndRetryingInterrupts()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    if expectFailure != (process.terminationStatus != 0) {
      throw AggregatorProcess.Failure("\(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
    }
    return text
  }
}
