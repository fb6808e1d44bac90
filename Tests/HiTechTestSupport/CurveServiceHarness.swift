public import Aggregator
public import AggregatorStore
public import Foundation
public import GRPCCore
import Logging
public import ZeroMQ
public import ZeroMQTransport

/// Aggregator services over a real CURVE ZeroMQ server on a real SQLite store, in the test
/// process: the store is seeded with the 47 reporters and the sample registry
/// (`deploy/sample/registry.json`), and each identity (a reporter code, `coordinator:NAME`,
/// `operator:NAME`) gets a key pair the server admits as that identity.
public final class CurveServiceHarness: Sendable {
  public let directory: URL
  public let database: AggregatorDatabase
  public let serverKeys: CurveKeyPair
  /// Identity → key pair.
  public let keys: [String: CurveKeyPair]

  /// - Parameter name: the temporary folder's prefix.
  public init(identities: [String], name: String) async throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    database = try AggregatorDatabase(
      path: directory.appendingPathComponent("store.sqlite").path,
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    try await Registry.seedReporters(database, actor: "test")
    let registry = AggregatorProcess.repositoryRoot.appendingPathComponent("deploy/sample/registry.json").path
    for base in try RegistryFile.readBases(path: registry) { try await database.upsertBase(base, actor: "test") }
    serverKeys = try CurveKeyPair.generate()
    var keys: [String: CurveKeyPair] = [:]
    for identity in identities { keys[identity] = try CurveKeyPair.generate() }
    self.keys = keys
  }

  deinit {
    try? FileManager.default.removeItem(at: directory)
  }

  /// Runs a server with `services` (made for this run, with a quiet logger) for the duration
  /// of `body`, which gets a connected client per identity.
  public func run<Result: Sendable>(
    services: (_ database: AggregatorDatabase, _ logger: Logger) -> [any RegistrableRPCService],
    _ body: @Sendable (_ client: @escaping @Sendable (String) -> GRPCClient<ZeroMQTransport.Client>) async throws -> Result
  ) async throws -> Result {
    let allow = CurveAllowList(Dictionary(uniqueKeysWithValues: keys.map { ($0.value.publicKey, $0.key) }))
    let transport = ZeroMQTransport.Server(
      endpoint: "tcp://127.0.0.1:*", security: .curveServer(keyPair: serverKeys, policy: allow)
    )
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let server = GRPCServer(transport: transport, services: services(database, logger))
    let keys = self.keys
    let serverKeys = self.serverKeys
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let endpoint = try await transport.listeningEndpoint()
      let clients = keys.mapValues { keys in
        GRPCClient(transport: ZeroMQTransport.Client(
          endpoint: endpoint, security: .curveClient(keyPair: keys, serverPublicKey: serverKeys.publicKey)))
      }
      for client in clients.values { group.addTask { try await client.runConnections() } }
      func stop() async throws {
        for client in clients.values { client.beginGracefulShutdown() }
        server.beginGracefulShutdown()
        try await group.waitForAll()
      }
      do {
        let result = try await body { identity in clients[identity]! }
        try await stop()
        return result
      } catch {
        try? await stop()
        throw error
      }
    }
  }
}
