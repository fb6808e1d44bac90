import DequeModule
import GRPCCore
import Logging
#if canImport(Glibc)
import Glibc
#endif
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
    /// The shutdown grace period is over: end every stream still open with `unavailable`.
    case cancelAll
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
    counters: ServerCounters,
    newStreams: AsyncStream<ServerStreamStart>.Continuation
  ) async throws -> ServerConnection {
    do {
      let (thread, bound) = try await SocketThread<Command>.start(
        name: "zmq-server",
        makeLoop: { commands in
          try ServerSocketLoop(
            endpoint: endpoint, security: security, configuration: configuration,
            counters: counters, commands: commands, newStreams: newStreams
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
///
/// All state a client can make the server hold is bounded here: streams per connection and
/// in total, buffered request bytes (through `ServerCounters`), idle streams, new streams per
/// second per connection, error replies per second per connection, responses queued for a
/// connection that does not read them. A connection that is gone (a send fails with
/// `EHOSTUNREACH`, or the periodic `CREDIT 0` probe on one of its streams does) frees all its
/// streams, and its per-connection state goes with them.
@available(gRPCSwift 2.0, *)
private final class ServerSocketLoop: SocketLoop {
  private struct Record {
    let stream: ServerStream
    var inboundFinished = false
    /// MESSAGE frames received.
    var messages = 0
    /// MESSAGE frames the client may still send (its credit, as this side granted it).
    var allowance = ZeroMQTransport.initialWindow
    /// For the idle check: `messages` at the last sweep, and since when the handler has
    /// been seen waiting with nothing arriving.
    var messagesAtSweep = 0
    var idleSince: ContinuousClock.Instant?
    /// The response has begun (HEADERS sent).
    var headersSent = false
  }

  /// What the loop keeps per client connection.
  private struct Peer {
    var streams: Set<UInt64> = []
    /// Whose budget the connection spends.
    let client: ClientIdentity
    /// What handlers learn of the connection: libzmq's connection properties (fixed at the
    /// handshake), read once rather than for every call.
    let identity: ZeroMQPeer
  }

  /// Who a connection belongs to, for the limits a client may not escape by reconnecting or
  /// by opening more connections: the CURVE key it authenticated with (ZAP's `X-Curve-Key`
  /// property, the same on all its connections), else the connection itself.
  private enum ClientIdentity: Hashable {
    case curveKey(String)
    case connection([UInt8])
  }

  /// What one client (all its connections together) may still do.
  private struct Budget {
    /// Streams open over all the client's connections.
    var streams = 0
    var opens: TokenBucket
    var answers: TokenBucket
  }

  /// Responses queued for one connection beyond libzmq's high-water mark; a connection that
  /// lets more pile up does not read and is dropped.
  static let maxQueuedPerPeer = 4096
  /// Messages read per loop iteration before commands and queued sends get their turn.
  /// A ROUTER hands over messages fair-queued across connections (one from each in turn),
  /// so a flooding connection gets its share of a batch, not the batch.
  static let receiveBatch = 256

  let boundEndpoint: String
  private let configuration: ZeroMQTransport.Server.Configuration
  private let counters: ServerCounters
  private let commands: CommandQueue<ServerConnection.Command>
  private let newStreams: AsyncStream<ServerStreamStart>.Continuation
  private let socket: ZMQSocket
  private let authenticator: ZAPAuthenticator?
  /// The socket's monitor (`ACCEPTED`, `DISCONNECTED`) and the cap on connections it serves.
  private let monitor: ZMQSocketMonitor?
  private var connectionLimiter: ConnectionLimiter?
  private var nextRefusalLog: ContinuousClock.Instant
  private var logger: Logger
  private var streams: [StreamKey: Record] = [:]
  private var peers: [[UInt8]: Peer] = [:]
  private var budgets: [ClientIdentity: Budget] = [:]
  private var outbound = PeerOutboundQueue()
  private var draining = false
  /// The time at the top of this loop iteration (one clock read per iteration).
  private var now = ContinuousClock.now
  private let sweepInterval: Duration
  private var nextSweep: ContinuousClock.Instant
  private var nextProbe: ContinuousClock.Instant
  /// Live streams at the last heap trim, and the most since.
  private var liveStreamsPeak = 0

  init(
    endpoint: String,
    security: ZeroMQTransport.Security,
    configuration: ZeroMQTransport.Server.Configuration,
    counters: ServerCounters,
    commands: CommandQueue<ServerConnection.Command>,
    newStreams: AsyncStream<ServerStreamStart>.Continuation
  ) throws {
    self.configuration = configuration
    self.counters = counters
    self.commands = commands
    self.newStreams = newStreams
    self.logger = configuration.logger
    let start = ContinuousClock.now
    let sweepInterval = min(.seconds(1), configuration.streamIdleTimeout / 2, configuration.livenessProbeInterval)
    self.sweepInterval = sweepInterval
    nextSweep = start.advanced(by: sweepInterval)
    nextProbe = start.advanced(by: configuration.livenessProbeInterval)
    nextRefusalLog = start

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
    // Every accepted connection takes a descriptor: the monitor tells which, so that
    // connections beyond the cap are shut down before the process runs out (ConnectionLimiter).
    if endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://") {
      let monitorEndpoint = "inproc://zmq-server-monitor-\(UInt64.random(in: 0...UInt64.max))"
      try socket.startMonitor(endpoint: monitorEndpoint, events: [.accepted, .disconnected])
      let monitor = try ZMQSocketMonitor(context: context, endpoint: monitorEndpoint)
      // Never drop an event: a lost DISCONNECTED would count a connection forever.
      try monitor.socket.set(.receiveHighWaterMark(0))
      self.monitor = monitor
    } else {
      monitor = nil
    }
    try socket.bind(endpoint)
    boundEndpoint = socket.lastEndpoint ?? endpoint
    logger[metadataKey: "zmq.endpoint"] = "\(boundEndpoint)"
    if monitor != nil {
      let derived = ConnectionLimiter.derivedLimit(reserve: configuration.descriptorReserve)
      if let limit = configuration.maxConnections ?? derived?.limit {
        connectionLimiter = ConnectionLimiter(boundEndpoint: boundEndpoint, limit: limit)
        var metadata: Logger.Metadata = ["zmq.max_connections": "\(limit)"]
        if configuration.maxConnections == nil, let derived {
          metadata["fd.soft"] = "\(derived.softLimit)"
          metadata["fd.in_use"] = "\(derived.inUse)"
          metadata["fd.reserve"] = "\(configuration.descriptorReserve)"
        }
        logger.info("accepting at most \(limit) client connections", metadata: metadata)
      }
    }
  }

  func run() {
    var poller = ZMQPoller()
    let socketIndex = poller.add(socket)
    let wakeupIndex = poller.add(fileDescriptor: commands.wakeup.fileDescriptor)
    let monitorIndex = monitor.map { poller.add($0.socket) }
    var stopRequest: CheckedContinuation<Void, Never>?

    while stopRequest == nil {
      do {
        // A ROUTER is always "writable"; queued frames are retried on a short timer instead.
        try poller.poll(timeout: pollTimeout())
      } catch {
        logger.error("zmq_poll failed; the server socket thread stops", metadata: ["error": "\(error)"])
        break
      }
      now = ContinuousClock.now
      if let monitorIndex, poller.events(at: monitorIndex).contains(.readable) {
        followConnections()
      }
      for command in commands.drain(woken: poller.events(at: wakeupIndex).contains(.readable)) {
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
      if now >= nextSweep { sweep() }
      counters.openStreams.store(streams.count, ordering: .relaxed)
      counters.peers.store(peers.count, ordering: .relaxed)
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
      now = ContinuousClock.now
      for command in commands.drain() { handle(command) }
      if poller.events(at: socketIndex).contains(.readable) { receiveAvailable() }
    }
    for record in streams.values {
      terminate(record, RPCError(code: .unavailable, message: "The server is shutting down."))
    }
    streams.removeAll()
    peers.removeAll()
    budgets.removeAll()
    counters.openStreams.store(0, ordering: .relaxed)
    counters.peers.store(0, ordering: .relaxed)
    newStreams.finish()
    socket.close()
    monitor?.socket.close()
    authenticator?.stop()
    stopRequest?.resume()
  }

  private func pollTimeout() -> Duration? {
    if !outbound.isEmpty { return .milliseconds(1) }
    if streams.isEmpty && peers.isEmpty && liveStreamsPeak == 0 { return nil }
    return max(.zero, nextSweep - ContinuousClock.now)
  }

  // MARK: - Commands from handlers

  private func handle(_ command: ServerConnection.Command) {
    switch command {
    case .send(let key, let message):
      guard let index = streams.index(forKey: key) else { return }
      switch message {
      case .status:
        // The stream is over for the client; requests still in flight are of no use now.
        let record = release(key)
        transmit(message, to: key)
        if let record, !record.inboundFinished { record.stream.inbound.finish() }
      case .credit(let count):
        streams.values[index].allowance += Int(count)
        transmit(message, to: key)
      case .headers:
        streams.values[index].headersSent = true
        transmit(message, to: key)
      default:
        transmit(message, to: key)
      }

    case .finished(let key):
      // A writer that finished without a status: the client must still learn the end.
      guard let record = release(key) else { return }
      transmit(.status(Status(code: .unknown, message: "The handler ended without a status."), [:]), to: key)
      if !record.inboundFinished { record.stream.inbound.finish() }

    case .beginShutdown:
      guard !draining else { return }
      draining = true
      logger.info("graceful shutdown: refusing new RPCs", metadata: ["rpcs.in_flight": "\(streams.count)"])
      newStreams.finish()
      for record in streams.values { record.stream.cancel(.shutdown) }

    case .cancelAll:
      logger.info("shutdown grace period over: cancelling RPCs", metadata: ["rpcs.cancelled": "\(streams.count)"])
      for key in Array(streams.keys) {
        end(key, RPCError(code: .unavailable, message: "The server shut down before the call finished."), answer: true)
      }

    case .stop:
      break
    }
  }

  // MARK: - Stream state

  /// Forgets a stream (and its place in its connection's state). The caller ends it.
  private func release(_ key: StreamKey) -> Record? {
    guard let record = streams.removeValue(forKey: key) else { return nil }
    if let index = peers.index(forKey: key.routingID), peers.values[index].streams.remove(key.streamID) != nil {
      budgets[peers.values[index].client]?.streams -= 1
    }
    return record
  }

  /// Ends a stream for its handler: the RPC is cancelled, its requests end with `error`,
  /// writers waiting for credit stop.
  private func terminate(_ record: Record, _ error: RPCError) {
    record.stream.cancel(.ended)
    record.stream.credit.close(error)
    if !record.inboundFinished { record.stream.inbound.finish(throwing: error) }
  }

  /// Ends a stream (if open) for its handler and, if `answer`, tells the client with a STATUS.
  private func end(_ key: StreamKey, _ error: RPCError, answer: Bool) {
    if let record = release(key) { terminate(record, error) }
    if answer { transmit(.status(Status(code: Status.Code(error.code), message: error.message), [:]), to: key) }
  }

  /// Ends a stream (if open) for something the client sent, and answers it with a status
  /// within the connection's budget of error replies.
  private func reject(_ key: StreamKey, _ code: Status.Code, _ message: String) {
    logger.debug("rejected a stream", metadata: ["grpc.code": "\(code)", "reason": "\(message)"])
    end(key, RPCError(code: RPCError.Code(code) ?? .internalError, message: message), answer: false)
    answer(key, Status(code: code, message: message))
  }

  /// Sends an error STATUS the transport itself chose, unless the connection has used up its
  /// error replies (a client flooding bad frames gets silence, not a reply per frame).
  private func answer(_ key: StreamKey, _ status: Status) {
    guard let client = peers[key.routingID]?.client,
      budgets[client]?.answers.take(at: now, rate: configuration.openRate, burst: configuration.openBurst) == true
    else {
      return
    }
    transmit(.status(status, [:]), to: key)
  }

  /// The connection's state, made (with its client's budget, if new) from `frame`'s
  /// connection properties the first time.
  @discardableResult
  private func peerIndex(_ routingID: [UInt8], frame: ZMQMessage) -> Dictionary<[UInt8], Peer>.Index {
    if let index = peers.index(forKey: routingID) { return index }
    let client: ClientIdentity
    let curveKey = frame.property(ZAPAuthenticator.curveKeyProperty)
    if let key = curveKey, !key.isEmpty {
      client = .curveKey(key)
    } else {
      client = .connection(routingID)
    }
    let identity = ZeroMQPeer(
      userID: frame.property("User-Id").flatMap { $0.isEmpty ? nil : $0 },
      address: frame.property("Peer-Address") ?? "",
      routingID: routingID,
      curvePublicKey: curveKey.flatMap { try? CurveKey(z85: $0) }
    )
    if budgets[client] == nil {
      let full = TokenBucket(tokens: Double(configuration.openBurst), updated: now)
      budgets[client] = Budget(opens: full, answers: full)
    }
    peers[routingID] = Peer(client: client, identity: identity)
    return peers.index(forKey: routingID)!
  }

  // MARK: - Socket I/O

  private func transmit(_ message: WireMessage, to key: StreamKey) {
    var frames = [ZMQMessage(key.routingID)]
    frames.append(contentsOf: message.frames(streamID: key.streamID))
    do {
      let queued = try outbound.send(frames, to: key.routingID, on: socket)
      if queued > Self.maxQueuedPerPeer {
        outbound.drop(key.routingID)
        peerGone(key.routingID, reason: "The client does not read its replies.")
      }
    } catch {
      sendFailed(to: key.routingID, error)
    }
  }

  private func flushPending() {
    guard !outbound.isEmpty else { return }
    for (routingID, error) in outbound.flush(on: socket) { sendFailed(to: routingID, error) }
  }

  private func sendFailed(to routingID: [UInt8], _ error: any Error) {
    if let error = error as? ZMQError, error.isHostUnreachable {
      outbound.drop(routingID)
      peerGone(routingID, reason: "The client's connection was lost.")
    } else {
      logger.error("send failed", metadata: ["error": "\(error)"])
    }
  }

  /// The client's connection is gone (or useless): its RPCs can never be answered.
  private func peerGone(_ routingID: [UInt8], reason: String) {
    guard let peer = peers.removeValue(forKey: routingID) else { return }
    budgets[peer.client]?.streams -= peer.streams.count
    if !peer.streams.isEmpty {
      logger.debug("client connection lost", metadata: ["rpcs.cancelled": "\(peer.streams.count)"])
    }
    let error = RPCError(code: .unavailable, message: reason)
    for streamID in peer.streams {
      if let record = streams.removeValue(forKey: StreamKey(routingID: routingID, streamID: streamID)) {
        terminate(record, error)
      }
    }
  }

  // MARK: - Connections

  /// Reads the monitor's events: counts connections and shuts down those beyond the cap.
  private func followConnections() {
    guard let monitor else { return }
    while let event = try? monitor.nextEvent(dontWait: true) {
      let fd = Int32(bitPattern: event.value)
      if event.kind == .accepted {
        if connectionLimiter?.accepted(fd, now: now) == false {
          counters.refusedConnections.add(1, ordering: .relaxed)
        }
      } else if event.kind == .disconnected {
        connectionLimiter?.disconnected(fd)
      }
    }
    guard connectionLimiter != nil else { return }
    counters.connections.store(connectionLimiter!.count, ordering: .relaxed)
    if now >= nextRefusalLog, let refused = connectionLimiter?.takeRefused(), refused > 0 {
      nextRefusalLog = now.advanced(by: .seconds(10))
      logger.warning(
        "at the connection limit: closed new connections",
        metadata: ["zmq.max_connections": "\(connectionLimiter!.limit)", "zmq.connections_refused": "\(refused)"]
      )
    }
  }

  // MARK: - Timers

  /// Once per sweep interval: idle streams, liveness probes, per-connection state of
  /// connections that need none, and the heap after many streams were freed.
  private func sweep() {
    nextSweep = now.advanced(by: sweepInterval)
    cancelIdleStreams()
    if now >= nextProbe {
      nextProbe = now.advanced(by: configuration.livenessProbeInterval)
      probePeers()
    }
    peers = peers.filter { _, peer in !peer.streams.isEmpty }
    budgets = budgets.filter { _, budget in
      budget.streams > 0 || !budget.opens.isFull(at: now, rate: configuration.openRate, burst: configuration.openBurst)
        || !budget.answers.isFull(at: now, rate: configuration.openRate, burst: configuration.openBurst)
    }
    trimHeapIfDrained()
  }

  private func cancelIdleStreams() {
    var idle: [StreamKey] = []
    var index = streams.startIndex
    while index != streams.endIndex {
      let record = streams.values[index]
      if !record.inboundFinished, record.stream.waitingForRequest.load(ordering: .relaxed),
        record.messages == record.messagesAtSweep
      {
        if let since = record.idleSince {
          if now - since >= configuration.streamIdleTimeout { idle.append(streams.keys[index]) }
        } else {
          streams.values[index].idleSince = now
        }
      } else {
        streams.values[index].idleSince = nil
        streams.values[index].messagesAtSweep = record.messages
      }
      streams.formIndex(after: &index)
    }
    for key in idle {
      end(
        key,
        RPCError(
          code: .cancelled,
          message: "No request message or HALF_CLOSE within \(configuration.streamIdleTimeout) (the stream idle limit)."
        ),
        answer: true
      )
    }
  }

  /// A `CREDIT 0` on one open stream of every connection with streams: harmless to a client
  /// (WIRE.md §4), and under `ZMQ_ROUTER_MANDATORY` it fails with `EHOSTUNREACH` once libzmq
  /// has dropped the connection (closed, or silent past the heartbeat timeout). The stream is
  /// one that has its HEADERS already, or else one whose handler has waited for the client
  /// for a whole probe interval, so that a client reading a fresh call never sees a CREDIT
  /// before the HEADERS.
  private func probePeers() {
    var probes: [StreamKey] = []
    for (routingID, peer) in peers where !peer.streams.isEmpty && !outbound.hasPending(for: routingID) {
      var chosen: StreamKey?
      for streamID in peer.streams {
        let key = StreamKey(routingID: routingID, streamID: streamID)
        guard let record = streams[key] else { continue }
        if record.headersSent {
          chosen = key
          break
        }
        if chosen == nil, let since = record.idleSince, now - since >= configuration.livenessProbeInterval {
          chosen = key
        }
      }
      if let chosen { probes.append(chosen) }
    }
    for key in probes { transmit(.credit(0), to: key) }
  }

  /// After many streams were freed glibc keeps the memory in its arenas; give it back.
  /// Measured (`HITECH_MEASURE=1`, `TransportMemoryMeasurement`): a client opening 10,000
  /// streams and disconnecting took RSS from 45 to 197 MiB; once they were freed it stayed at
  /// 204 MiB without the trim (reused, not leaked: later rounds stayed there) and fell to
  /// 59 MiB with it.
  private func trimHeapIfDrained() {
    let live = counters.liveStreams.load(ordering: .relaxed)
    liveStreamsPeak = max(liveStreamsPeak, live)
    guard live == 0 else { return }
    defer { liveStreamsPeak = 0 }
    guard liveStreamsPeak >= 256 else { return }
    HeapTrim.trim()
  }

  // MARK: - Receiving

  private func receiveAvailable() {
    if let error = socket.receiveWaiting(limit: Self.receiveBatch, { handle(frames: $0) }) {
      logger.error("receive failed", metadata: ["error": "\(error)"])
    }
  }

  private func handle(frames: [ZMQMessage]) {
    // A ROUTER always prepends the routing id; anything shorter is not from a peer.
    guard frames.count >= 2 else { return }
    let routingID = frames[0].bytes
    let payload = frames[1...]

    let decoded = WireMessage.decode(payload, maxMessageBytes: configuration.maxRequestMessageBytes)
    if peers[routingID] == nil {
      // Any answer it gets is counted against its client's budget.
      if case .failure(.unreadableHeader) = decoded {} else { peerIndex(routingID, frame: frames[1]) }
    }
    switch decoded {
    case .failure(.unreadableHeader(let reason)):
      logger.trace("dropped an unreadable message", metadata: ["reason": "\(reason)"])

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
        receive(bytes, on: key)
      case .halfClose:
        guard let index = streams.index(forKey: key), !streams.values[index].inboundFinished else { return }
        streams.values[index].inboundFinished = true
        let record = streams.values[index]
        if record.messages == 0 { record.stream.endedWithoutMessages.store(true, ordering: .relaxed) }
        record.stream.inbound.finish()
      case .cancel:
        guard let record = release(key) else { return }
        terminate(record, RPCError(code: .cancelled, message: "The client cancelled the RPC."))
      case .credit(let count):
        streams[key]?.stream.credit.add(Int(count))
      case .headers, .status:
        reject(key, .invalidArgument, "Clients may not send \(message.kind) frames.")
      }
    }
  }

  private func receive(_ bytes: [UInt8], on key: StreamKey) {
    guard let index = streams.index(forKey: key), !streams.values[index].inboundFinished else { return }
    streams.values[index].messages += 1
    streams.values[index].allowance -= 1
    guard streams.values[index].allowance >= 0 else {
      reject(
        key, .resourceExhausted,
        "The client sent more MESSAGE frames than its credit allows (a window of \(ZeroMQTransport.initialWindow), WIRE.md §4)."
      )
      return
    }
    let buffered = counters.bufferedBytes.load(ordering: .relaxed)
    guard buffered + bytes.count + ServerStream.messageOverhead <= configuration.maxBufferedRequestBytes else {
      reject(
        key, .resourceExhausted,
        "The server has \(configuration.maxBufferedRequestBytes) bytes of requests buffered for its handlers; try again later."
      )
      return
    }
    _ = streams.values[index].stream.yield(message: bytes)
  }

  private func open(_ key: StreamKey, method: String, metadata: Metadata, frame: ZMQMessage) {
    guard streams[key] == nil else {
      reject(key, .invalidArgument, "Stream \(key.streamID) is already open on this connection.")
      return
    }
    guard !draining else {
      answer(key, Status(code: .unavailable, message: "The server is shutting down."))
      return
    }
    let peerIndex = peerIndex(key.routingID, frame: frame)
    let client = peers.values[peerIndex].client
    guard budgets[client]!.opens.take(at: now, rate: configuration.openRate, burst: configuration.openBurst) else {
      answer(
        key,
        Status(
          code: .resourceExhausted,
          message: "Too many new calls from this client (at most \(configuration.openRate) a second, \(configuration.openBurst) at once, over all the connections of its CURVE key)."
        )
      )
      return
    }
    guard budgets[client]!.streams < configuration.maxStreamsPerConnection else {
      answer(
        key,
        Status(
          code: .resourceExhausted,
          message: "This client has \(configuration.maxStreamsPerConnection) calls open over the connections of its CURVE key, the most it may."
        )
      )
      return
    }
    guard streams.count < configuration.maxStreams else {
      answer(key, Status(code: .resourceExhausted, message: "The server has \(configuration.maxStreams) calls open, the most it takes."))
      return
    }
    var metadataBytes = 0
    for (key, value) in metadata {
      switch value {
      case .string(let text): metadataBytes += key.utf8.count + text.utf8.count
      case .binary(let bytes): metadataBytes += key.utf8.count + bytes.count
      }
    }
    guard metadataBytes <= configuration.maxRequestMetadataBytes else {
      answer(
        key,
        Status(
          code: .resourceExhausted,
          message: "The request metadata has \(metadataBytes) bytes; this server accepts at most \(configuration.maxRequestMetadataBytes)."
        )
      )
      return
    }
    var metadata = metadata
    let timeout: Duration?
    switch RequestMetadataCheck.check(&metadata) {
    case .success(let value): timeout = value
    case .failure(let problem):
      answer(key, Status(code: .invalidArgument, message: problem.message))
      return
    }
    // "/package.Service/Method"
    let path = method.dropFirst()
    guard let slash = path.lastIndex(of: "/"), slash != path.startIndex, path.index(after: slash) != path.endIndex else {
      answer(key, Status(code: .unimplemented, message: "Malformed method path \(method)."))
      return
    }
    let descriptor = MethodDescriptor(
      fullyQualifiedService: String(path[..<slash]),
      method: String(path[path.index(after: slash)...])
    )
    let peer = peers.values[peerIndex].identity

    let (requests, continuation) = AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>.makeStream()
    let stream = ServerStream(
      key: key, inbound: continuation, deadline: timeout.map { now.advanced(by: $0) }, counters: counters
    )
    continuation.yield(.metadata(metadata))
    streams[key] = Record(stream: stream)
    peers.values[peerIndex].streams.insert(key.streamID)
    budgets[client]!.streams += 1

    let inbound = ServerInbound(base: requests, stream: stream, commands: commands)
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
      _ = release(key)
      continuation.finish()
      transmit(.status(Status(code: .unavailable, message: "The server is shutting down."), [:]), to: key)
    }
  }
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
struct TokenBucket {
  var tokens: Double
  var updated: ContinuousClock.Instant

  /// Takes a token if there is one.
  mutating func take(at now: ContinuousClock.Instant, rate: Double, burst: Int) -> Bool {
    refill(at: now, rate: rate, burst: burst)
    guard tokens >= 1 else { return false }
    tokens -= 1
    return true
  }

  func isFull(at now: ContinuousClock.Instant, rate: Double, burst: Int) -> Bool {
    var copy = self
    copy.refill(at: now, rate: rate, burst: burst)
    return copy.tokens >= Double(burst)
  }

  private mutating func refill(at now: ContinuousClock.Instant, rate: Double, burst: Int) {
    let elapsed = now - updated
    guard elapsed > .zero else { return }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    tokens = min(Double(burst), tokens + seconds * rate)
    updated = now
  }
}

/// Messages the ROUTER could not take yet (`EAGAIN`: that connection is at its high-water
/// mark), queued per connection so that one connection that does not read never holds up
/// replies to the others.
struct PeerOutboundQueue {
  private var pending: [[UInt8]: Deque<[ZMQMessage]>] = [:]

  var isEmpty: Bool { pending.isEmpty }

  func hasPending(for routingID: [UInt8]) -> Bool { pending[routingID] != nil }

  /// Sends `frames` (routing id first) now if nothing waits for that connection and libzmq
  /// takes them, else queues them. Returns how many wait for the connection. Throws what
  /// libzmq reports other than `EAGAIN`; the message is then dropped.
  mutating func send(_ frames: [ZMQMessage], to routingID: [UInt8], on socket: ZMQSocket) throws -> Int {
    if pending.isEmpty || pending[routingID] == nil {
      if try socket.send(frames, dontWait: true) { return 0 }
      pending[routingID] = [frames]
      return 1
    }
    pending[routingID]!.append(frames)
    return pending[routingID]!.count
  }

  /// Sends queued messages, per connection until libzmq would block. Returns the connections
  /// whose sends failed otherwise; their queues are dropped.
  mutating func flush(on socket: ZMQSocket) -> [([UInt8], any Error)] {
    var failures: [([UInt8], any Error)] = []
    for routingID in Array(pending.keys) {
      guard var queue = pending.removeValue(forKey: routingID) else { continue }
      do {
        while let frames = queue.first {
          guard try socket.send(frames, dontWait: true) else { break }
          queue.removeFirst()
        }
        if !queue.isEmpty { pending[routingID] = queue }
      } catch {
        failures.append((routingID, error))
      }
    }
    return failures
  }

  mutating func drop(_ routingID: [UInt8]) {
    pending.removeValue(forKey: routingID)
  }
}

/// glibc's `malloc_trim(0)`: returns free heap pages to the system. (Not in Swift's Glibc
/// module, so looked up once; a no-op where the C library has none.)
enum HeapTrim {
  private typealias Function = @convention(c) (Int) -> Int32
  private static let function: Function? = {
    #if canImport(Glibc)
    guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
    return unsafeBitCast(symbol, to: Function.self)
    #else
    return nil
    #endif
  }()

  static func trim() { _ = function?(0) }
}
