import Foundation
import GRPCCore
import Logging
import ServiceLifecycle
import ZeroMQ
import ZeroMQTransport

/// Runs the echo service on a real ZeroMQ server transport for the duration of `body`.
func withEchoServer<Result: Sendable>(
  endpoint: String = "tcp://127.0.0.1:*",
  service: EchoService = EchoService(),
  security: ZeroMQTransport.Security = .plaintext,
  configuration: ZeroMQTransport.Server.Configuration = .init(logger: testLogger("server")),
  _ body: @Sendable (String) async throws -> Result
) async throws -> Result {
  let transport = ZeroMQTransport.Server(endpoint: endpoint, security: security, configuration: configuration)
  let server = GRPCServer(transport: transport, services: [service])
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await server.serve() }
    let bound = try await transport.listeningEndpoint()
    do {
      let result = try await body(bound)
      server.beginGracefulShutdown()
      try await group.waitForAll()
      return result
    } catch {
      server.beginGracefulShutdown()
      try? await group.waitForAll()
      throw error
    }
  }
}

/// Runs a real ZeroMQ client transport for the duration of `body`.
func withEchoClient<Result: Sendable>(
  endpoint: String,
  security: ZeroMQTransport.Security = .plaintext,
  configuration: ZeroMQTransport.Client.Configuration = .init(logger: testLogger("client")),
  _ body: @Sendable (GRPCClient<ZeroMQTransport.Client>) async throws -> Result
) async throws -> Result {
  let transport = ZeroMQTransport.Client(endpoint: endpoint, security: security, configuration: configuration)
  return try await withGRPCClient(transport: transport) { client in
    try await body(client)
  }
}

extension GRPCClient {
  /// Calls `test.Echo/Get` and returns the reply as text.
  func get(_ text: String, timeout: Duration? = .seconds(10), waitForReady: Bool? = nil) async throws -> String {
    var options = CallOptions.defaults
    options.timeout = timeout
    options.waitForReady = waitForReady
    return try await unary(
      request: ClientRequest(message: Array(text.utf8)),
      descriptor: EchoService.get,
      serializer: BytesCodec(),
      deserializer: BytesCodec(),
      options: options
    ) { response in
      String(decoding: try response.message, as: UTF8.self)
    }
  }

  /// Calls `test.Echo/Get` with raw bytes.
  func get(bytes: [UInt8]) async throws -> [UInt8] {
    var options = CallOptions.defaults
    options.timeout = .seconds(10)
    return try await unary(
      request: ClientRequest(message: bytes),
      descriptor: EchoService.get,
      serializer: BytesCodec(),
      deserializer: BytesCodec(),
      options: options
    ) { try $0.message }
  }
}

/// The gRPC status code of an error thrown by a call, if it is an `RPCError`.
func rpcCode(of body: () async throws -> Void) async -> RPCError.Code? {
  do {
    try await body()
    return nil
  } catch let error as RPCError {
    return error.code
  } catch {
    return .unknown
  }
}

/// A TCP endpoint on loopback with a port that nothing listens on (found by binding and
/// releasing a wildcard port).
func unusedLoopbackEndpoint() throws -> String {
  let context = try ZMQContext()
  let socket = try ZMQSocket(context: context, type: .router)
  try socket.set(.linger(.zero))
  try socket.bind("tcp://127.0.0.1:*")
  let endpoint = socket.lastEndpoint!
  socket.close()
  return endpoint
}

/// A logger that writes to standard error when `ZMQ_TEST_LOG` is set, and is silent otherwise.
func testLogger(_ label: String) -> Logger {
  guard ProcessInfo.processInfo.environment["ZMQ_TEST_LOG"] != nil else {
    return Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
  }
  var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0, metadataProvider: nil) })
  logger.logLevel = Logger.Level.debug
  return logger
}
