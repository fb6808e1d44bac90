import CZeroMQ

/// A libzmq socket.
///
/// ## Threading
/// libzmq sockets are not thread-safe. A `ZMQSocket` is therefore not `Sendable`: it is made,
/// used and closed by one owner, normally a dedicated OS thread that polls it (see
/// ``ZMQPoller``) and hands results to async code. Never call a blocking receive from a task on
/// Swift's cooperative pool: it has one thread per core, and a blocked thread starves every
/// other task. Use `dontWait: true` with a poller instead.
///
/// The socket keeps its ``ZMQContext`` alive and closes itself on deinit, with whatever
/// ``ZMQSocketOption/linger(_:)`` it was given.
public final class ZMQSocket {
  public let type: ZMQSocketType
  public let context: ZMQContext
  private(set) var handle: UnsafeMutableRawPointer?

  public init(context: ZMQContext, type: ZMQSocketType) throws {
    guard let handle = zmq_socket(context.handle, type.rawValue) else {
      throw ZMQError.last("zmq_socket(\(type))")
    }
    self.context = context
    self.type = type
    self.handle = handle
  }

  deinit {
    close()
  }

  /// Closes the socket. Pending outbound messages are kept for the linger period by libzmq.
  public func close() {
    if let handle {
      zmq_close(handle)
      self.handle = nil
    }
  }

  /// Whether ``close()`` has been called.
  public var isClosed: Bool { handle == nil }

  func requireHandle(_ operation: @autoclosure () -> String) throws -> UnsafeMutableRawPointer {
    guard let handle else {
      throw ZMQError.invalidArgument(operation(), "the socket is closed")
    }
    return handle
  }

  // MARK: - Endpoints

  /// Binds to an endpoint such as `tcp://127.0.0.1:5555`, `tcp://127.0.0.1:*`, `ipc:///path`
  /// or `inproc://name`.
  public func bind(_ endpoint: String) throws {
    guard zmq_bind(try requireHandle("zmq_bind"), endpoint) == 0 else {
      throw ZMQError.last("zmq_bind(\(endpoint))")
    }
  }

  /// Connects to an endpoint. libzmq connects (and reconnects) in the background.
  public func connect(_ endpoint: String) throws {
    guard zmq_connect(try requireHandle("zmq_connect"), endpoint) == 0 else {
      throw ZMQError.last("zmq_connect(\(endpoint))")
    }
  }

  public func unbind(_ endpoint: String) throws {
    guard zmq_unbind(try requireHandle("zmq_unbind"), endpoint) == 0 else {
      throw ZMQError.last("zmq_unbind(\(endpoint))")
    }
  }

  public func disconnect(_ endpoint: String) throws {
    guard zmq_disconnect(try requireHandle("zmq_disconnect"), endpoint) == 0 else {
      throw ZMQError.last("zmq_disconnect(\(endpoint))")
    }
  }

  /// The endpoint last bound, with a wildcard port resolved (`ZMQ_LAST_ENDPOINT`).
  public var lastEndpoint: String? {
    guard let handle else { return nil }
    var buffer = [CChar](repeating: 0, count: 1024)
    var size = buffer.count
    guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return nil }
    return String(nullTerminated: buffer)
  }

  // MARK: - Options

  /// Sets a socket option.
  public func set(_ option: ZMQSocketOption) throws {
    guard option.apply(to: try requireHandle("zmq_setsockopt(\(option.name))")) == 0 else {
      throw ZMQError.last("zmq_setsockopt(\(option.name))")
    }
  }

  /// Reads an integer socket option, e.g. `ZMQ_EVENTS`.
  public func integerOption(_ option: Int32) throws -> Int32 {
    var value: Int32 = 0
    var size = MemoryLayout<Int32>.size
    guard zmq_getsockopt(try requireHandle("zmq_getsockopt"), option, &value, &size) == 0 else {
      throw ZMQError.last("zmq_getsockopt(\(option))")
    }
    return value
  }

  // MARK: - Sending

  /// Sends one frame. With `more`, further frames of the same message follow.
  ///
  /// - Returns: `false` if `dontWait` was set and the message could not be queued now
  ///   (`EAGAIN`: the high-water mark is reached, or no peer is connected).
  /// - Throws: ``ZMQError`` for any other failure, e.g. `EHOSTUNREACH` on a ROUTER with
  ///   ``ZMQSocketOption/routerMandatory(_:)`` when the peer is gone.
  @discardableResult
  public func send(_ frame: ZMQMessage, more: Bool = false, dontWait: Bool = false) throws -> Bool {
    let handle = try requireHandle("zmq_msg_send")
    var flags: Int32 = 0
    if more { flags |= ZMQ_SNDMORE }
    if dontWait { flags |= ZMQ_DONTWAIT }
    while true {
      if zmq_msg_send(frame.pointer, handle, flags) >= 0 { return true }
      let error = ZMQError.last("zmq_msg_send")
      if error.isInterrupted { continue }
      if error.isWouldBlock { return false }
      throw error
    }
  }

  /// Sends a multipart message. libzmq delivers all parts or none.
  ///
  /// - Returns: `false` if `dontWait` was set and the message could not be queued now; no
  ///   part was sent then.
  @discardableResult
  public func send(_ frames: [ZMQMessage], dontWait: Bool = false) throws -> Bool {
    precondition(!frames.isEmpty, "a ZeroMQ message has at least one frame")
    for (index, frame) in frames.enumerated() {
      let isLast = index == frames.count - 1
      // Once the first part is queued, libzmq accepts the rest of the message.
      let queued = try send(frame, more: !isLast, dontWait: dontWait && index == 0)
      if !queued { return false }
    }
    return true
  }

  /// Sends a single-frame message holding a copy of `bytes`.
  @discardableResult
  public func send(bytes: [UInt8], dontWait: Bool = false) throws -> Bool {
    try send(ZMQMessage(bytes), dontWait: dontWait)
  }

  // MARK: - Receiving

  /// Receives one frame.
  ///
  /// - Returns: `nil` if `dontWait` was set and nothing is waiting (or a receive timeout passed).
  public func receive(dontWait: Bool = false) throws -> ZMQMessage? {
    let handle = try requireHandle("zmq_msg_recv")
    let frame = ZMQMessage()
    while true {
      if zmq_msg_recv(frame.pointer, handle, dontWait ? ZMQ_DONTWAIT : 0) >= 0 { return frame }
      let error = ZMQError.last("zmq_msg_recv")
      if error.isInterrupted { continue }
      if error.isWouldBlock { return nil }
      throw error
    }
  }

  /// Receives all frames of one message.
  ///
  /// - Returns: `nil` if `dontWait` was set and no message is waiting. Once the first frame has
  ///   arrived the rest are already queued, so the remaining frames never wait.
  public func receiveMultipart(dontWait: Bool = false) throws -> [ZMQMessage]? {
    guard let first = try receive(dontWait: dontWait) else { return nil }
    var frames = [first]
    while frames[frames.count - 1].hasMore {
      guard let next = try receive(dontWait: false) else {
        throw ZMQError.invalidArgument("zmq_msg_recv", "a multipart message ended early")
      }
      frames.append(next)
    }
    return frames
  }

  /// Discards the remaining frames of a message whose first frames were received.
  public func discardRemainingFrames(after frame: ZMQMessage) throws {
    var more = frame.hasMore
    while more {
      guard let next = try receive() else { return }
      more = next.hasMore
    }
  }

  // MARK: - Monitoring

  /// Publishes this socket's connection events on a PAIR endpoint (`zmq_socket_monitor`).
  /// Connect a ``ZMQSocketMonitor`` to `endpoint` to read them.
  public func startMonitor(endpoint: String, events: ZMQSocketEvent.Kind = .all) throws {
    guard zmq_socket_monitor(try requireHandle("zmq_socket_monitor"), endpoint, events.rawValue) == 0 else {
      throw ZMQError.last("zmq_socket_monitor(\(endpoint))")
    }
  }
}
