import Foundation
import GRPCCore
import ZeroMQ
import ZeroMQTransport

/// A client written from `proto-schemas/WIRE.md` on a bare DEALER socket, free to break the
/// rules: the hostile peer of the transport's robustness tests.
final class RawPeer {
  struct Frame {
    var kind: UInt8
    var streamID: UInt64
    var body: [[UInt8]]

    /// The STATUS code and message, if this is a STATUS.
    var status: (code: Int, message: String)? {
      guard kind == 0x12, body.count >= 2, body[0].count == 4 else { return nil }
      let code = body[0].reduce(0) { $0 << 8 | Int($1) }
      return (code, String(decoding: body[1], as: UTF8.self))
    }
  }

  static let get = "/test.Echo/Get"
  static let update = "/test.Echo/Update"
  static let single = "/test.Echo/Single"

  private let context: ZMQContext
  private let socket: ZMQSocket
  /// Statuses received while waiting for another stream's.
  private var statuses: [UInt64: (code: Int, message: String)] = [:]

  init(endpoint: String) throws {
    context = try ZMQContext()
    socket = try ZMQSocket(context: context, type: .dealer)
    try socket.set(.linger(.zero))
    try socket.connect(endpoint)
  }

  func close() { socket.close() }

  func send(_ kind: UInt8, stream: UInt64, _ body: [[UInt8]] = []) throws {
    var header: [UInt8] = [1, kind]
    withUnsafeBytes(of: stream.bigEndian) { header.append(contentsOf: $0) }
    // Blocks until the connection exists: a DEALER queues on a pending connection.
    _ = try socket.send([ZMQMessage(header)] + body.map { ZMQMessage($0) })
  }

  func open(stream: UInt64, method: String = RawPeer.get, metadata: [(String, String)] = []) throws {
    var body = [Array(method.utf8)]
    for (key, value) in metadata { body += [Array(key.utf8), Array(value.utf8)] }
    try send(0x01, stream: stream, body)
  }

  func message(stream: UInt64, _ bytes: [UInt8]) throws { try send(0x02, stream: stream, [bytes]) }
  func halfClose(stream: UInt64) throws { try send(0x03, stream: stream) }

  /// A whole unary call: OPEN, one MESSAGE, HALF_CLOSE.
  func unary(stream: UInt64, _ text: String, metadata: [(String, String)] = []) throws {
    try open(stream: stream, metadata: metadata)
    try message(stream: stream, Array(text.utf8))
    try halfClose(stream: stream)
  }

  /// The next message from the server within `timeout`, without blocking a thread of the
  /// cooperative pool for long.
  func receive(timeout: Duration) async throws -> Frame? {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
      if let frames = try socket.receiveMultipart(dontWait: true) {
        guard frames.count >= 1, frames[0].count == 10 else { continue }
        let header = frames[0].bytes
        let streamID = header[2...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Frame(kind: header[1], streamID: streamID, body: frames.dropFirst().map(\.bytes))
      }
      try await Task.sleep(for: .milliseconds(2))
    }
    return nil
  }

  /// The STATUS that ends `stream`, or nil if none arrives within `timeout`.
  func status(of stream: UInt64, timeout: Duration = .seconds(15)) async throws -> (code: Int, message: String)? {
    if let known = statuses.removeValue(forKey: stream) { return known }
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
      guard let frame = try await receive(timeout: deadline - ContinuousClock.now) else { return nil }
      guard let status = frame.status else { continue }
      if frame.streamID == stream { return status }
      statuses[frame.streamID] = status
    }
    return nil
  }
}

/// Runs the echo service on a server transport with `configuration`, giving `body` the
/// transport (for its statistics) and its endpoint.
func withTransportServer<Result: Sendable>(
  configuration: ZeroMQTransport.Server.Configuration,
  service: EchoService = EchoService(),
  _ body: @Sendable (ZeroMQTransport.Server, String) async throws -> Result
) async throws -> Result {
  let transport = ZeroMQTransport.Server(endpoint: "tcp://127.0.0.1:*", configuration: configuration)
  let server = GRPCServer(transport: transport, services: [service])
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await server.serve() }
    let bound = try await transport.listeningEndpoint()
    do {
      let result = try await body(transport, bound)
      server.beginGracefulShutdown()
      try await group.waitForAll()
      return result
    } catch {
      server.beginGracefulShutdown()
      try? await group.waitForAll()
      throw error
    }
  }
}

/// Waits until `condition` holds, checking every 20 ms, for at most `limit`. Returns whether it held.
func eventually(within limit: Duration = .seconds(30), _ condition: () -> Bool) async throws -> Bool {
  let deadline = ContinuousClock.now.advanced(by: limit)
  while ContinuousClock.now < deadline {
    if condition() { return true }
    try await Task.sleep(for: .milliseconds(20))
  }
  return condition()
}

/// The resident set size of this process, from `/proc/self/statm`.
func residentBytes() -> Int? {
  guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
  let fields = text.split(separator: " ")
  guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
  return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
