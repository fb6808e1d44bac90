import GRPCCore
import Logging
import Synchronization
import ZeroMQ

/// The socket-owning thread of a server transport: one ROUTER socket (and, with CURVE, the
/// ZAP handler of its context).
@available(gRPCSwift 2.0, *)
final class ServerConnection: Sendable {
  enum Command: Sendable {
    /// A wire message for a stream.
    case send(StreamKey, WireMessage)
    /// The handler's response writer finished.
    case finished(StreamKey)
    /// Refuse new streams, tell handlers in flight, stop announcing new streams.
    case beginShutdown
    /// Deliver what is queued, close the socket and end the thread.
    case stop(CheckedContinuation<Void, Never>)
  }

  private let thread: SocketThread<Command>
  let boundEndpoint: String
  var commands: CommandQueue<Command> { thread.commands }

  private init(thread: SocketThread<Command>, boundEndpoint: String) {
    self.thread = thread
    self.boundEndpoint = boundEndpoint
  }

  /// Binds on a new thread. Throws if the socket cannot be bound.
  static func start(
    endpoint: String,
    security: ZeroMQTransport.Security,
    configuration: ZeroMQTransport.Server.Configuration,
    newStreams: AsyncStream<ServerStreamStart>.Continuation
  ) async throws -> ServerConnection {
    do {
      let (thread, bound) = try await SocketThread<Command>.start(
        name: "zmq-server",
        makeLoop: { commands in
          try ServerSocketLoop(
            endpoint: endpoint, security: security, configuration: configuration,
            commands: commands, newStreams: newStreams
          )
        },
        started: { $0.boundEndpoint }
      )
      return ServerConnection(thread: thread, boundEndpoint: bound)
    } catch {
      newStreams.finish()
      throw error
    }
  }

  func stop() async {
    await thread.stop { .stop($0) }
  }
}

/// Everything that lives on the server's socket thread.
@available(gRPCSwift 2.0, *)
private final class ServerSocketLoop: SocketLoop {
  private struct Record {
    let stream: ServerStream
    var inboundFinished = false
  }

  let boundEndpoint: String
  private let configuration: ZeroMQTransport.Server.Configuration
  private let commands: CommandQueue<ServerConnection.Command>
  private let newStreams: AsyncStream<ServerStreamStart>.Continuation
  private let socket: ZMQSocket
  private let authenticator: ZAPAuthenticator?
  private var logger: Logger
  private var streams: [StreamKey: Record] = [:]
  private var outbound = OutboundQueue()
  private var draining = false

  init(
    endpoint: String,
    security: ZeroMQTransport.Security,
    configuration: ZeroMQTransport.Server.Configuration,
    commands: CommandQueue<ServerConnection.Command>,
    newStreams: AsyncStream<ServerStreamStart>.Continuation
  ) throws {
    self.configuration = configuration
    self.commands = commands
    self.newStreams = newStreams
    self.logger = configuration.logger

    let context = try ZMQContext()
    socket = try ZMQSocket(context: context, type: .router)
    try socket.set(.linger(configuration.shutdownLinger))
    try socket.set(.routerMandatory(true))
    try socket.set(.sendHighWaterMark(100_000))
    try socket.set(.receiveHighWaterMark(100_000))
    try socket.set(.heartbeatInterval(configuration.heartbeatInterval))
    try socket.set(.heartbeatTimeout(configuration.heartbeatTimeout))
    try socket.set(.heartbeatTimeToLive(configuration.heartbeatTimeout))
    // Frames far beyond the RPC limit are garbage: libzmq drops such a peer before buffering them.
    try socket.set(.maxMessageSize(Int64(configuration.maxRequestMessageBytes) * 2 + 65_536))
    switch security.mode {
    case .plaintext:
      authenticator = nil
    case .curveServer(let keyPair, let policy, let zapDomain):
      authenticator = try ZAPAuthenticator(context: context, policy: policy)
      try socket.set(.curveServer(true))
      try socket.set(.curvePublicKey(keyPair.publicKey))
      try socket.set(.curveSecretKey(keyPair.secretKey))
      try socket.set(.zapDomain(zapDomain))
    case .curveClient:
      throw RPCError(code: .invalidArgument, message: "A server transport cannot use client security.")
    }
    try socket.bind(endpoint)
    boundEndpoint = socket.lastEndpoint ?? endpoint
    logger[metadataKey: "zmq.endpoint"] = "\(boundEndpoint)"
  }

  func run() {
    var poller = ZMQPoller()
    let socketIndex = poller.add(socket)
    poller.add(fileDescriptor: commands.wakeup.fileDescriptor)
    var stopRequest: CheckedContinuation<Void, Never>?

    while stopRequest == nil {
      do {
        // A ROUTER is always "writable"; queued frames are retried on a short timer instead.
        try poller.poll(timeout: outbound.isEmpty ? nil : .milliseconds(1))
      } catch {
        logger.error("zmq_poll failed; the server socket thread stops", metadata: ["error": "\(error)"])
        break
      }
      for command in commands.drain() {
        if case .stop(let continuation) = command {
          stopRequest = continuation
        } else {
          handle(command)
        }
      }
      if poller.events(at: socketIndex).contains(.readable) {
        receiveAvailable()
      }
      flushPending()
    }

    // Keep the connection open for a quiet period after the last replies: a client drops
    // frames it has not read yet when its connection closes, so closing at once could lose
    // them. New RPCs arriving meanwhile are refused (the server is draining).
    draining = true
    let deadline = ContinuousClock.now.advanced(by: configuration.shutdownQuietPeriod)
    while ContinuousClock.now < deadline {
      flushPending()
      let remaining = deadline - ContinuousClock.now
      _ = try? poller.poll(timeout: outbound.isEmpty ? min(remaining, .milliseconds(50)) : .milliseconds(1))
      for command in commands.drain() { handle(command) }
      if poller.events(at: socketIndex).contains(.readable) { receiveAvailable() }
    }
    for record in streams.values {
      record.stream.cancel()
      record.stream.inbound.finish(throwing: RPCError(code: .unavailable, message: "The server is shutting down."))
    }
    newStreams.finish()
    socket.close()
    authenticator?.stop()
    stopRequest?.resume()
  }

  // MARK: - Commands from handlers

  private func handle(_ command: ServerConnection.Command) {
    switch command {
    case .send(let key, let message):
      guard streams[key] != nil else { return }
      transmit(message, to: key)
      if case .status = message {
        // The stream is over for the client; requests still in flight are of no use now.
        if let record = streams.removeValue(forKey: key), !record.inboundFinished {
          record.stream.inbound.finish()
        }
      }

    case .finished(let key):
      // A writer that finished without a status: the client must still learn the end.
      guard let record = streams.removeValue(forKey: key) else { return }
      transmit(.status(Status(code: .unknown, message: "The handler ended without a status."), [:]), to: key)
      if !record.inboundFinished { record.stream.inbound.finish() }

    case .beginShutdown:
      guard !draining else { return }
      draining = true
      logger.info("graceful shutdown: refusing new RPCs", metadata: ["rpcs.in_flight": "\(streams.count)"])
      newStreams.finish()
      for record in streams.values { record.stream.cancel() }

    case .stop:
      break
    }
  }

  // MARK: - Socket I/O

  private func transmit(_ message: WireMessage, to key: StreamKey) {
    var frames = [ZMQMessage(key.routingID)]
    frames.append(contentsOf: message.frames(streamID: key.streamID))
    do {
      try outbound.send(frames, on: socket)
    } catch {
      sendFailed(to: key.routingID, error)
    }
  }

  private func flushPending() {
    outbound.flush(on: socket) { frames, error in sendFailed(to: frames[0].bytes, error) }
  }

  private func sendFailed(to routingID: [UInt8], _ error: any Error) {
    if let error = error as? ZMQError, error.isHostUnreachable {
      peerGone(routingID)
    } else {
      logger.error("send failed", metadata: ["error": "\(error)"])
    }
  }

  /// The client's connection is gone: its RPCs can never be answered.
  private func peerGone(_ routingID: [UInt8]) {
    let lost = streams.keys.filter { $0.routingID == routingID }
    if !lost.isEmpty {
      logger.info("client connection lost", metadata: ["rpcs.cancelled": "\(lost.count)"])
    }
    for key in lost {
      guard let record = streams.removeValue(forKey: key) else { continue }
      let error = RPCError(code: .unavailable, message: "The client's connection was lost.")
      record.stream.cancel()
      record.stream.credit.close(error)
      if !record.inboundFinished { record.stream.inbound.finish(throwing: error) }
    }
  }

  private func receiveAvailable() {
    if let error = socket.receiveWaiting({ handle(frames: $0) }) {
      logger.error("receive failed", metadata: ["error": "\(error)"])
    }
  }

  private func handle(frames: [ZMQMessage]) {
    // A ROUTER always prepends the routing id; anything shorter is not from a peer.
    guard frames.count >= 2 else { return }
    let routingID = frames[0].bytes
    let payload = frames[1...]

    switch WireMessage.decode(payload, maxMessageBytes: configuration.maxRequestMessageBytes) {
    case .failure(.unreadableHeader(let reason)):
      logger.debug("dropped an unreadable message", metadata: ["reason": "\(reason)"])

    case .failure(.malformed(let streamID, let reason)):
      reject(StreamKey(routingID: routingID, streamID: streamID), .invalidArgument, "Malformed frame: \(reason)")

    case .failure(.tooLarge(let streamID, let size, let limit)):
      reject(
        StreamKey(routingID: routingID, streamID: streamID), .resourceExhausted,
        "The request message has \(size) bytes; this server accepts at most \(limit)."
      )

    case .success(let (streamID, message)):
      let key = StreamKey(routingID: routingID, streamID: streamID)
      switch message {
      case .open(let method, let metadata):
        open(key, method: method, metadata: metadata, frame: frames[1])
      case .message(let bytes):
        guard let record = streams[key], !record.inboundFinished else { return }
        record.stream.inbound.yield(.message(bytes))
      case .halfClose:
        guard var record = streams[key], !record.inboundFinished else { return }
        record.inboundFinished = true
        streams[key] = record
        record.stream.inbound.finish()
      case .cancel:
        guard let record = streams.removeValue(forKey: key) else { return }
        let error = RPCError(code: .cancelled, message: "The client cancelled the RPC.")
        record.stream.cancel()
        record.stream.credit.close(error)
        if !record.inboundFinished { record.stream.inbound.finish(throwing: error) }
      case .credit(let count):
        streams[key]?.stream.credit.add(Int(count))
      case .headers, .status:
        reject(key, .invalidArgument, "Clients may not send \(message.kind) frames.")
      }
    }
  }

  private func open(_ key: StreamKey, method: String, metadata: Metadata, frame: ZMQMessage) {
    guard streams[key] == nil else {
      reject(key, .invalidArgument, "Stream \(key.streamID) is already open on this connection.")
      return
    }
    guard !draining else {
      transmit(.status(Status(code: .unavailable, message: "The server is shutting down."), [:]), to: key)
      return
    }
    // "/package.Service/Method"
    let path = method.dropFirst()
    guard let slash = path.lastIndex(of: "/"), slash != path.startIndex, path.index(after: slash) != path.endIndex else {
      transmit(.status(Status(code: .unimplemented, message: "Malformed method path \(method)."), [:]), to: key)
      return
    }
    let descriptor = MethodDescriptor(
      fullyQualifiedService: String(path[..<slash]),
      method: String(path[path.index(after: slash)...])
    )
    let userID = frame.property("User-Id").flatMap { $0.isEmpty ? nil : $0 }
    let peer = ZeroMQPeer(userID: userID, address: frame.property("Peer-Address") ?? "", routingID: key.routingID)

    let (requests, continuation) = AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>.makeStream()
    let stream = ServerStream(key: key, inbound: continuation)
    continuation.yield(.metadata(metadata))
    streams[key] = Record(stream: stream)

    let commands = self.commands
    let inbound = CreditingInbound(
      base: requests,
      isMessage: { if case .message = $0 { true } else { false } },
      grantThreshold: ZeroMQTransport.initialWindow / 2,
      grant: { count in commands.enqueue(.send(key, .credit(UInt32(count)))) }
    )
    let outbound = ServerOutboundWriter(
      stream: stream, commands: commands, maxMessageBytes: configuration.maxResponseMessageBytes
    )
    let start = ServerStreamStart(
      descriptor: descriptor,
      peer: peer,
      stream: stream,
      rpcStream: RPCStream(
        descriptor: descriptor,
        inbound: RPCAsyncSequence(wrapping: inbound),
        outbound: RPCWriter.Closable(wrapping: outbound)
      )
    )
    if case .terminated = newStreams.yield(start) {
      streams.removeValue(forKey: key)
      transmit(.status(Status(code: .unavailable, message: "The server is shutting down."), [:]), to: key)
    }
  }

  /// Ends a stream (if open) and answers the client with a status.
  private func reject(_ key: StreamKey, _ code: Status.Code, _ message: String) {
    logger.debug("rejected a stream", metadata: ["grpc.code": "\(code)", "reason": "\(message)"])
    if let record = streams.removeValue(forKey: key) {
      let error = RPCError(code: RPCError.Code(code) ?? .internalError, message: message)
      record.stream.cancel()
      record.stream.credit.close(error)
      if !record.inboundFinished { record.stream.inbound.finish(throwing: error) }
    }
    transmit(.status(Status(code: code, message: message), [:]), to: key)
  }
}
