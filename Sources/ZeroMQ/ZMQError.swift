import CZeroMQ

/// An error reported by libzmq, or by this binding when its input cannot be used.
///
/// It carries what an operator needs to act: the operation that failed, the `errno` value and
/// libzmq's own description of it (`zmq_strerror`).
public struct ZMQError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The `errno` value libzmq reported, or 0 for an error raised by the binding itself.
  public var errno: Int32
  /// The operation that failed, e.g. `"zmq_bind(tcp://127.0.0.1:5555)"`.
  public var operation: String
  /// libzmq's description of `errno` (`zmq_strerror`), or the binding's own message.
  public var message: String

  public init(errno: Int32, operation: String, message: String) {
    self.errno = errno
    self.operation = operation
    self.message = message
  }

  /// The error libzmq reports for its last failed call on this thread.
  static func last(_ operation: @autoclosure () -> String) -> ZMQError {
    let code = czmq_errno()
    return ZMQError(errno: code, operation: operation(), message: String(cString: zmq_strerror(code)))
  }

  /// An error found by the binding before libzmq was called.
  static func invalidArgument(_ operation: String, _ message: String) -> ZMQError {
    ZMQError(errno: 0, operation: operation, message: message)
  }

  /// The context was terminated (`ETERM`): the socket must be closed.
  public var isContextTerminated: Bool { errno == czmq_eterm() }
  /// The operation would have blocked (`EAGAIN`).
  public var isWouldBlock: Bool { errno == czmq_eagain() }
  /// A ROUTER socket with `routerMandatory` could not route to the peer (`EHOSTUNREACH`).
  public var isHostUnreachable: Bool { errno == czmq_ehostunreach() }
  /// The call was interrupted by a signal (`EINTR`).
  public var isInterrupted: Bool { errno == czmq_eintr() }

  public var description: String {
    "\(operation) failed: \(message) (errno \(errno))"
  }
}

/// The version of the libzmq library linked at run time.
public enum ZMQVersion {
  public static var current: (major: Int, minor: Int, patch: Int) {
    var major: Int32 = 0
    var minor: Int32 = 0
    var patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return (Int(major), Int(minor), Int(patch))
  }

  /// Whether libzmq was built with a capability, e.g. `"curve"`, `"ipc"`, `"draft"`.
  public static func has(_ capability: String) -> Bool {
    zmq_has(capability) != 0
  }
}
