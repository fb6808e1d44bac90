import CZeroMQ

/// A libzmq context: the container of I/O threads and of the `inproc://` namespace.
///
/// A context is thread-safe and may be shared freely. Every ``ZMQSocket`` keeps its context
/// alive, so the context is terminated (`zmq_ctx_term`) only after the last socket made from it
/// has been closed, and termination never blocks on a forgotten socket.
///
/// Making the first context sets SIGPIPE to be ignored in the process (unless the process set
/// a disposition of its own): libzmq 4.3 writes to TCP connections without `MSG_NOSIGNAL`, so
/// a write to a connection its peer has just reset would otherwise end the process with
/// SIGPIPE; ignored, the write fails with `EPIPE` and libzmq drops that connection.
public final class ZMQContext: @unchecked Sendable {
  // zmq_ctx_* functions are documented as thread-safe; this class has no other state.
  let handle: UnsafeMutableRawPointer

  /// Makes a context with `ioThreads` background I/O threads (libzmq's default is 1).
  public init(ioThreads: Int = 1) throws {
    _ = Self.sigpipeIgnored
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

  /// Whether SIGPIPE is ignored (or handled) in this process; set once, by the first context.
  public static let sigpipeIgnored: Bool = czmq_ignore_sigpipe() != 0

  /// Makes every blocking call on this context's sockets return with `ETERM`, from any thread.
  /// Sockets must still be closed by their owners.
  public func shutdown() {
    zmq_ctx_shutdown(handle)
  }

  deinit {
    while zmq_ctx_term(handle) != 0 && czmq_errno() == czmq_eintr() {}
  }
}
