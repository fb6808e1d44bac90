import Foundation
import ZeroMQ

/// The machine's limit for the transport: libzmq alone, a DEALER sending to a ROUTER that
/// echoes every message back, `inFlight` messages outstanding, on tcp loopback, with the
/// NULL mechanism or CURVE. No framing of ours, no Swift concurrency: two OS threads blocking
/// in libzmq. Each message is 64 bytes (about a Ping request) and carries its send time, so
/// the latency of every round trip is known.
enum RawZeroMQ {
  static let messageBytes = 64

  static func echo(curve: Bool, inFlight: Int, seconds: Double) throws -> LoadResult {
    let context = try ZMQContext()
    let serverKeys = try CurveKeyPair.generate()
    let clientKeys = try CurveKeyPair.generate()
    let ready = DispatchSemaphore(value: 0)
    let endpointBox = Box<String?>(nil)
    let serverThread = Thread {
      do {
        let router = try ZMQSocket(context: context, type: .router)
        try router.set(.linger(.zero))
        try router.set(.sendHighWaterMark(0))
        try router.set(.receiveHighWaterMark(0))
        if curve {
          try router.set(.curveServer(true))
          try router.set(.curveSecretKey(serverKeys.secretKey))
        }
        try router.bind("tcp://127.0.0.1:*")
        endpointBox.value = router.lastEndpoint
        ready.signal()
        while let frames = try router.receiveMultipart() {
          _ = try router.send(frames)
        }
        router.close()
      } catch {
        ready.signal()
      }
    }
    serverThread.start()
    ready.wait()
    guard let endpoint = endpointBox.value else { throw BenchFailure("the raw ROUTER did not bind") }

    let dealer = try ZMQSocket(context: context, type: .dealer)
    try dealer.set(.linger(.zero))
    try dealer.set(.sendHighWaterMark(0))
    try dealer.set(.receiveHighWaterMark(0))
    if curve {
      try dealer.set(.curveServerKey(serverKeys.publicKey))
      try dealer.set(.curvePublicKey(clientKeys.publicKey))
      try dealer.set(.curveSecretKey(clientKeys.secretKey))
    }
    try dealer.connect(endpoint)

    let clock = ContinuousClock()
    let origin = clock.now
    func send() throws {
      let nanos = UInt64((clock.now - origin).seconds * 1e9)
      let message = ZMQMessage(count: messageBytes)
      message.withUnsafeMutableBytes { buffer in
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        buffer.storeBytes(of: nanos, toByteOffset: 0, as: UInt64.self)
      }
      _ = try dealer.send(message)
    }
    func receive() throws -> Double {
      guard let frame = try dealer.receive() else { throw BenchFailure("the raw DEALER received nothing") }
      let sent = frame.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
      return (clock.now - origin).seconds - Double(sent) / 1e9
    }
    // One round trip first: the connection (and CURVE handshake) is made before timing starts.
    try send()
    _ = try receive()

    var latencies: [Double] = []
    latencies.reserveCapacity(200_000)
    let start = clock.now
    let end = start + .milliseconds(Int(seconds * 1000))
    for _ in 0..<inFlight { try send() }
    var outstanding = inFlight
    while outstanding > 0 {
      latencies.append(try receive())
      outstanding -= 1
      if clock.now < end {
        try send()
        outstanding += 1
      }
    }
    let elapsed = (clock.now - start).seconds
    dealer.close()
    context.shutdown()
    while !serverThread.isFinished { usleep(1000) }
    return LoadResult(calls: latencies.count, seconds: elapsed, failures: 0, latencies: latencies)
  }
}

final class Box<Value>: @unchecked Sendable {
  var value: Value
  init(_ value: Value) { self.value = value }
}

struct BenchFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
