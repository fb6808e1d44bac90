import CZeroMQ

/// A Linux eventfd: any thread may ``signal()`` it; the owner of a poll loop watches its
/// descriptor and ``drain()``s it. This is how async code wakes a socket-owning thread without
/// touching the socket.
package final class EventFD: Sendable {
  package let fileDescriptor: Int32

  package init() throws {
    let fd = czmq_eventfd_create()
    guard fd >= 0 else {
      throw ZMQError(errno: czmq_errno(), operation: "eventfd", message: "could not create an eventfd")
    }
    fileDescriptor = fd
  }

  deinit {
    close(fileDescriptor)
  }

  package func signal() {
    _ = czmq_eventfd_signal(fileDescriptor)
  }

  package func drain() {
    _ = czmq_eventfd_drain(fileDescriptor)
  }
}
