import CZeroMQ

/// A libzmq context: the container of I/O threads and of the `inproc://` namespace.
///
/// A context is thread-safe and may be shared freely. Every ``ZMQSocket`` keeps its context
/// alive, so the context is terminated (`zmq_ctx_term`) only after the last socket made from it
/// has been closed, and termination never blocks on a forgotten socket.
public final class ZMQContext: @unchecked Sendable {
  // zmq_ctx_* functions are documented as thread-safe; this class has no other state.
  let handle: UnsafeMutableRawPointer

  /// Makes a context with `ioThreads` background I/O threads (libzmq's default is 1).
  public init(ioThreads: Int = 1) throws {
    guard let handle = zmq_ctx_new() else {
      throw ZMQError.last("zmq_ctx_new")
    }
    self.handle = handle
    if ioThreads != 1 {
      guard zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(ioThreads)) == 0 else {
        let error = ZMQError.last("zmq_ctx_set(ZMQ_IO_THREADS)")
        zmq_ctx_term(handle)
        throw error
      }
    }
  }

  /// Makes every blocking call on this context's sockets return with `ETERM`, from any thread.
  /// Sockets must still be closed by their owners.
  public func shutdown() {
    zmq_ctx_shutdown(handle)
  }

  deinit {
    while zmq_ctx_term(handle) != 0 && czmq_errno() == czmq_eintr() {}
  }
}
