import CZeroMQ

/// A socket option that can be set with ``ZMQSocket/set(_:)``.
///
/// Durations are rounded down to whole milliseconds, libzmq's unit. Options that libzmq reads
/// at `bind`/`connect` time (keys, heartbeats, reconnect intervals) must be set before those.
public enum ZMQSocketOption: Sendable {
  /// How long unsent messages linger after close; `nil` waits forever, `.zero` discards them.
  case linger(Duration?)
  /// The high-water mark of outbound messages per peer (0 = unlimited).
  case sendHighWaterMark(Int32)
  /// The high-water mark of inbound messages per peer (0 = unlimited).
  case receiveHighWaterMark(Int32)
  /// Peers sending a message larger than this are disconnected by libzmq (-1 = no limit).
  case maxMessageSize(Int64)
  /// Send a ZMTP PING after this much silence (`ZMQ_HEARTBEAT_IVL`).
  case heartbeatInterval(Duration)
  /// Close the connection when no traffic arrives this long after a PING (`ZMQ_HEARTBEAT_TIMEOUT`).
  case heartbeatTimeout(Duration)
  /// Ask the peer to time us out after this long without traffic (`ZMQ_HEARTBEAT_TTL`).
  case heartbeatTimeToLive(Duration)
  /// The first reconnection delay after a lost connection (`ZMQ_RECONNECT_IVL`).
  case reconnectInterval(Duration)
  /// The largest reconnection delay; delays double up to it (`ZMQ_RECONNECT_IVL_MAX`).
  case reconnectIntervalMax(Duration)
  /// Give up a TCP connect attempt after this long (`ZMQ_CONNECT_TIMEOUT`).
  case connectTimeout(Duration)
  /// The longest a security handshake may take (`ZMQ_HANDSHAKE_IVL`).
  case handshakeInterval(Duration)
  /// Queue outbound messages only on completed connections (`ZMQ_IMMEDIATE`).
  case immediate(Bool)
  /// Act as CURVE server (`ZMQ_CURVE_SERVER`); the socket's secret key must be set too.
  case curveServer(Bool)
  /// This socket's long-term public key (`ZMQ_CURVE_PUBLICKEY`).
  case curvePublicKey(CurveKey)
  /// This socket's long-term secret key (`ZMQ_CURVE_SECRETKEY`).
  case curveSecretKey(CurveKey)
  /// The server's public key, on a CURVE client (`ZMQ_CURVE_SERVERKEY`).
  case curveServerKey(CurveKey)
  /// The ZAP domain sent to the authentication handler (`ZMQ_ZAP_DOMAIN`).
  case zapDomain(String)
  /// The identity this socket announces to a ROUTER peer (`ZMQ_ROUTING_ID`).
  case routingID([UInt8])
  /// A ROUTER reports unroutable messages (`EHOSTUNREACH`) instead of dropping them.
  case routerMandatory(Bool)
  /// A SUB socket receives messages beginning with this prefix.
  case subscribe([UInt8])
  /// A SUB socket stops receiving messages beginning with this prefix.
  case unsubscribe([UInt8])
  /// Blocking sends give up with `EAGAIN` after this long; `nil` blocks forever.
  case sendTimeout(Duration?)
  /// Blocking receives give up with `EAGAIN` after this long; `nil` blocks forever.
  case receiveTimeout(Duration?)

  var name: String {
    switch self {
    case .linger: "ZMQ_LINGER"
    case .sendHighWaterMark: "ZMQ_SNDHWM"
    case .receiveHighWaterMark: "ZMQ_RCVHWM"
    case .maxMessageSize: "ZMQ_MAXMSGSIZE"
    case .heartbeatInterval: "ZMQ_HEARTBEAT_IVL"
    case .heartbeatTimeout: "ZMQ_HEARTBEAT_TIMEOUT"
    case .heartbeatTimeToLive: "ZMQ_HEARTBEAT_TTL"
    case .reconnectInterval: "ZMQ_RECONNECT_IVL"
    case .reconnectIntervalMax: "ZMQ_RECONNECT_IVL_MAX"
    case .connectTimeout: "ZMQ_CONNECT_TIMEOUT"
    case .handshakeInterval: "ZMQ_HANDSHAKE_IVL"
    case .immediate: "ZMQ_IMMEDIATE"
    case .curveServer: "ZMQ_CURVE_SERVER"
    case .curvePublicKey: "ZMQ_CURVE_PUBLICKEY"
    case .curveSecretKey: "ZMQ_CURVE_SECRETKEY"
    case .curveServerKey: "ZMQ_CURVE_SERVERKEY"
    case .zapDomain: "ZMQ_ZAP_DOMAIN"
    case .routingID: "ZMQ_ROUTING_ID"
    case .routerMandatory: "ZMQ_ROUTER_MANDATORY"
    case .subscribe: "ZMQ_SUBSCRIBE"
    case .unsubscribe: "ZMQ_UNSUBSCRIBE"
    case .sendTimeout: "ZMQ_SNDTIMEO"
    case .receiveTimeout: "ZMQ_RCVTIMEO"
    }
  }

  /// Applies the option to a raw socket handle.
  func apply(to socket: UnsafeMutableRawPointer) -> Int32 {
    switch self {
    case .linger(let value): return Self.set(socket, ZMQ_LINGER, Self.milliseconds(value))
    case .sendHighWaterMark(let value): return Self.set(socket, ZMQ_SNDHWM, value)
    case .receiveHighWaterMark(let value): return Self.set(socket, ZMQ_RCVHWM, value)
    case .maxMessageSize(let value): return Self.set(socket, ZMQ_MAXMSGSIZE, value)
    case .heartbeatInterval(let value): return Self.set(socket, ZMQ_HEARTBEAT_IVL, Self.milliseconds(value))
    case .heartbeatTimeout(let value): return Self.set(socket, ZMQ_HEARTBEAT_TIMEOUT, Self.milliseconds(value))
    case .heartbeatTimeToLive(let value): return Self.set(socket, ZMQ_HEARTBEAT_TTL, Self.milliseconds(value))
    case .reconnectInterval(let value): return Self.set(socket, ZMQ_RECONNECT_IVL, Self.milliseconds(value))
    case .reconnectIntervalMax(let value): return Self.set(socket, ZMQ_RECONNECT_IVL_MAX, Self.milliseconds(value))
    case .connectTimeout(let value): return Self.set(socket, ZMQ_CONNECT_TIMEOUT, Self.milliseconds(value))
    case .handshakeInterval(let value): return Self.set(socket, ZMQ_HANDSHAKE_IVL, Self.milliseconds(value))
    case .immediate(let value): return Self.set(socket, ZMQ_IMMEDIATE, Int32(value ? 1 : 0))
    case .curveServer(let value): return Self.set(socket, ZMQ_CURVE_SERVER, Int32(value ? 1 : 0))
    case .curvePublicKey(let key): return Self.set(socket, ZMQ_CURVE_PUBLICKEY, bytes: key.bytes)
    case .curveSecretKey(let key): return Self.set(socket, ZMQ_CURVE_SECRETKEY, bytes: key.bytes)
    case .curveServerKey(let key): return Self.set(socket, ZMQ_CURVE_SERVERKEY, bytes: key.bytes)
    case .zapDomain(let domain): return Self.set(socket, ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8))
    case .routingID(let bytes): return Self.set(socket, ZMQ_ROUTING_ID, bytes: bytes)
    case .routerMandatory(let value): return Self.set(socket, ZMQ_ROUTER_MANDATORY, Int32(value ? 1 : 0))
    case .subscribe(let prefix): return Self.set(socket, ZMQ_SUBSCRIBE, bytes: prefix)
    case .unsubscribe(let prefix): return Self.set(socket, ZMQ_UNSUBSCRIBE, bytes: prefix)
    case .sendTimeout(let value): return Self.set(socket, ZMQ_SNDTIMEO, Self.milliseconds(value))
    case .receiveTimeout(let value): return Self.set(socket, ZMQ_RCVTIMEO, Self.milliseconds(value))
    }
  }

  private static func milliseconds(_ duration: Duration?) -> Int32 {
    guard let duration else { return -1 }
    let (seconds, attoseconds) = duration.components
    let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
    return Int32(clamping: max(0, millis))
  }

  private static func set<Value>(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: Value) -> Int32 {
    withUnsafeBytes(of: value) { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
  }

  private static func set(_ socket: UnsafeMutableRawPointer, _ option: Int32, bytes: [UInt8]) -> Int32 {
    bytes.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
  }
}
