import CZeroMQ

/// The readiness a poller waits for, or reports.
public struct ZMQPollEvents: OptionSet, Sendable, Hashable {
  public let rawValue: Int16
  public init(rawValue: Int16) { self.rawValue = rawValue }

  public static let readable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
  public static let writable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// Waits on several sockets and file descriptors at once (`zmq_poll`).
///
/// Like the sockets it polls, a poller belongs to one thread. It blocks that thread, so it is
/// for a dedicated I/O thread, never for a task on the cooperative pool.
public struct ZMQPoller {
  private var items: [zmq_pollitem_t] = []
  // Keeps polled sockets alive while their raw handles are in `items`.
  private var sockets: [ZMQSocket?] = []

  public init() {}

  /// Adds a socket; returns its index for ``events(at:)``.
  @discardableResult
  public mutating func add(_ socket: ZMQSocket, events: ZMQPollEvents = .readable) -> Int {
    var item = zmq_pollitem_t()
    item.socket = socket.handle
    item.events = events.rawValue
    items.append(item)
    sockets.append(socket)
    return items.count - 1
  }

  /// Adds a plain file descriptor (an eventfd, a pipe); returns its index.
  @discardableResult
  public mutating func add(fileDescriptor: Int32, events: ZMQPollEvents = .readable) -> Int {
    var item = zmq_pollitem_t()
    item.fd = fileDescriptor
    item.events = events.rawValue
    items.append(item)
    sockets.append(nil)
    return items.count - 1
  }

  /// Changes what the item at `index` waits for.
  public mutating func setEvents(_ events: ZMQPollEvents, at index: Int) {
    items[index].events = events.rawValue
  }

  /// What the item at `index` was ready for after the last ``poll(timeout:)``.
  public func events(at index: Int) -> ZMQPollEvents {
    ZMQPollEvents(rawValue: items[index].revents)
  }

  /// Waits until an item is ready or `timeout` passes (`nil` waits forever).
  ///
  /// - Returns: the number of ready items; 0 after a timeout or an interrupting signal.
  @discardableResult
  public mutating func poll(timeout: Duration?) throws -> Int {
    let millis: Int
    if let timeout {
      let (seconds, attoseconds) = timeout.components
      // Round up so that a poll never returns before a timer it serves is due.
      millis = max(0, Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
    } else {
      millis = -1
    }
    let count = items.count
    let ready = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32(count), millis) }
    if ready < 0 {
      let error = ZMQError.last("zmq_poll")
      if error.isInterrupted { return 0 }
      throw error
    }
    return Int(ready)
  }
}
