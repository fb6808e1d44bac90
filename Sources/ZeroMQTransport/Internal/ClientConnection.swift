import GRPCCore
import Logging
import Synchronization
import ZeroMQ

/// The socket-owning thread of a client transport: one DEALER socket and its monitor.
@available(gRPCSwift 2.0, *)
final class ClientConnection: Sendable {
  enum Command: Sendable {
    /// A new stream; its frames may follow.
    case register(ClientStream, waitForReady: Bool)
    /// A wire message for a stream.
    case send(UInt64, WireMessage)
    /// The client abandons a stream: CANCEL it on the wire if it is still open, and end it
    /// locally with the reason.
    case cancel(UInt64, RPCError)
    /// The RPC's task is done with the stream.
    case release(UInt64)
    /// Close the socket and end the thread.
    case stop(CheckedContinuation<Void, Never>)
  }

  private let thread: SocketThread<Command>
  var commands: CommandQueue<Command> { thread.commands }

  private init(thread: SocketThread<Command>) {
    self.thread = thread
  }

  /// Makes the socket on a new thread and starts connecting. Throws if the socket cannot be
  /// set up (a malformed endpoint, bad keys).
  static func start(
    endpoint: String,
    security: ZeroMQTransport.Security,
    configuration: ZeroMQTransport.Client.Configuration
  ) async throws -> ClientConnection {
    let (thread, _) = try await SocketThread<Command>.start(
      name: "zmq-client",
      makeLoop: { commands in
        try ClientSocketLoop(endpoint: endpoint, security: security, configuration: configuration, commands: commands)
      },
      started: { _ in () }
    )
    return ClientConnection(thread: thread)
  }

  /// Ends the thread: streams still open fail with `unavailable`.
  func stop() async {
    await thread.stop { .stop($0) }
  }
}

/// Everything that lives on the client's socket thread.
@available(gRPCSwift 2.0, *)
private final class ClientSocketLoop: SocketLoop {
  private enum ConnectionState {
    case connecting
    case ready
    case failed(RPCError)
  }

  private struct Record {
    var stream: ClientStream
    var waitForReady: Bool
    /// Frames go to the socket (the connection was ready when they were due).
    var active: Bool
    var opened = false
    var ended = false
    var queued: [WireMessage] = []
  }

  private let endpoint: String
  private let configuration: ZeroMQTransport.Client.Configuration
  private let commands: CommandQueue<ClientConnection.Command>
  private let socket: ZMQSocket
  private let monitor: ZMQSocketMonitor
  private var logger: Logger
  private var connectionState = ConnectionState.connecting
  private var streams: [UInt64: Record] = [:]
  private var outbound = OutboundQueue()
  /// This client's CURVE public key, named when the server refuses it.
  private let publicKey: CurveKey?
  /// When to connect again after the server refused this client's key: libzmq treats a ZAP
  /// refusal as a protocol error and never reconnects that endpoint by itself.
  private var reconnectDue: ContinuousClock.Instant?
  private var reconnectDelay: Duration

  init(
    endpoint: String,
    security: ZeroMQTransport.Security,
    configuration: ZeroMQTransport.Client.Configuration,
    commands: CommandQueue<ClientConnection.Command>
  ) throws {
    self.endpoint = endpoint
    self.configuration = configuration
    self.commands = commands
    self.logger = configuration.logger
    self.reconnectDelay = configuration.reconnectInterval
    logger[metadataKey: "zmq.endpoint"] = "\(endpoint)"

    let context = try ZMQContext()
    socket = try ZMQSocket(context: context, type: .dealer)
    try socket.set(.linger(.milliseconds(200)))
    try socket.set(.immediate(true))
    try socket.set(.sendHighWaterMark(100_000))
    try socket.set(.receiveHighWaterMark(100_000))
    try socket.set(.heartbeatInterval(configuration.heartbeatInterval))
    try socket.set(.heartbeatTimeout(configuration.heartbeatTimeout))
    try socket.set(.heartbeatTimeToLive(configuration.heartbeatTimeout))
    try socket.set(.reconnectInterval(configuration.reconnectInterval))
    try socket.set(.reconnectIntervalMax(configuration.reconnectIntervalMax))
    // A server must never make this process buffer an unbounded frame.
    try socket.set(.maxMessageSize(Int64(configuration.maxResponseMessageBytes) * 2 + 65_536))
    switch security.mode {
    case .plaintext:
      publicKey = nil
    case .curveClient(let keyPair, let serverPublicKey):
      publicKey = keyPair.publicKey
      try socket.set(.curvePublicKey(keyPair.publicKey))
      try socket.set(.curveSecretKey(keyPair.secretKey))
      try socket.set(.curveServerKey(serverPublicKey))
    case .curveServer:
      throw RPCError(code: .invalidArgument, message: "A client transport cannot use server security.")
    }
    let monitorEndpoint = "inproc://zmq-client-monitor-\(UInt64.random(in: 0...UInt64.max))"
    try socket.startMonitor(
      endpoint: monitorEndpoint,
      events: [.connected, .connectRetried, .closed, .disconnected, .handshakeSucceeded, .handshakeFailed]
    )
    monitor = try ZMQSocketMonitor(context: context, endpoint: monitorEndpoint)
    try socket.connect(endpoint)
  }

  func run() {
    var poller = ZMQPoller()
    let socketIndex = poller.add(socket)
    let monitorIndex = poller.add(monitor.socket)
    let wakeupIndex = poller.add(fileDescriptor: commands.wakeup.fileDescriptor)
    var stopRequest: CheckedContinuation<Void, Never>?

    while stopRequest == nil {
      poller.setEvents(outbound.isEmpty ? .readable : [.readable, .writable], at: socketIndex)
      do {
        try poller.poll(timeout: reconnectDue.map { max(.zero, ContinuousClock.now.duration(to: $0)) })
      } catch {
        logger.error("zmq_poll failed; the client socket thread stops", metadata: ["error": "\(error)"])
        break
      }
      for command in commands.drain(woken: poller.events(at: wakeupIndex).contains(.readable)) {
        if case .stop(let continuation) = command {
          stopRequest = continuation
        } else {
          handle(command)
        }
      }
      // Frames first: a server's last replies arrive before the news that it went away.
      if poller.events(at: socketIndex).contains(.readable) {
        receiveAvailable()
      }
      if poller.events(at: monitorIndex).contains(.readable) {
        while let event = try? monitor.nextEvent() {
          if event.kind == .disconnected { receiveAvailable() }
          handle(event)
        }
      }
      if let due = reconnectDue, ContinuousClock.now >= due {
        reconnect()
      }
      flushPending()
    }

    for id in Array(streams.keys) {
      fail(id, RPCError(code: .unavailable, message: "The ZeroMQ client transport was shut down."))
    }
    socket.close()
    monitor.socket.close()
    stopRequest?.resume()
  }

  // MARK: - Commands from RPC tasks

  private func handle(_ command: ClientConnection.Command) {
    switch command {
    case .register(let stream, let waitForReady):
      var record = Record(stream: stream, waitForReady: waitForReady, active: false)
      switch connectionState {
      case .ready:
        record.active = true
      case .connecting:
        break
      case .failed(let error):
        if !waitForReady {
          stream.fail(error)
          record.ended = true
        }
      }
      streams[stream.id] = record

    case .send(let id, let message):
      guard var record = streams[id], !record.ended else { return }
      if record.active {
        if case .open = message { record.opened = true }
        streams[id] = record
        transmit(message, on: id)
      } else {
        record.queued.append(message)
        streams[id] = record
      }

    case .cancel(let id, let reason):
      guard var record = streams[id], !record.ended else { return }
      if record.active && record.opened { transmit(.cancel, on: id) }
      record.ended = true
      streams[id] = record
      record.stream.fail(reason)

    case .release(let id):
      guard let record = streams.removeValue(forKey: id) else { return }
      if !record.ended {
        if record.active && record.opened { transmit(.cancel, on: id) }
        record.stream.fail(RPCError(code: .cancelled, message: "The RPC ended before its status arrived."))
      }

    case .stop:
      break
    }
  }

  // MARK: - Connection events

  private func handle(_ event: ZMQSocketEvent) {
    logger.debug("socket event", metadata: ["zmq.event": "\(event)"])
    if event.kind == .handshakeSucceeded {
      reconnectDue = nil
      reconnectDelay = configuration.reconnectInterval
      becomeReady()
    } else if event.kind == .disconnected {
      // A connection that never completed its handshake has already reported why it failed.
      guard case .ready = connectionState else { return }
      becomeFailed(RPCError(code: .unavailable, message: "Lost the connection to \(endpoint); reconnecting."))
    } else if event.kind == .handshakeFailedAuth {
      let key = publicKey.map { " \($0.z85)" } ?? ""
      becomeFailed(RPCError(
        code: .unauthenticated,
        message: "The server at \(endpoint) refused this client's key\(key) (ZAP status \(event.value))."
      ))
      scheduleReconnect()
    } else if event.kind == .handshakeFailedProtocol || event.kind == .handshakeFailedNoDetail {
      becomeFailed(RPCError(
        code: .unavailable,
        message: "The security handshake with \(endpoint) failed: check the server's public key and mechanism."
      ))
    } else if event.kind == .connectRetried || event.kind == .closed {
      // Keep a more specific failure (a refused key) until a handshake succeeds.
      if case .failed = connectionState { return }
      becomeFailed(RPCError(code: .unavailable, message: "Cannot connect to \(endpoint); retrying."))
    }
  }

  /// Tries the handshake again later, so that a key registered after a refusal gets in.
  private func scheduleReconnect() {
    guard reconnectDue == nil else { return }
    // Never sooner than 10 ms, so that a zero interval cannot make the thread spin.
    reconnectDue = ContinuousClock.now.advanced(by: max(reconnectDelay, .milliseconds(10)))
    let limit = max(configuration.reconnectInterval, configuration.reconnectIntervalMax)
    reconnectDelay = min(reconnectDelay * 2, limit)
  }

  private func reconnect() {
    reconnectDue = nil
    logger.debug("connecting again after the server refused this client's key")
    // The refused connection's session has ended; dropping the endpoint first makes sure no
    // second connection to the same server can exist.
    try? socket.disconnect(endpoint)
    do {
      try socket.connect(endpoint)
    } catch {
      logger.error("reconnecting failed", metadata: ["error": "\(error)"])
      scheduleReconnect()
    }
  }

  private func becomeReady() {
    connectionState = .ready
    for id in streams.keys.sorted() {
      guard var record = streams[id], !record.active, !record.ended else { continue }
      record.active = true
      let queued = record.queued
      record.queued = []
      for message in queued {
        if case .open = message { record.opened = true }
      }
      streams[id] = record
      for message in queued { transmit(message, on: id) }
    }
  }

  private func becomeFailed(_ error: RPCError) {
    let wasReady: Bool
    if case .ready = connectionState { wasReady = true } else { wasReady = false }
    connectionState = .failed(error)
    // Frames waiting for the lost connection belong to streams that fail now.
    if wasReady { outbound.removeAll() }
    for (id, record) in streams where !record.ended {
      if record.active || !record.waitForReady {
        fail(id, error)
      }
    }
  }

  private func fail(_ id: UInt64, _ error: RPCError) {
    guard var record = streams[id], !record.ended else { return }
    record.ended = true
    streams[id] = record
    record.stream.fail(error)
  }

  // MARK: - Socket I/O

  private func transmit(_ message: WireMessage, on id: UInt64) {
    do {
      try outbound.send(message.frames(streamID: id), on: socket)
    } catch {
      logger.error("send failed", metadata: ["error": "\(error)"])
      fail(id, RPCError(code: .unavailable, message: "Sending to \(endpoint) failed: \(error)"))
    }
  }

  private func flushPending() {
    outbound.flush(on: socket) { _, error in
      logger.error("send failed", metadata: ["error": "\(error)"])
    }
  }

  private func receiveAvailable() {
    if let error = socket.receiveWaiting({ handle(frames: $0) }) {
      logger.error("receive failed", metadata: ["error": "\(error)"])
    }
  }

  private func handle(frames: [ZMQMessage]) {
    switch WireMessage.decode(frames[...], maxMessageBytes: configuration.maxResponseMessageBytes) {
    case .failure(.unreadableHeader(let reason)):
      logger.warning("dropped an unreadable message from the server", metadata: ["reason": "\(reason)"])

    case .failure(.malformed(let id, let reason)):
      abort(id, RPCError(code: .internalError, message: "The server sent a malformed frame: \(reason)"))

    case .failure(.tooLarge(let id, let size, let limit)):
      abort(id, RPCError(
        code: .resourceExhausted,
        message: "The response message has \(size) bytes; this client accepts at most \(limit)."
      ))

    case .success(let (id, message)):
      guard var record = streams[id], !record.ended else { return }
      switch message {
      case .headers(let metadata):
        record.stream.inbound.yield(.metadata(metadata))
      case .message(let bytes):
        record.stream.inbound.yield(.message(bytes))
      case .status(let status, let metadata):
        record.stream.ended.store(true, ordering: .relaxed)
        record.stream.inbound.yield(.status(status, metadata))
        record.stream.inbound.finish()
        // The server has ended the stream: further request messages are dropped, never waited for.
        record.stream.credit.add(Int(Int32.max))
        record.ended = true
        streams[id] = record
      case .credit(let count):
        record.stream.credit.add(Int(count))
      case .open, .halfClose, .cancel:
        logger.warning("the server sent a client-only frame", metadata: ["frame.kind": "\(message.kind)"])
      }
    }
  }

  /// Ends a stream on both sides because of what the server sent.
  private func abort(_ id: UInt64, _ error: RPCError) {
    guard let record = streams[id], !record.ended else { return }
    transmit(.cancel, on: id)
    fail(id, error)
  }
}
