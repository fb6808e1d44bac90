import CZeroMQ

/// One event from a socket monitor (`zmq_socket_monitor`).
public struct ZMQSocketEvent: Sendable, Hashable, CustomStringConvertible {
  /// A set of monitor event kinds.
  public struct Kind: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let connected = Kind(rawValue: ZMQ_EVENT_CONNECTED)
    public static let connectDelayed = Kind(rawValue: ZMQ_EVENT_CONNECT_DELAYED)
    public static let connectRetried = Kind(rawValue: ZMQ_EVENT_CONNECT_RETRIED)
    public static let listening = Kind(rawValue: ZMQ_EVENT_LISTENING)
    public static let bindFailed = Kind(rawValue: ZMQ_EVENT_BIND_FAILED)
    public static let accepted = Kind(rawValue: ZMQ_EVENT_ACCEPTED)
    public static let acceptFailed = Kind(rawValue: ZMQ_EVENT_ACCEPT_FAILED)
    public static let closed = Kind(rawValue: ZMQ_EVENT_CLOSED)
    public static let closeFailed = Kind(rawValue: ZMQ_EVENT_CLOSE_FAILED)
    public static let disconnected = Kind(rawValue: ZMQ_EVENT_DISCONNECTED)
    public static let monitorStopped = Kind(rawValue: ZMQ_EVENT_MONITOR_STOPPED)
    public static let handshakeFailedNoDetail = Kind(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
    public static let handshakeSucceeded = Kind(rawValue: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
    public static let handshakeFailedProtocol = Kind(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
    public static let handshakeFailedAuth = Kind(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    public static let all = Kind(rawValue: ZMQ_EVENT_ALL)

    /// Any of the three handshake failures.
    public static let handshakeFailed: Kind = [.handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth]
  }

  public var kind: Kind
  /// The event's value: a file descriptor, an errno, a retry interval or, for
  /// `handshakeFailedAuth`, the ZAP status code, depending on the kind.
  public var value: UInt32
  /// The endpoint the event concerns.
  public var endpoint: String

  public init(kind: Kind, value: UInt32, endpoint: String) {
    self.kind = kind
    self.value = value
    self.endpoint = endpoint
  }

  /// Parses the two frames a monitor socket sends: 6 bytes (event `UInt16` and value
  /// `UInt32`, both in host byte order) and the endpoint.
  public init?(frames: [ZMQMessage]) {
    guard frames.count >= 2, frames[0].count == 6 else { return nil }
    let (event, value) = frames[0].withUnsafeBytes { buffer in
      (buffer.loadUnaligned(fromByteOffset: 0, as: UInt16.self),
       buffer.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
    }
    self.kind = Kind(rawValue: Int32(event))
    self.value = value
    self.endpoint = frames[1].string ?? ""
  }

  public var description: String {
    let names: [(Kind, String)] = [
      (.connected, "connected"), (.connectDelayed, "connect-delayed"), (.connectRetried, "connect-retried"),
      (.listening, "listening"), (.bindFailed, "bind-failed"), (.accepted, "accepted"),
      (.acceptFailed, "accept-failed"), (.closed, "closed"), (.closeFailed, "close-failed"),
      (.disconnected, "disconnected"), (.monitorStopped, "monitor-stopped"),
      (.handshakeFailedNoDetail, "handshake-failed"), (.handshakeSucceeded, "handshake-succeeded"),
      (.handshakeFailedProtocol, "handshake-failed-protocol"), (.handshakeFailedAuth, "handshake-failed-auth"),
    ]
    let name = names.first(where: { $0.0 == kind })?.1 ?? "event-\(kind.rawValue)"
    return "\(name)(\(value)) \(endpoint)"
  }
}

/// The reading end of a socket monitor: a PAIR socket connected to the endpoint given to
/// ``ZMQSocket/startMonitor(endpoint:events:)``. Owned by the same thread as the monitored socket.
public final class ZMQSocketMonitor {
  public let socket: ZMQSocket

  public init(context: ZMQContext, endpoint: String) throws {
    socket = try ZMQSocket(context: context, type: .pair)
    try socket.set(.linger(.zero))
    try socket.connect(endpoint)
  }

  /// The next event, or `nil` when none is waiting (with `dontWait`).
  public func nextEvent(dontWait: Bool = true) throws -> ZMQSocketEvent? {
    guard let frames = try socket.receiveMultipart(dontWait: dontWait) else { return nil }
    return ZMQSocketEvent(frames: frames)
  }
}
