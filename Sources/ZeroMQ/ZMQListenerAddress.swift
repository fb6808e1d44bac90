import CZeroMQ

/// The local address of a bound `tcp://` or `ipc://` endpoint, to recognise the connections
/// its listener accepted by their descriptor (the value of a socket monitor's `ACCEPTED` and
/// `DISCONNECTED` events).
public struct ZMQListenerAddress: Sendable, Hashable {
  /// The TCP port, or 0 for an `ipc://` endpoint.
  public let port: Int32
  /// The unix socket path of an `ipc://` endpoint.
  public let path: String?

  /// The address of a bound endpoint with its port resolved (``ZMQSocket/lastEndpoint``), or
  /// nil for an endpoint whose connections take no descriptor (`inproc://`) or another transport.
  public init?(boundEndpoint: String) {
    if boundEndpoint.hasPrefix("tcp://"), let colon = boundEndpoint.lastIndex(of: ":"),
      let port = Int32(boundEndpoint[boundEndpoint.index(after: colon)...]), port > 0
    {
      self.port = port
      self.path = nil
    } else if boundEndpoint.hasPrefix("ipc://"), boundEndpoint.count > "ipc://".count {
      self.port = 0
      self.path = String(boundEndpoint.dropFirst("ipc://".count))
    } else {
      return nil
    }
  }

  /// Whether `fileDescriptor` is a connected socket accepted on this address (and not another
  /// descriptor that reuses the number).
  public func isAcceptedConnection(_ fileDescriptor: Int32) -> Bool {
    withPath { czmq_is_accepted_connection(fileDescriptor, port, $0) != 0 }
  }

  /// Shuts down both directions of a connection accepted on this address (`shutdown(2)`); the
  /// socket that owns it sees the connection end and closes the descriptor itself. False when
  /// `fileDescriptor` is not such a connection (nothing is done then).
  @discardableResult
  public func shutDownAcceptedConnection(_ fileDescriptor: Int32) -> Bool {
    withPath { czmq_shut_down_accepted_connection(fileDescriptor, port, $0) == 0 }
  }

  private func withPath<Result>(_ body: (UnsafePointer<CChar>?) -> Result) -> Result {
    if let path { return path.withCString { body($0) } }
    return body(nil)
  }
}
