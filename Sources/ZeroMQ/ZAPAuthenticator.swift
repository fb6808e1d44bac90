import CZeroMQ
import Synchronization

/// A connection attempt that libzmq asks the ZAP handler about (RFC 27/ZAP).
public struct ZAPRequest: Sendable, Hashable {
  /// The server socket's ``ZMQSocketOption/zapDomain(_:)``.
  public var domain: String
  /// The peer's address, e.g. `127.0.0.1`.
  public var address: String
  /// The routing id the peer announced, if any.
  public var routingID: [UInt8]
  /// `"NULL"`, `"PLAIN"` or `"CURVE"`.
  public var mechanism: String
  /// The mechanism's credentials: for CURVE, one 32-byte public key.
  public var credentials: [[UInt8]]

  /// The client's long-term public key, for a CURVE handshake.
  public var curvePublicKey: CurveKey? {
    guard mechanism == "CURVE", let first = credentials.first else { return nil }
    return try? CurveKey(bytes: first)
  }
}

/// What a ``ZAPPolicy`` answers.
public enum ZAPDecision: Sendable, Hashable {
  /// Accept the peer; `userID` becomes the `User-Id` property of every message from it.
  case allow(userID: String)
  /// Refuse the peer; the client's handshake fails with `ZMQ_EVENT_HANDSHAKE_FAILED_AUTH`.
  case deny(reason: String)
}

/// Decides who may connect. Called on the authenticator's thread; must not block for long.
///
/// A connection is authenticated once, at its handshake; ``stillAllows(publicKey:userID:)``
/// lets a server ask again later (at every call) whether that connection's key is still
/// admitted as the same identity, so that revoking a key also ends what a connection opened
/// before the revocation may do.
public protocol ZAPPolicy: Sendable {
  func decide(_ request: ZAPRequest) -> ZAPDecision

  /// Whether a CURVE client authenticated earlier with `publicKey` as `userID` would still be
  /// admitted as `userID` now. Called for every new call of a connection; must not block.
  func stillAllows(publicKey: CurveKey, userID: String) -> Bool
}

extension ZAPPolicy {
  /// Asks ``decide(_:)`` again with a CURVE request for `publicKey` (no domain, no address):
  /// true when it allows the key as the same `userID`.
  public func stillAllows(publicKey: CurveKey, userID: String) -> Bool {
    let request = ZAPRequest(
      domain: "", address: "", routingID: [], mechanism: "CURVE", credentials: [publicKey.bytes]
    )
    if case .allow(let current) = decide(request) { return current == userID }
    return false
  }
}

/// A ZAP policy that accepts CURVE clients whose public key is listed, with the user id listed
/// beside it, and refuses everything else (other mechanisms included). The list can change at
/// run time; a change applies to new connections at once, and to calls on connections opened
/// before it when the server asks ``stillAllows(publicKey:userID:)`` (the ZeroMQ transport
/// does, at every call).
public final class CurveAllowList: ZAPPolicy {
  private let entries: Mutex<[CurveKey: String]>

  public init(_ entries: [CurveKey: String] = [:]) {
    self.entries = Mutex(entries)
  }

  /// Allows `key`, identified as `userID`.
  public func allow(_ key: CurveKey, as userID: String) {
    entries.withLock { $0[key] = userID }
  }

  /// Stops allowing `key`.
  public func revoke(_ key: CurveKey) {
    _ = entries.withLock { $0.removeValue(forKey: key) }
  }

  /// Replaces the whole list.
  public func replaceAll(with newEntries: [CurveKey: String]) {
    entries.withLock { $0 = newEntries }
  }

  public var count: Int { entries.withLock { $0.count } }

  public func decide(_ request: ZAPRequest) -> ZAPDecision {
    guard let key = request.curvePublicKey else {
      return .deny(reason: "mechanism \(request.mechanism) is not accepted; use CURVE")
    }
    guard let userID = entries.withLock({ $0[key] }) else {
      return .deny(reason: "public key \(key.z85) is not registered")
    }
    return .allow(userID: userID)
  }

  public func stillAllows(publicKey: CurveKey, userID: String) -> Bool {
    entries.withLock { $0[publicKey] } == userID
  }
}

/// A ZAP handler (RFC 27) for one context: a thread that owns a REP socket bound to
/// `inproc://zeromq.zap.01` and answers libzmq's authentication requests with a ``ZAPPolicy``.
///
/// An accepted CURVE client's reply carries, besides the `User-Id`, the metadata property
/// ``curveKeyProperty`` (its public key in Z85). libzmq attaches ZAP metadata to every message
/// of the connection, so a server reads it with `zmq_msg_gets` (``ZMQMessage/property(_:)``)
/// and knows which key a connection authenticated with, for as long as it lasts.
///
/// Start it before any server socket of the context accepts connections. A context has at
/// most one ZAP handler.
public final class ZAPAuthenticator: Sendable {
  public static let endpoint = "inproc://zeromq.zap.01"
  /// The connection metadata property naming the client's CURVE public key (40 characters of
  /// Z85), readable on every message of an accepted CURVE connection.
  public static let curveKeyProperty = "X-Curve-Key"

  /// What the handler thread and the owner share.
  private final class Shared: Sendable {
    let wakeup: EventFD
    let stopping = Atomic<Bool>(false)
    let decisions: Mutex<[(ZAPRequest, ZAPDecision)]>?

    init(recordDecisions: Bool) throws {
      wakeup = try EventFD()
      decisions = recordDecisions ? Mutex([]) : nil
    }
  }

  private let shared: Shared
  private let thread: Mutex<OSThread?> = Mutex(nil)

  /// - Parameter recordDecisions: keep every request and decision in memory, for tests.
  public init(context: ZMQContext, policy: any ZAPPolicy, recordDecisions: Bool = false) throws {
    let shared = try Shared(recordDecisions: recordDecisions)
    self.shared = shared
    let ready = OSSignal()
    let bindError = Mutex<ZMQError?>(nil)
    let thread = OSThread(name: "zmq-zap") {
      let socket: ZMQSocket
      do {
        socket = try ZMQSocket(context: context, type: .reply)
        try socket.set(.linger(.zero))
        try socket.bind(Self.endpoint)
      } catch {
        bindError.withLock { $0 = error as? ZMQError ?? ZMQError.invalidArgument("ZAP", "\(error)") }
        ready.signal()
        return
      }
      ready.signal()
      Self.serve(socket: socket, policy: policy, shared: shared)
      socket.close()
    }
    ready.wait()
    if let error = bindError.withLock({ $0 }) {
      thread.join()
      throw error
    }
    self.thread.withLock { $0 = thread }
  }

  /// Every request and decision so far, when made with `recordDecisions`.
  public var recordedDecisions: [(ZAPRequest, ZAPDecision)] {
    shared.decisions?.withLock { $0 } ?? []
  }

  /// Stops the handler thread and waits for it. Further handshakes on the context fail.
  public func stop() {
    shared.stopping.store(true, ordering: .releasing)
    shared.wakeup.signal()
    let thread = self.thread.withLock { value -> OSThread? in
      defer { value = nil }
      return value
    }
    thread?.join()
  }

  deinit {
    stop()
  }

  private static func serve(
    socket: ZMQSocket,
    policy: any ZAPPolicy,
    shared: Shared
  ) {
    let wakeup = shared.wakeup
    var poller = ZMQPoller()
    let socketIndex = poller.add(socket)
    poller.add(fileDescriptor: wakeup.fileDescriptor)
    while !shared.stopping.load(ordering: .acquiring) {
      do {
        try poller.poll(timeout: nil)
        wakeup.drain()
        guard poller.events(at: socketIndex).contains(.readable) else { continue }
        while let frames = try socket.receiveMultipart(dontWait: true) {
          try socket.send(reply(to: frames, policy: policy, decisions: shared.decisions))
        }
      } catch let error as ZMQError where error.isContextTerminated {
        return
      } catch {
        // A malformed request cannot stop authentication of the others.
        continue
      }
    }
  }

  /// Answers one request. A malformed request gets status 500 (when it can be answered at all).
  static func reply(
    to frames: [ZMQMessage],
    policy: any ZAPPolicy,
    decisions: borrowing Mutex<[(ZAPRequest, ZAPDecision)]>?
  ) -> [ZMQMessage] {
    let version = frames.first?.bytes ?? []
    let requestID = frames.count > 1 ? frames[1].bytes : []
    func answer(_ code: String, _ text: String, userID: String = "", metadata: [UInt8] = []) -> [ZMQMessage] {
      [ZMQMessage(string: "1.0"), ZMQMessage(requestID), ZMQMessage(string: code),
       ZMQMessage(string: text), ZMQMessage(string: userID), ZMQMessage(metadata)]
    }
    guard frames.count >= 6, version == Array("1.0".utf8) else {
      return answer("500", "malformed ZAP request")
    }
    let request = ZAPRequest(
      domain: frames[2].string ?? "",
      address: frames[3].string ?? "",
      routingID: frames[4].bytes,
      mechanism: frames[5].string ?? "",
      credentials: frames.dropFirst(6).map(\.bytes)
    )
    let decision = policy.decide(request)
    decisions?.withLock { $0.append((request, decision)) }
    switch decision {
    case .allow(let userID):
      var metadata: [UInt8] = []
      if let key = request.curvePublicKey {
        metadata = encodeProperties([(curveKeyProperty, Array(key.z85.utf8))])
      }
      return answer("200", "OK", userID: userID, metadata: metadata)
    case .deny(let reason):
      return answer("400", reason)
    }
  }

  /// ZMTP metadata (RFC 23/37, the format of RFC 27's metadata frame): for each property a
  /// 1-byte name length, the name, a 4-byte big-endian value length, the value.
  static func encodeProperties(_ properties: [(name: String, value: [UInt8])]) -> [UInt8] {
    var bytes: [UInt8] = []
    for (name, value) in properties {
      let nameBytes = Array(name.utf8)
      precondition(nameBytes.count <= 255, "a ZMTP property name has at most 255 bytes")
      bytes.append(UInt8(nameBytes.count))
      bytes.append(contentsOf: nameBytes)
      let count = UInt32(value.count)
      bytes.append(contentsOf: [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)])
      bytes.append(contentsOf: value)
    }
    return bytes
  }
}
