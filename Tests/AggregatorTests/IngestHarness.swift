import Aggregator
import AggregatorStore
import Foundation
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import Logging
import Testing
import ZeroMQ
import ZeroMQTransport

/// The ReportIngest service on a real SQLite file behind a real CURVE ZeroMQ server, in this
/// process: for the rule, deduplication and authorisation matrices.
final class IngestHarness: Sendable {
  let directory: URL
  let database: AggregatorDatabase
  let serverKeys: CurveKeyPair
  let nodeKeys: [String: CurveKeyPair]

  init(reporters: [String] = ["110000", "440300"], round: RoundRecord.State = .open, latePolicy: RoundRecord.LatePolicy = .acceptMarkLate) async throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    database = try AggregatorDatabase(
      path: directory.appendingPathComponent("store.sqlite").path,
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    try await Registry.seedReporters(database, actor: "test")
    let registry = AggregatorProcess.repositoryRoot.appendingPathComponent("deploy/sample/registry.json").path
    for base in try RegistryFile.readBases(path: registry) { try await database.upsertBase(base, actor: "test") }
    try await database.setRound(RoundRecord(reportYear: 2025, state: round, latePolicy: latePolicy), actor: "test")
    serverKeys = try CurveKeyPair.generate()
    var keys: [String: CurveKeyPair] = [:]
    for reporter in reporters { keys[reporter] = try CurveKeyPair.generate() }
    nodeKeys = keys
  }

  deinit {
    try? FileManager.default.removeItem(at: directory)
  }

  /// Runs the server for the duration of `body`, which gets a client per reporter.
  func run<Result: Sendable>(
    _ body: @Sendable (_ node: @escaping @Sendable (String) -> Ndrc_Hitech_V1_ReportIngest.Client<ZeroMQTransport.Client>) async throws -> Result
  ) async throws -> Result {
    let allow = CurveAllowList(Dictionary(uniqueKeysWithValues: nodeKeys.map { ($0.value.publicKey, $0.key) }))
    let transport = ZeroMQTransport.Server(
      endpoint: "tcp://127.0.0.1:*", security: .curveServer(keyPair: serverKeys, policy: allow)
    )
    let service = ReportIngestService(database: database, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    let server = GRPCServer(transport: transport, services: [service])
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let endpoint = try await transport.listeningEndpoint()
      let clients = nodeKeys.mapValues { keys in
        GRPCClient(transport: ZeroMQTransport.Client(
          endpoint: endpoint, security: .curveClient(keyPair: keys, serverPublicKey: serverKeys.publicKey)))
      }
      for client in clients.values { group.addTask { try await client.runConnections() } }
      do {
        let result = try await body { reporter in Ndrc_Hitech_V1_ReportIngest.Client(wrapping: clients[reporter]!) }
        for client in clients.values { client.beginGracefulShutdown() }
        server.beginGracefulShutdown()
        try await group.waitForAll()
        return result
      } catch {
        for client in clients.values { client.beginGracefulShutdown() }
        server.beginGracefulShutdown()
        try? await group.waitForAll()
        throw error
      }
    }
  }
}

/// The status code of a failed call (nil when it succeeded).
func code<T>(_ body: () async throws -> T) async -> RPCError.Code? {
  do {
    _ = try await body()
    return nil
  } catch let error as RPCError {
    return error.code
  } catch {
    return .unknown
  }
}
