public import GRPCCore
import Logging
import Synchronization
import ZeroMQ

@available(gRPCSwift 2.0, *)
extension ZeroMQTransport {
  /// A grpc-swift-2 client transport over one ZeroMQ DEALER socket connected to one server
  /// endpoint.
  ///
  /// Run ``connect()`` (normally through `GRPCClient.runConnections()`) for as long as the
  /// client is needed; RPCs started before it wait for it. The socket reconnects by itself:
  /// when the server is unreachable, RPCs fail fast with `unavailable` (or wait, with
  /// `waitForReady`), RPCs in flight on a lost connection fail with `unavailable`, and new
  /// RPCs succeed as soon as the server is back. A refused CURVE key gives `unauthenticated`;
  /// the socket keeps trying the handshake, and new RPCs succeed once the server admits the key.
  ///
  /// One endpoint per client: a DEALER spreads messages over all its connections, which would
  /// split a stream between servers. For several servers, make one client per endpoint.
  public final class Client: ClientTransport {
    public typealias Bytes = [UInt8]

    /// Tunables of the client socket.
    public struct Configuration: Sendable {
      /// Largest request message this client sends; larger ones fail with `resourceExhausted`.
      public var maxRequestMessageBytes: Int
      /// Largest response message this client accepts; larger ones fail the RPC with
      /// `resourceExhausted`.
      public var maxResponseMessageBytes: Int
      /// Silence after which the connection is probed (ZMTP PING).
      public var heartbeatInterval: Duration
      /// No answer to a probe for this long drops the connection.
      public var heartbeatTimeout: Duration
      /// First delay before reconnecting; it doubles up to ``reconnectIntervalMax``.
      public var reconnectInterval: Duration
      public var reconnectIntervalMax: Duration
      /// Method configuration (timeouts, retries, wait-for-ready) as for any gRPC client.
      public var serviceConfig: ServiceConfig
      public var logger: Logger

      public init(
        maxRequestMessageBytes: Int = 4 * 1024 * 1024,
        maxResponseMessageBytes: Int = 4 * 1024 * 1024,
        heartbeatInterval: Duration = .seconds(1),
        heartbeatTimeout: Duration = .seconds(3),
        reconnectInterval: Duration = .milliseconds(100),
        reconnectIntervalMax: Duration = .seconds(2),
        serviceConfig: ServiceConfig = ServiceConfig(),
        logger: Logger = Logger(label: "zeromq.transport.client", factory: { _ in SwiftLogNoOpLogHandler() })
      ) {
        self.maxRequestMessageBytes = maxRequestMessageBytes
        self.maxResponseMessageBytes = maxResponseMessageBytes
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.reconnectInterval = reconnectInterval
        self.reconnectIntervalMax = reconnectIntervalMax
        self.serviceConfig = serviceConfig
        self.logger = logger
      }
    }

    private enum Phase {
      case idle(waiters: [AsyncStream<Void>.Continuation])
      case running(ClientConnection)
      case closing(ClientConnection)
      case closed
    }

    private struct State {
      var phase: Phase = .idle(waiters: [])
      var nextStreamID: UInt64 = 1
      var openStreams = 0
      var endOfConnection: AsyncStream<Void>.Continuation?
    }

    public let retryThrottle: RetryThrottle?
    /// The server endpoint, e.g. `tcp://127.0.0.1:7400`.
    public let endpoint: String
    private let configuration: Configuration
    private let security: Security
    private let state = Mutex(State())

    public init(endpoint: String, security: Security = .plaintext, configuration: Configuration = Configuration()) {
      self.endpoint = endpoint
      self.security = security
      self.configuration = configuration
      self.retryThrottle = configuration.serviceConfig.retryThrottling.map { RetryThrottle(policy: $0) }
    }

    /// Connects and runs until graceful shutdown has drained every stream. A transport whose
    /// graceful shutdown began before it connected (its `GRPCClient` was shut down at once)
    /// returns at once, without an error: there is nothing to run.
    public func connect() async throws {
      if case .closed = state.withLock({ $0.phase }) { return }
      let connection = try await ClientConnection.start(
        endpoint: endpoint, security: security, configuration: configuration
      )
      let (ended, endContinuation) = AsyncStream<Void>.makeStream()
      let waiters: [AsyncStream<Void>.Continuation]? = try state.withLock { state in
        switch state.phase {
        case .idle(let waiters):
          state.phase = .running(connection)
          state.endOfConnection = endContinuation
          return waiters
        case .running, .closing:
          throw RPCError(code: .failedPrecondition, message: "The ZeroMQ client transport is already connected.")
        case .closed:
          return nil
        }
      }
      guard let waiters else {
        await connection.stop()
        return
      }
      for waiter in waiters { waiter.finish() }

      // Returns when graceful shutdown has drained every stream, or when this task is cancelled.
      for await _ in ended {}

      state.withLock { $0.phase = .closed }
      await connection.stop()
    }

    public func beginGracefulShutdown() {
      let (waiters, end): ([AsyncStream<Void>.Continuation], AsyncStream<Void>.Continuation?) = state.withLock { state in
        switch state.phase {
        case .idle(let waiters):
          state.phase = .closed
          return (waiters, nil)
        case .running(let connection):
          state.phase = .closing(connection)
          return ([], state.openStreams == 0 ? state.endOfConnection : nil)
        case .closing, .closed:
          return ([], nil)
        }
      }
      for waiter in waiters { waiter.finish() }
      end?.finish()
    }

    public func config(forMethod descriptor: MethodDescriptor) -> MethodConfig? {
      configuration.serviceConfig.config(for: descriptor)
    }

    public func withStream<T: Sendable>(
      descriptor: MethodDescriptor,
      options: CallOptions,
      _ closure: (RPCStream<Inbound, Outbound>, ClientContext) async throws -> T
    ) async throws -> T {
      let connection = try await runningConnection()
      let streamID: UInt64 = try state.withLock { state in
        guard case .running = state.phase else {
          throw RPCError(code: .unavailable, message: "The ZeroMQ client transport is shutting down.")
        }
        defer { state.nextStreamID += 1 }
        state.openStreams += 1
        return state.nextStreamID
      }
      defer { streamEnded() }

      let (responses, continuation) = AsyncThrowingStream<RPCResponsePart<Bytes>, any Error>.makeStream()
      let stream = ClientStream(id: streamID, inbound: continuation)
      // The stream's OPEN follows and wakes the socket thread for both.
      connection.commands.enqueue(.register(stream, waitForReady: options.waitForReady ?? false), wake: false)

      let inbound = CreditingInbound(
        base: responses,
        isMessage: { if case .message = $0 { true } else { false } },
        grantThreshold: ZeroMQTransport.initialWindow / 2,
        grant: { [commands = connection.commands] count in
          commands.enqueue(.send(streamID, .credit(UInt32(count))))
        }
      )
      let outbound = ClientOutboundWriter(
        stream: stream,
        path: "/" + descriptor.fullyQualifiedMethod,
        commands: connection.commands,
        maxMessageBytes: options.maxRequestMessageBytes ?? configuration.maxRequestMessageBytes
      )
      let rpcStream = RPCStream(
        descriptor: descriptor,
        inbound: RPCAsyncSequence(wrapping: inbound),
        outbound: RPCWriter.Closable(wrapping: outbound)
      )
      let context = ClientContext(descriptor: descriptor, remotePeer: "zmq:\(endpoint)", localPeer: "zmq:dealer")
      // Runs before `streamEnded()` (defers run in reverse order).
      // Once the stream has ended, releasing it only frees its record: that can wait.
      defer { connection.commands.enqueue(.release(streamID), wake: !stream.ended.load(ordering: .relaxed)) }
      return try await closure(rpcStream, context)
    }

    /// The running connection, waiting for ``connect()`` if it has not started yet.
    private func runningConnection() async throws -> ClientConnection {
      while true {
        let outcome: Result<ClientConnection, RPCError>? = state.withLock { state in
          switch state.phase {
          case .running(let connection):
            return .success(connection)
          case .closing, .closed:
            return .failure(RPCError(code: .unavailable, message: "The ZeroMQ client transport is shut down."))
          case .idle:
            return nil
          }
        }
        if let outcome { return try outcome.get() }
        let (wait, continuation) = AsyncStream<Void>.makeStream()
        let registered = state.withLock { state -> Bool in
          guard case .idle(var waiters) = state.phase else { return false }
          waiters.append(continuation)
          state.phase = .idle(waiters: waiters)
          return true
        }
        if registered {
          for await _ in wait {}
          try Task.checkCancellation()
        }
      }
    }

    private func streamEnded() {
      let end = state.withLock { state -> AsyncStream<Void>.Continuation? in
        state.openStreams -= 1
        if case .closing = state.phase, state.openStreams == 0 { return state.endOfConnection }
        return nil
      }
      end?.finish()
    }
  }
}

/// What the socket thread and the RPC's task share about one client stream.
@available(gRPCSwift 2.0, *)
final class ClientStream: Sendable {
  let id: UInt64
  let inbound: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation
  let credit = CreditGate(initialCredit: ZeroMQTransport.initialWindow)
  /// The stream is over on the socket thread (its status arrived, or it failed).
  let ended = Atomic<Bool>(false)

  init(id: UInt64, inbound: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation) {
    self.id = id
    self.inbound = inbound
  }

  /// Ends the stream with an error for both the reader and any writer.
  func fail(_ error: RPCError) {
    ended.store(true, ordering: .relaxed)
    inbound.finish(throwing: error)
    credit.close(error)
  }
}

/// The request side of a client stream: turns request parts into wire messages.
@available(gRPCSwift 2.0, *)
struct ClientOutboundWriter: ClosableRPCWriterProtocol {
  typealias Element = RPCRequestPart<[UInt8]>

  let stream: ClientStream
  let path: String
  let commands: CommandQueue<ClientConnection.Command>
  let maxMessageBytes: Int

  func write(_ element: Element) async throws {
    switch element {
    case .metadata(let metadata):
      try stream.credit.checkOpen()
      commands.enqueue(.send(stream.id, .open(method: path, metadata: metadata)))
    case .message(let bytes):
      guard bytes.count <= maxMessageBytes else {
        let error = RPCError(
          code: .resourceExhausted,
          message: "The request message has \(bytes.count) bytes; this client sends at most \(maxMessageBytes)."
        )
        commands.enqueue(.cancel(stream.id, error))
        throw error
      }
      try await stream.credit.acquire()
      commands.enqueue(.send(stream.id, .message(bytes)))
    }
  }

  func write(contentsOf elements: some Sequence<Element>) async throws {
    for element in elements { try await write(element) }
  }

  func finish() async {
    commands.enqueue(.send(stream.id, .halfClose))
  }

  func finish(throwing error: any Error) async {
    let reason = (error as? RPCError) ?? RPCError(code: .cancelled, message: "The RPC was cancelled by the client.")
    commands.enqueue(.cancel(stream.id, reason))
  }
}

@available(gRPCSwift 2.0, *)
extension ServiceConfig {
  /// The most specific method configuration for `descriptor`: the method's own, else its
  /// service's, else the default (an entry with an empty service name).
  func config(for descriptor: MethodDescriptor) -> MethodConfig? {
    let service = descriptor.service.fullyQualifiedService
    func match(_ service: String, _ method: String) -> MethodConfig? {
      methodConfig.first { config in
        config.names.contains { $0.service == service && $0.method == method }
      }
    }
    return match(service, descriptor.method) ?? match(service, "") ?? match("", "")
  }
}
