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
  /// may run to completion within ``Configuration/shutdownGracePeriod``; RPCs still running
  /// then are cancelled (their requests end with `unavailable`, their tasks are cancelled).
  /// Their responses are delivered, then ``listen(streamHandler:)`` returns.
  ///
  /// Nothing a client sends can make the server hold unbounded state: streams per connection
  /// and in total, buffered request bytes, idle streams and the rate of new calls per
  /// connection are limited (see ``Configuration``), and a connection that is gone frees all
  /// its streams.
  public final class Server: ServerTransport {
    public typealias Bytes = [UInt8]

    /// Tunables of the server socket, and the limits that keep a misbehaving client from
    /// exhausting the server. `proto-schemas/WIRE.md` §5 lists what a client gets at each limit.
    public struct Configuration: Sendable {
      /// Largest request message accepted; a larger one ends its RPC with `resourceExhausted`.
      public var maxRequestMessageBytes: Int
      /// Largest response message a handler may send; a larger one fails with `resourceExhausted`.
      public var maxResponseMessageBytes: Int
      /// Largest request metadata (the sum of its keys' and values' sizes) an OPEN may carry;
      /// a larger one is refused with `resourceExhausted`.
      public var maxRequestMetadataBytes: Int
      /// Silence after which a client connection is probed; no answer within the timeout drops it.
      public var heartbeatInterval: Duration
      public var heartbeatTimeout: Duration
      /// How long queued responses may take to leave when the socket closes at shutdown.
      public var shutdownLinger: Duration
      /// How long the socket stays open after the last RPC has ended at shutdown, so that
      /// clients read the last replies before they see the connection close.
      public var shutdownQuietPeriod: Duration
      /// How long RPCs in flight may run on after graceful shutdown begins; then they are
      /// cancelled, so that shutdown always ends.
      public var shutdownGracePeriod: Duration
      /// Streams one client may have open; an OPEN beyond it gets `resourceExhausted`. A client
      /// is a CURVE key (all the connections that authenticated with it together, so that
      /// neither reconnecting nor opening more connections gives it more), or on a plaintext
      /// socket one connection.
      public var maxStreamsPerConnection: Int
      /// Streams open on the server in total; an OPEN beyond it gets `resourceExhausted`.
      public var maxStreams: Int
      /// Request bytes received but not yet read by handlers, over all streams (each message
      /// counts 64 bytes more than its size); a message beyond it ends its RPC with
      /// `resourceExhausted`.
      public var maxBufferedRequestBytes: Int
      /// How long a handler may wait for a client's next request message (or its half-close)
      /// before the RPC is cancelled and freed. A stream whose client has half-closed is never idle.
      public var streamIdleTimeout: Duration
      /// New RPCs per second one client (as for ``maxStreamsPerConnection``: a CURVE key over
      /// all its connections) may open on average (a token bucket), and how many at once; an
      /// OPEN beyond it gets `resourceExhausted`. Error replies to a client are limited at the
      /// same rate; beyond that they are dropped.
      public var openRate: Double
      public var openBurst: Int
      /// How often a connection with open streams is probed (a `CREDIT 0` on one of them whose
      /// response has begun, or whose handler has waited this long for the client); a
      /// connection libzmq no longer knows is gone and its streams are cancelled and freed.
      public var livenessProbeInterval: Duration
      /// Client connections (`tcp://`, `ipc://`) the server holds at once; a connection accepted
      /// beyond it is shut down at once (its client sees the connection end and retries later).
      /// `nil`: derived when the server starts from the process's descriptor limit, so that its
      /// peers can never take the descriptors the process needs for itself: the soft
      /// `RLIMIT_NOFILE`, less the descriptors open then, less ``descriptorReserve``; at least 1.
      public var maxConnections: Int?
      /// Descriptors the derived ``maxConnections`` leaves free for the process's own files
      /// and sockets opened later, and for connections being refused.
      public var descriptorReserve: Int
      public var logger: Logger

      public init(
        maxRequestMessageBytes: Int = 4 * 1024 * 1024,
        maxResponseMessageBytes: Int = 4 * 1024 * 1024,
        maxRequestMetadataBytes: Int = 64 * 1024,
        heartbeatInterval: Duration = .seconds(1),
        heartbeatTimeout: Duration = .seconds(3),
        shutdownLinger: Duration = .seconds(1),
        shutdownQuietPeriod: Duration = .milliseconds(250),
        shutdownGracePeriod: Duration = .seconds(10),
        maxStreamsPerConnection: Int = 1024,
        maxStreams: Int = 8192,
        maxBufferedRequestBytes: Int = 128 * 1024 * 1024,
        streamIdleTimeout: Duration = .seconds(30),
        openRate: Double = 500,
        openBurst: Int = 1000,
        livenessProbeInterval: Duration = .seconds(5),
        maxConnections: Int? = nil,
        descriptorReserve: Int = 64,
        logger: Logger = Logger(label: "zeromq.transport.server", factory: { _ in SwiftLogNoOpLogHandler() })
      ) {
        self.maxRequestMessageBytes = maxRequestMessageBytes
        self.maxResponseMessageBytes = maxResponseMessageBytes
        self.maxRequestMetadataBytes = maxRequestMetadataBytes
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.shutdownLinger = shutdownLinger
        self.shutdownQuietPeriod = shutdownQuietPeriod
        self.shutdownGracePeriod = shutdownGracePeriod
        self.maxStreamsPerConnection = maxStreamsPerConnection
        self.maxStreams = maxStreams
        self.maxBufferedRequestBytes = maxBufferedRequestBytes
        self.streamIdleTimeout = streamIdleTimeout
        self.openRate = openRate
        self.openBurst = openBurst
        self.livenessProbeInterval = livenessProbeInterval
        self.maxConnections = maxConnections
        self.descriptorReserve = descriptorReserve
        self.logger = logger
      }
    }

    /// What the server holds now, for tests and monitoring.
    package struct Statistics: Sendable, Equatable {
      /// Streams the socket thread tracks (open, not yet ended by a STATUS).
      package var openStreams: Int
      /// Streams whose state still exists anywhere (a handler may still be running).
      package var liveStreams: Int
      /// Client connections the socket thread keeps state for.
      package var peers: Int
      /// Client connections open (accepted and not yet ended), as the socket monitor tells.
      package var connections: Int
      /// Connections shut down because the server held ``Configuration/maxConnections``.
      package var refusedConnections: Int
      /// Request bytes buffered for handlers (with the 64-byte per-message charge).
      package var bufferedRequestBytes: Int
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
    private let counters = ServerCounters()

    /// What the server holds now.
    package var statistics: Statistics { counters.snapshot }

    /// Streams whose state still exists (0 once every RPC has ended and been freed).
    package var activeStreamCount: Int { counters.snapshot.liveStreams }

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
          case .idle where state.shutdownRequested:
            return .failure(RPCError(code: .unavailable, message: "The server transport was shut down before it listened."))
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
          endpoint: endpoint, security: security, configuration: configuration, counters: counters,
          newStreams: startsContinuation
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
      let counters = self.counters
      let gracePeriod = configuration.shutdownGracePeriod
      let security = self.security
      await withDiscardingTaskGroup { group in
        for await start in starts {
          counters.handlers.add(1, ordering: .relaxed)
          group.addTask {
            defer { counters.handlers.subtract(1, ordering: .relaxed) }
            await withServerContextRPCCancellationHandle { handle in
              start.stream.attach(handle)
              var context = ServerContext(
                descriptor: start.descriptor,
                remotePeer: "zmq:\(start.peer.address)",
                localPeer: localPeer,
                cancellation: handle
              )
              context.transportSpecific = start.peer
              if let refusal = security.refusal(of: start.peer) {
                // Revoked since the handshake: no handler runs, nothing is done for the call.
                try? await start.rpcStream.outbound.write(.status(refusal, [:]))
                await start.rpcStream.outbound.finish()
                return
              }
              // A cancelled RPC (deadline passed, client gone, shutdown) never waits for credit
              // from a client that may never send it, nor (unless the server is only asking it
              // to wind down) for requests that may never come.
              let stream = start.stream
              await withRPCCancellationHandler {
                await streamHandler(start.rpcStream, context)
              } onCancelRPC: {
                stream.rpcCancelled()
              }
            }
          }
        }
        // No new RPCs (graceful shutdown began, or the socket thread ended): RPCs in flight
        // have the grace period, then they are cancelled so that shutdown always ends.
        let graceEnds = ContinuousClock.now.advanced(by: gracePeriod)
        while counters.handlers.load(ordering: .relaxed) > 0, ContinuousClock.now < graceEnds {
          try? await Task.sleep(for: .milliseconds(20))
        }
        if counters.handlers.load(ordering: .relaxed) > 0 {
          connection.commands.enqueue(.cancelAll)
          group.cancelAll()
        }
      }
      // Every handler has returned and written its status: deliver what is queued, then close.
      await connection.stop()
      state.withLock { $0.phase = .stopped }
    }

    /// Begins graceful shutdown. Before ``listen(streamHandler:)`` has bound, whoever waits in
    /// ``listeningEndpoint()`` learns at once that the server is not listening.
    public func beginGracefulShutdown() {
      let (connection, waiters): (ServerConnection?, [CheckedContinuation<String, any Error>]) = state.withLock { state in
        state.shutdownRequested = true
        switch state.phase {
        case .listening(let connection, _):
          return (connection, [])
        case .idle:
          defer { state.endpointWaiters = [] }
          return (nil, state.endpointWaiters)
        case .stopped:
          return (nil, [])
        }
      }
      connection?.commands.enqueue(.beginShutdown)
      for waiter in waiters {
        waiter.resume(throwing: RPCError(code: .unavailable, message: "The server transport was shut down before it listened."))
      }
    }
  }
}

@available(gRPCSwift 2.0, *)
extension ZeroMQTransport.Security {
  /// Why a call from `peer` is refused before its handler runs, or `nil` to run it: on a CURVE
  /// server, a connection whose key the policy no longer admits as the identity it was
  /// authenticated as (the key was revoked or re-registered after the handshake).
  func refusal(of peer: ZeroMQPeer) -> Status? {
    guard case .curveServer(_, let policy, _) = mode else { return nil }
    guard let key = peer.curvePublicKey, let userID = peer.userID else {
      return Status(code: .unauthenticated, message: "This connection carries no authenticated CURVE key.")
    }
    guard policy.stillAllows(publicKey: key, userID: userID) else {
      return Status(
        code: .unauthenticated,
        message: "The CURVE key of this connection is no longer registered as \(userID); reconnect with a registered key."
      )
    }
    return nil
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

/// Counters shared by the socket thread, the streams and the transport.
final class ServerCounters: Sendable {
  /// Request bytes yielded to handlers and not yet read, over all streams.
  let bufferedBytes = Atomic<Int>(0)
  /// `ServerStream` objects alive.
  let liveStreams = Atomic<Int>(0)
  /// Set by the socket thread once per loop iteration.
  let openStreams = Atomic<Int>(0)
  let peers = Atomic<Int>(0)
  let connections = Atomic<Int>(0)
  let refusedConnections = Atomic<Int>(0)
  /// Handler tasks running.
  let handlers = Atomic<Int>(0)

  @available(gRPCSwift 2.0, *)
  var snapshot: ZeroMQTransport.Server.Statistics {
    .init(
      openStreams: openStreams.load(ordering: .relaxed),
      liveStreams: liveStreams.load(ordering: .relaxed),
      peers: peers.load(ordering: .relaxed),
      connections: connections.load(ordering: .relaxed),
      refusedConnections: refusedConnections.load(ordering: .relaxed),
      bufferedRequestBytes: bufferedBytes.load(ordering: .relaxed)
    )
  }
}

/// What the socket thread and the handler's task share about one server stream.
@available(gRPCSwift 2.0, *)
final class ServerStream: Sendable {
  /// Why the transport cancelled the RPC.
  enum CancelReason: Sendable {
    /// Graceful shutdown began: the handler is asked to wind down, its requests still flow.
    case shutdown
    /// The stream is over for the transport (client cancel or gone, limit, shutdown's end):
    /// the socket thread has ended its requests itself.
    case ended
  }

  /// Bytes each buffered request message is charged beyond its size.
  static let messageOverhead = 64

  let key: StreamKey
  let inbound: AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>.Continuation
  let credit = CreditGate(initialCredit: ZeroMQTransport.initialWindow)
  /// When the client's `grpc-timeout` passes, if it sent one.
  let deadline: ContinuousClock.Instant?
  let counters: ServerCounters
  /// Request bytes yielded to the handler and not yet read.
  let bufferedBytes = Atomic<Int>(0)
  /// The handler is waiting for the client's next request part.
  let waitingForRequest = Atomic<Bool>(false)
  /// The client half-closed without sending a single message.
  let endedWithoutMessages = Atomic<Bool>(false)
  /// The handler's status is on its way to the socket thread.
  let statusWritten = Atomic<Bool>(false)
  private let cancellation = Mutex<(handle: ServerContext.RPCCancellationHandle?, reason: CancelReason?)>((nil, nil))

  init(
    key: StreamKey,
    inbound: AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>.Continuation,
    deadline: ContinuousClock.Instant?,
    counters: ServerCounters
  ) {
    self.key = key
    self.inbound = inbound
    self.deadline = deadline
    self.counters = counters
    counters.liveStreams.add(1, ordering: .relaxed)
  }

  deinit {
    let buffered = bufferedBytes.load(ordering: .relaxed)
    if buffered != 0 { counters.bufferedBytes.subtract(buffered, ordering: .relaxed) }
    counters.liveStreams.subtract(1, ordering: .relaxed)
  }

  /// Yields a request message to the handler (socket thread). False if the handler no longer
  /// reads requests.
  func yield(message bytes: [UInt8]) -> Bool {
    let charge = bytes.count + Self.messageOverhead
    bufferedBytes.add(charge, ordering: .relaxed)
    counters.bufferedBytes.add(charge, ordering: .relaxed)
    if case .terminated = inbound.yield(.message(bytes)) {
      bufferedBytes.subtract(charge, ordering: .relaxed)
      counters.bufferedBytes.subtract(charge, ordering: .relaxed)
      return false
    }
    return true
  }

  /// The handler read a request message of `count` bytes.
  func consumed(_ count: Int) {
    let charge = count + Self.messageOverhead
    bufferedBytes.subtract(charge, ordering: .relaxed)
    counters.bufferedBytes.subtract(charge, ordering: .relaxed)
  }

  /// Connects the handler's cancellation handle; cancels it at once if the RPC was already
  /// cancelled before the handler started.
  func attach(_ handle: ServerContext.RPCCancellationHandle) {
    let cancelled = cancellation.withLock { state in
      state.handle = handle
      return state.reason != nil
    }
    if cancelled { handle.cancel() }
  }

  /// Tells the handler its RPC is cancelled (client cancel, lost peer, server shutdown).
  func cancel(_ reason: CancelReason = .ended) {
    let handle = cancellation.withLock { state in
      if state.reason != .ended { state.reason = reason }
      return state.handle
    }
    handle?.cancel()
  }

  /// The RPC's cancellation handle fired (called once, on whichever thread cancelled it).
  func rpcCancelled() {
    let reason = cancellation.withLock { $0.reason }
    let error: RPCError
    if let deadline, ContinuousClock.now >= deadline {
      error = RPCError(code: .deadlineExceeded, message: "The RPC's deadline passed.")
    } else {
      error = RPCError(code: .cancelled, message: "The RPC was cancelled.")
    }
    credit.cancelWaits(error)
    switch reason {
    case .shutdown:
      // Asked to wind down: the client may still be sending what the handler needs.
      break
    case .ended:
      break  // the socket thread ended the requests already
    case nil:
      // GRPCCore cancelled it (the deadline passed): a handler waiting for requests must not
      // wait on for ones that may never come.
      inbound.finish(throwing: error)
    }
  }
}

/// The request side of a server stream: hands request parts to the handler, keeps the
/// buffered-bytes count, tells the socket thread when the handler waits for input, and grants
/// the client credit as the handler reads messages.
@available(gRPCSwift 2.0, *)
struct ServerInbound: AsyncSequence, Sendable {
  typealias Element = RPCRequestPart<[UInt8]>
  typealias Failure = any Error

  let base: AsyncThrowingStream<Element, any Error>
  let stream: ServerStream
  let commands: CommandQueue<ServerConnection.Command>

  struct AsyncIterator: AsyncIteratorProtocol {
    var base: AsyncThrowingStream<Element, any Error>.AsyncIterator
    let stream: ServerStream
    let commands: CommandQueue<ServerConnection.Command>
    var consumed = 0

    mutating func next() async throws -> Element? {
      stream.waitingForRequest.store(true, ordering: .relaxed)
      defer { stream.waitingForRequest.store(false, ordering: .relaxed) }
      guard let part = try await base.next() else { return nil }
      if case .message(let bytes) = part {
        stream.consumed(bytes.count)
        consumed += 1
        if consumed >= ZeroMQTransport.initialWindow / 2 {
          commands.enqueue(.send(stream.key, .credit(UInt32(consumed))))
          consumed = 0
        }
      }
      return part
    }
  }

  func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(base: base.makeAsyncIterator(), stream: stream, commands: commands)
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
      // A response's first part: its next part (a message or the status) wakes the socket
      // thread and both leave together; alone, it leaves at the thread's next sweep (≤ 1 s).
      commands.enqueue(.send(stream.key, .headers(metadata)), wake: false)
    case .message(let bytes):
      guard bytes.count <= maxMessageBytes else {
        throw RPCError(
          code: .resourceExhausted,
          message: "The response message has \(bytes.count) bytes; this server sends at most \(maxMessageBytes)."
        )
      }
      try await stream.credit.acquire()
      commands.enqueue(.send(stream.key, .message(bytes)))
    case .status(var status, let metadata):
      // GRPCCore answers a unary (or server-streaming) call whose client sent no request
      // message with INTERNAL "Empty stream."; it is the client's mistake, not the server's.
      if status.code == .internalError, status.message == "Empty stream.",
        stream.endedWithoutMessages.load(ordering: .relaxed)
      {
        status = Status(code: .invalidArgument, message: "The call carried no request message.")
      }
      stream.statusWritten.store(true, ordering: .relaxed)
      commands.enqueue(.send(stream.key, .status(status, metadata)))
    }
  }

  func write(contentsOf elements: some Sequence<Element>) async throws {
    for element in elements { try await write(element) }
  }

  func finish() async {
    // After a status (the usual case) this only frees what is left: it can wait.
    commands.enqueue(.finished(stream.key), wake: !stream.statusWritten.load(ordering: .relaxed))
  }

  func finish(throwing error: any Error) async {
    let rpcError = (error as? RPCError) ?? RPCError(code: .unknown, message: "The handler failed: \(error)")
    commands.enqueue(.send(stream.key, .status(Status(code: Status.Code(rpcError.code), message: rpcError.message), rpcError.metadata)))
    commands.enqueue(.finished(stream.key))
  }
}
