import GRPCCore
import ZeroMQ

/// gRPC calls carried over ZeroMQ.
///
/// ``ZeroMQTransport/Client`` is a grpc-swift-2 `ClientTransport` over one DEALER socket,
/// ``ZeroMQTransport/Server`` a `ServerTransport` over one ROUTER socket. Generated stubs,
/// interceptors, deadlines (`grpc-timeout` metadata), status codes and metadata work as over
/// HTTP/2. Many RPCs share one socket; every RPC is a stream of frames tagged with a stream id.
/// The frames are specified in `proto-schemas/WIRE.md`.
///
/// ## Threading
/// Each transport owns its sockets on one dedicated OS thread, which polls them with
/// `zmq_poll` beside an eventfd. Async code never touches a socket: it enqueues commands and
/// wakes the thread, and the thread yields received parts into `AsyncThrowingStream`s. No task
/// on Swift's cooperative pool ever blocks on libzmq.
///
/// ## Flow control
/// Each direction of each stream has a window of ``initialWindow`` messages; the receiver
/// returns credit as the application consumes messages, so a fast sender can never make the
/// other side buffer without bound.
public enum ZeroMQTransport {
  /// Messages a sender may send on a stream before it must wait for credit.
  public static let initialWindow = 64
}

@available(gRPCSwift 2.0, *)
extension ZeroMQTransport {
  /// How a socket authenticates.
  public struct Security: Sendable {
    enum Mode: Sendable {
      case plaintext
      case curveClient(keyPair: CurveKeyPair, serverPublicKey: CurveKey)
      case curveServer(keyPair: CurveKeyPair, policy: any ZAPPolicy, zapDomain: String)
    }

    let mode: Mode

    /// No encryption and no authentication (the NULL mechanism). For tests and loopback only.
    public static let plaintext = Security(mode: .plaintext)

    /// A CURVE client with its own long-term key pair, trusting the server's public key.
    /// With a wrong server key the handshake fails and calls fail with `unavailable`.
    public static func curveClient(keyPair: CurveKeyPair, serverPublicKey: CurveKey) -> Security {
      Security(mode: .curveClient(keyPair: keyPair, serverPublicKey: serverPublicKey))
    }

    /// A CURVE server whose ZAP handler asks `policy` about every client. The identity the
    /// policy returns reaches handlers as ``ZeroMQPeer/userID``. The server asks the policy
    /// again at every call (``ZAPPolicy/stillAllows(publicKey:userID:)``): a call on a
    /// connection whose key the policy no longer admits as the same identity is answered
    /// `unauthenticated` before any handler runs.
    public static func curveServer(
      keyPair: CurveKeyPair,
      policy: any ZAPPolicy,
      zapDomain: String = "global"
    ) -> Security {
      Security(mode: .curveServer(keyPair: keyPair, policy: policy, zapDomain: zapDomain))
    }
  }
}

/// What a server handler knows about the peer of an RPC, from the transport itself.
///
/// Read it with `context.zeroMQPeer`. A client cannot forge it: `userID` is what the server's
/// ZAP handler returned for the client's authenticated CURVE key, attached by libzmq to every
/// message of the connection; nothing in the client's frames or metadata can set it.
public struct ZeroMQPeer: ServerContext.TransportSpecific, Hashable {
  /// The identity the ZAP handler returned (`User-Id`), or `nil` on an unauthenticated socket.
  public var userID: String?
  /// The peer's network address (`Peer-Address`), e.g. `127.0.0.1`.
  public var address: String
  /// The routing id the ROUTER socket knows this connection by.
  public var routingID: [UInt8]
  /// The CURVE public key the connection authenticated with (the ZAP handler's
  /// `X-Curve-Key` metadata), or `nil` on an unauthenticated socket.
  public var curvePublicKey: CurveKey?

  public init(userID: String?, address: String, routingID: [UInt8], curvePublicKey: CurveKey? = nil) {
    self.userID = userID
    self.address = address
    self.routingID = routingID
    self.curvePublicKey = curvePublicKey
  }
}

@available(gRPCSwift 2.0, *)
extension ServerContext {
  /// The ZeroMQ peer of this RPC, when it arrived over ``ZeroMQTransport/Server``.
  public var zeroMQPeer: ZeroMQPeer? {
    transportSpecific as? ZeroMQPeer
  }
}
