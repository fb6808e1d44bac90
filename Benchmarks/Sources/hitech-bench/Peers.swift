import Aggregator
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import HiTechSchema
import Logging
import ZeroMQ
import ZeroMQTransport

/// The transports compared: ours with and without CURVE, and grpc-swift-nio-transport's HTTP/2
/// (plaintext), the one a user of grpc-swift would pick instead.
enum TransportKind: String, CaseIterable, Sendable {
  case zeroMQ = "ZeroMQ"
  case zeroMQCurve = "ZeroMQ+CURVE"
  case http2 = "HTTP/2"
}

/// The calls a benchmark makes, whatever the transport underneath: one client (one connection)
/// per identity.
struct Clients: Sendable {
  let ping: @Sendable (_ identity: String) async throws -> Void
  let count: @Sendable (_ identity: String, _ messages: UInt32) async throws -> Int
  let submit: @Sendable (_ identity: String, _ submission: Ndrc_Hitech_V1_Submission) async throws -> Void
}

/// The metadata key that names the caller over HTTP/2, where no CURVE key does: the benchmark's
/// interceptor turns it into the same `ZeroMQPeer` identity the ZeroMQ server derives from the key.
let identityKey = "x-bench-identity"

/// The ZeroMQ server configuration of the benchmarks: the defaults, but for the per-client rate
/// of new streams (500 a second), which a benchmark's few clients exceed by design.
let benchServerConfiguration = ZeroMQTransport.Server.Configuration(openRate: 10_000_000, openBurst: 10_000_000)

/// Serves `services` on `kind` over loopback for the duration of `body`, which gets clients for
/// `identities` (each its own connection; with CURVE, its own registered key).
func withPeers<Result: Sendable>(
  _ kind: TransportKind,
  services: [any RegistrableRPCService],
  identities: [String],
  _ body: @Sendable (Clients) async throws -> Result
) async throws -> Result {
  switch kind {
  case .zeroMQ, .zeroMQCurve:
    let serverKeys = try CurveKeyPair.generate()
    var keys: [String: CurveKeyPair] = [:]
    for identity in identities { keys[identity] = try CurveKeyPair.generate() }
    let security: ZeroMQTransport.Security =
      kind == .zeroMQCurve
      ? .curveServer(keyPair: serverKeys, policy: CurveAllowList(Dictionary(uniqueKeysWithValues: keys.map { ($0.value.publicKey, $0.key) })))
      : .plaintext
    let transport = ZeroMQTransport.Server(endpoint: "tcp://127.0.0.1:*", security: security, configuration: benchServerConfiguration)
    let server = GRPCServer(transport: transport, services: services)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let endpoint = try await transport.listeningEndpoint()
      var clients: [String: GRPCClient<ZeroMQTransport.Client>] = [:]
      for identity in identities {
        let clientSecurity: ZeroMQTransport.Security =
          kind == .zeroMQCurve ? .curveClient(keyPair: keys[identity]!, serverPublicKey: serverKeys.publicKey) : .plaintext
        clients[identity] = GRPCClient(transport: ZeroMQTransport.Client(endpoint: endpoint, security: clientSecurity))
      }
      return try await run(clients: clients, identified: false, group: &group, server: { server.beginGracefulShutdown() }, body)
    }
  case .http2:
    let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
    let server = GRPCServer(transport: transport, services: services, interceptors: [IdentityFromMetadata()])
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      guard let address = try await transport.listeningAddress.ipv4 else { throw BenchFailure("HTTP/2 server has no IPv4 address") }
      var clients: [String: GRPCClient<HTTP2ClientTransport.Posix>] = [:]
      for identity in identities {
        clients[identity] = GRPCClient(transport: try HTTP2ClientTransport.Posix(
          target: .ipv4(address: address.host, port: address.port), transportSecurity: .plaintext))
      }
      return try await run(clients: clients, identified: true, group: &group, server: { server.beginGracefulShutdown() }, body)
    }
  }
}

private func run<T: ClientTransport, Result: Sendable>(
  clients: [String: GRPCClient<T>],
  identified: Bool,
  group: inout ThrowingTaskGroup<Void, any Error>,
  server: () -> Void,
  _ body: @Sendable (Clients) async throws -> Result
) async throws -> Result {
  for client in clients.values { group.addTask { try await client.runConnections() } }
  let diagnostics = clients.mapValues { Ndrc_Hitech_V1_Diagnostics.Client(wrapping: $0) }
  let ingest = clients.mapValues { Ndrc_Hitech_V1_ReportIngest.Client(wrapping: $0) }
  var options = CallOptions.defaults
  options.timeout = .seconds(30)
  let callOptions = options
  @Sendable func metadata(_ identity: String) -> Metadata { identified ? [identityKey: .string(identity)] : [:] }
  let set = Clients(
    ping: { identity in
      var request = Ndrc_Hitech_V1_PingRequest()
      request.payload = Data("ping".utf8)
      _ = try await diagnostics[identity]!.ping(request, metadata: metadata(identity), options: callOptions)
    },
    count: { identity, messages in
      var request = Ndrc_Hitech_V1_CountRequest()
      request.count = messages
      return try await diagnostics[identity]!.count(request, metadata: metadata(identity), options: callOptions) { response in
        var received = 0
        for try await _ in response.messages { received += 1 }
        return received
      }
    },
    submit: { identity, submission in
      let receipt = try await ingest[identity]!.submit(submission, metadata: metadata(identity), options: callOptions)
      switch receipt.status {
      case .accepted, .acceptedWithWarnings, .acceptedLate, .duplicate: break
      default: throw BenchFailure("Submit answered \(receipt.status): \(receipt.findings)")
      }
    }
  )
  do {
    let result = try await body(set)
    for client in clients.values { client.beginGracefulShutdown() }
    server()
    try await group.waitForAll()
    return result
  } catch {
    for client in clients.values { client.beginGracefulShutdown() }
    server()
    try? await group.waitForAll()
    throw error
  }
}

/// Over HTTP/2 the caller names itself in metadata; this gives the handler the same
/// transport-specific identity the ZeroMQ server gives it from the CURVE key.
struct IdentityFromMetadata: ServerInterceptor {
  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    var context = context
    if let identity = request.metadata[stringValues: identityKey].first(where: { _ in true }) {
      context.transportSpecific = ZeroMQPeer(userID: identity, address: "127.0.0.1", routingID: [])
    }
    return try await next(request, context)
  }
}
