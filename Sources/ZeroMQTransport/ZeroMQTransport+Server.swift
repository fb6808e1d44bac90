public import GRPCCore
import Logging
import Synchronization
import ZeroMQ

@available(gRPCSwift 2.0, *)
extension ZeroMQTransport {
  /// A grpc-swift-2 server transport over one ZeroMQ ROUTER socket.
  ///
  /// With ``ZeroMQTransport/Security/curveServer(keyPair:policy:zapDomain:)`` every client is
  /// authenticated by a ZAP handler before its first frame arrives, and handlers read the
  /// authenticated identity from `context.zeroMQPeer`.
  ///
  /// Graceful shutdown (``beginGracefulShutdown()``, called by `GRPCServer`): new RPCs are
  /// refused with `unavailable`, RPCs in flight are told through their cancellation handle and
  /// run to completion, their responses are delivered, then ``listen(streamHandler:)`` returns.
  public final class Server: ServerTransport {
    public typealias Bytes = [UInt8]

    /// Tunables of the server socket.
    public struct Configuration: Sendable {
      /// Largest request message accepted; a larger one ends its RPC with `resourceExhausted`.
      public var maxRequestMessageBytes: Int
      /// Largest response message a handler may send; a larger one fails with `resourceExhausted`.
      public var maxResponseMessageBytes: Int
      /// Silence after which a client connection is probed; no answer within the timeout drops it.
      public var heartbeatInterval: Duration
      public var heartbeatTimeout: Duration
      /// How long queued responses may take to leave when the socket closes at shutdown.
      public var shutdownLinger: Duration
      /// How long the socket stays open after the last RPC has ended at shutdown, so that
      /// clients read the last replies before they see the connection close.
      public var shutdownQuietPeriod: Duration
      public var logger: Logger

      public init(
        maxRequestMessageBytes: Int = 4 * 1024 * 1024,
        maxResponseMessageBytes: Int = 4 * 1024 * 1024,
        heartbeatInterval: Duration = .seconds(1),
        heartbeatTimeout: Duration = .seconds(3),
        shutdownLinger: Duration = .seconds(1),
        shutdownQuietPeriod: Duration = .milliseconds(250),
        logger: Logger = Logger(label: "zeromq.transport.server", factory: { _ in SwiftLogNoOpLogHandler() })
      ) {
        self.maxRequestMessageBytes = maxRequestMessageBytes
        self.maxResponseMessageBytes = maxResponseMessageBytes
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.shutdownLinger = shutdownLinger
        self.shutdownQuietPeriod = shutdownQuietPeriod
        self.logger = logger
      }
    }

    private enum Phase {
      case idle
      case listening(ServerConnection, endpoint: String)
      case stopped
    }

    private struct State {
      var phase = Phase.idle
      var shutdownRequested = false
      var endpointWaiters: [CheckedContinuation<String, any Error>] = []
    }

    /// The endpoint given at init, e.g. `tcp://127.0.0.1:7400` or `tcp://127.0.0.1:*`.
    public let endpoint: String
    private let security: Security
    private let configuration: Configuration
    private let state = Mutex(State())

    public init(endpoint: String, security: Security = .plaintext, configuration: Configuration = Configuration()) {
      self.endpoint = endpoint
      self.security = security
      self.configuration = configuration
    }

    /// The endpoint the socket is bound to, with a wildcard port resolved; waits for
    /// ``listen(streamHandler:)`` to bind. Throws if the server stops without listening.
    public func listeningEndpoint() async throws -> String {
      try await withCheckedThrowingContinuation { continuation in
        let ready: Result<String, any Error>? = state.withLock { state in
          switch state.phase {
          case .listening(_, let endpoint):
            return .success(endpoint)
          case .stopped:
            return .failure(RPCError(code: .unavailable, message: "The server transport is not listening."))
          case .idle:
            state.endpointWaiters.append(continuation)
            return nil
          }
        }
        if let ready { continuation.resume(with: ready) }
      }
    }

    public func listen(
      streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async throws {
      let (starts, startsContinuation) = AsyncStream<ServerStreamStart>.makeStream()
      let connection: ServerConnection
      do {
        connection = try await ServerConnection.start(
          endpoint: endpoint, security: security, configuration: configuration, newStreams: startsContinuation
        )
      } catch {
        let waiters = state.withLock { state in
          state.phase = .stopped
          defer { state.endpointWaiters = [] }
          return state.endpointWaiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
        throw error
      }
      let (waiters, shutdownRequested) = state.withLock { state in
        state.phase = .listening(connection, endpoint: connection.boundEndpoint)
        defer { state.endpointWaiters = [] }
        return (state.endpointWaiters, state.shutdownRequested)
      }
      for waiter in waiters { waiter.resume(returning: connection.boundEndpoint) }
      if shutdownRequested { connection.commands.enqueue(.beginShutdown) }

      let localPeer = "zmq:\(connection.boundEndpoint)"
      await withDiscardingTaskGroup { group in
        for await start in starts {
          group.addTask {
            await withServerContextRPCCancellationHandle { handle in
              start.stream.attach(handle)
              var context = ServerContext(
                descriptor: start.descriptor,
                remotePeer: "zmq:\(start.peer.address)",
                localPeer: localPeer,
                cancellation: handle
              )
              context.transportSpecific = start.peer
              // A cancelled RPC (deadline passed, client gone, shutdown) never waits for credit
              // from a client that may never send it.
              let credit = start.stream.credit
              await withRPCCancellationHandler {
                await streamHandler(start.rpcStream, context)
              } onCancelRPC: {
                credit.cancelWaits(RPCError(code: .cancelled, message: "The RPC was cancelled."))
              }
            }
          }
        }
      }
      // Every handler has returned and written its status: deliver what is queued, then close.
      await connection.stop()
      state.withLock { $0.phase = .stopped }
    }

    public func beginGracefulShutdown() {
      let connection: ServerConnection? = state.withLock { state in
        state.shutdownRequested = true
        if case .listening(let connection, _) = state.phase { return connection }
        return nil
      }
      connection?.commands.enqueue(.beginShutdown)
    }
  }
}

/// What ``ZeroMQTransport/Server/listen(streamHandler:)`` needs to run a new RPC.
@available(gRPCSwift 2.0, *)
struct ServerStreamStart: Sendable {
  let descriptor: MethodDescriptor
  let peer: ZeroMQPeer
  let stream: ServerStream
  let rpcStream: RPCStream<ZeroMQTransport.Server.Inbound, ZeroMQTransport.Server.Outbound>
}

/// A server stream's key: the connection's routing id and the client's stream id.
struct StreamKey: Hashable, Sendable {
  let routingID: [UInt8]
  let streamID: UInt64
}

/// What the socket thread and the handler's task share about one server stream.
@available(gRPCSwift 2.0, *)
final class ServerStream: Sendable {
  let key: StreamKey
  let inbound: AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>.Continuation
  let credit = CreditGate(initialCredit: ZeroMQTransport.initialWindow)
  private let cancellation = Mutex<(handle: ServerContext.RPCCancellationHandle?, cancelled: Bool)>((nil, false))

  init(key: StreamKey, inbound: AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>.Continuation) {
    self.key = key
    self.inbound = inbound
  }

  /// Connects the handler's cancellation handle; cancels it at once if the RPC was already
  /// cancelled before the handler started.
  func attach(_ handle: ServerContext.RPCCancellationHandle) {
    let cancelled = cancellation.withLock { state in
      state.handle = handle
      return state.cancelled
    }
    if cancelled { handle.cancel() }
  }

  /// Tells the handler its RPC is cancelled (client cancel, lost peer, server shutdown).
  func cancel() {
    let handle = cancellation.withLock { state in
      state.cancelled = true
      return state.handle
    }
    handle?.cancel()
  }
}

/// The response side of a server stream: turns response parts into wire messages.
@available(gRPCSwift 2.0, *)
struct ServerOutboundWriter: ClosableRPCWriterProtocol {
  typealias Element = RPCResponsePart<[UInt8]>

  let stream: ServerStream
  let commands: CommandQueue<ServerConnection.Command>
  let maxMessageBytes: Int

  func write(_ element: Element) async throws {
    switch element {
    case .metadata(let metadata):
      commands.enqueue(.send(stream.key, .headers(metadata)))
    case .message(let bytes):
      guard bytes.count <= maxMessageBytes else {
        throw RPCError(
          code: .resourceExhausted,
          message: "The response message has \(bytes.count) bytes; this server sends at most \(maxMessageBytes)."
        )
      }
      try await stream.credit.acquire()
      commands.enqueue(.send(stream.key, .message(bytes)))
    case .status(let status, let metadata):
      commands.enqueue(.send(stream.key, .status(status, metadata)))
    }
  }

  func write(contentsOf elements: some Sequence<Element>) async throws {
    for element in elements { try await write(element) }
  }

  func finish() async {
    commands.enqueue(.finished(stream.key))
  }

  func finish(throwing error: any Error) async {
    let rpcError = (error as? RPCError) ?? RPCError(code: .unknown, message: "The handler failed: \(error)")
    commands.enqueue(.send(stream.key, .status(Status(code: Status.Code(rpcError.code), message: rpcError.message), rpcError.metadata)))
    commands.enqueue(.finished(stream.key))
  }
}
