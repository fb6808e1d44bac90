import Dispatch
import Foundation
import ZeroMQ

/// The attacker: a raw DEALER socket that speaks the wire of `proto-schemas/WIRE.md` by hand,
/// frame by frame, so it can send what no well-behaved client sends. CURVE with a registered
/// key, so the server's ZAP handler admits it.
///
/// libzmq sockets are not thread-safe and their calls block, so the socket lives on its own
/// serial queue (never on Swift's cooperative pool); every method runs there.
final class RawPeer: @unchecked Sendable {
  enum Kind: UInt8 {
    case open = 0x01, message = 0x02, halfClose = 0x03, cancel = 0x04, credit = 0x05
    case headers = 0x11, status = 0x12
  }

  /// A STATUS frame the server sent.
  struct StatusFrame: Sendable, CustomStringConvertible {
    var streamID: UInt64
    var code: UInt32
    var message: String
    var description: String { "STATUS \(code) on stream \(streamID): \(message)" }
  }

  private let queue = DispatchQueue(label: "test.raw-peer")
  private let context: ZMQContext
  private var socket: ZMQSocket?

  init(endpoint: String, keys: CurveKeyPair, serverKey: CurveKey) throws {
    context = try ZMQContext()
    let socket = try ZMQSocket(context: context, type: .dealer)
    try socket.set(.linger(.zero))
    try socket.set(.curvePublicKey(keys.publicKey))
    try socket.set(.curveSecretKey(keys.secretKey))
    try socket.set(.curveServerKey(serverKey))
    try socket.set(.sendHighWaterMark(10_000))
    try socket.set(.sendTimeout(.seconds(5)))
    try socket.connect(endpoint)
    self.socket = socket
  }

  deinit {
    socket?.close()
  }

  static func header(_ kind: UInt8, stream: UInt64) -> [UInt8] {
    var bytes: [UInt8] = [0x01, kind]
    for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: stream >> UInt64(shift))) }
    return bytes
  }

  /// Sends one multipart message; false when it could not be queued within the send timeout.
  @discardableResult
  func send(_ frames: [[UInt8]]) async throws -> Bool {
    try await run { socket in try socket.send(frames.map { ZMQMessage($0) }) }
  }

  /// Sends many messages in a row on the peer's queue (no hop per message).
  func sendAll(_ messages: [[[UInt8]]]) async throws {
    try await run { socket in
      for frames in messages { _ = try socket.send(frames.map { ZMQMessage($0) }) }
    }
  }

  func open(_ stream: UInt64, method: String, metadata: [(String, String)] = []) async throws {
    var frames = [Self.header(Kind.open.rawValue, stream: stream), Array(method.utf8)]
    for (key, value) in metadata { frames.append(Array(key.utf8)); frames.append(Array(value.utf8)) }
    try await send(frames)
  }

  func message(_ stream: UInt64, _ bytes: [UInt8]) async throws {
    try await send([Self.header(Kind.message.rawValue, stream: stream), bytes])
  }

  func halfClose(_ stream: UInt64) async throws {
    try await send([Self.header(Kind.halfClose.rawValue, stream: stream)])
  }

  /// Reads messages until the STATUS of `stream`, or `nil` after `timeout` without one.
  func status(of stream: UInt64, timeout: Duration = .seconds(10)) async throws -> StatusFrame? {
    try await run { socket in
      let deadline = ContinuousClock.now + timeout
      while ContinuousClock.now < deadline {
        let remaining = deadline - ContinuousClock.now
        try socket.set(.receiveTimeout(min(remaining, .milliseconds(200))))
        guard let frames = try socket.receiveMultipart() else { continue }
        guard let status = Self.statusFrame(frames.map(\.bytes)), status.streamID == stream else { continue }
        return status
      }
      return nil
    }
  }

  /// Every STATUS the server sends until the one of stream `last` (or, without `last`, until
  /// it has been silent for `quiet`), within `limit`.
  func statuses(until last: UInt64? = nil, quiet: Duration = .seconds(2), limit: Duration = .seconds(60)) async throws -> [StatusFrame] {
    try await run { socket in
      var statuses: [StatusFrame] = []
      let end = ContinuousClock.now + limit
      var lastHeard = ContinuousClock.now
      while ContinuousClock.now < end, last != nil || ContinuousClock.now - lastHeard < quiet {
        try socket.set(.receiveTimeout(.milliseconds(100)))
        guard let frames = try socket.receiveMultipart() else { continue }
        lastHeard = ContinuousClock.now
        guard let status = Self.statusFrame(frames.map(\.bytes)) else { continue }
        statuses.append(status)
        if status.streamID == last { break }
      }
      return statuses
    }
  }

  /// Discards whatever the server sent so far.
  func drain() async throws {
    try await run { socket in
      while try socket.receiveMultipart(dontWait: true) != nil {}
    }
  }

  /// Closes the socket at once (linger 0): to the server the peer vanishes.
  func vanish() async {
    _ = try? await run { socket in
      socket.close()
    }
    socket = nil
  }

  static func statusFrame(_ frames: [[UInt8]]) -> StatusFrame? {
    guard frames.count >= 3, frames[0].count == 10, frames[0][1] == Kind.status.rawValue, frames[1].count == 4 else {
      return nil
    }
    let stream = frames[0][2...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    let code = frames[1].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    return StatusFrame(streamID: stream, code: code, message: String(decoding: frames[2], as: UTF8.self))
  }

  private func run<T: Sendable>(_ body: @escaping @Sendable (ZMQSocket) throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      queue.async {
        guard let socket = self.socket else {
          continuation.resume(throwing: ZMQError(errno: EBADF, operation: "RawPeer", message: "the socket is closed"))
          return
        }
        continuation.resume(with: Result { try body(socket) })
      }
    }
  }
}
