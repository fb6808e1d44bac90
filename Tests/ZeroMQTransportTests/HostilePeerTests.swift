import Foundation
import GRPCCore
import Logging
import Synchronization
import Testing
import ZeroMQ
import ZeroMQTransport

/// What a client that breaks the rules of `proto-schemas/WIRE.md` gets, and that the server
/// stays up, frees what the client made it hold, and keeps serving everyone else.
@Suite("ZeroMQ transport: hostile peers", .timeLimit(.minutes(3)))
struct HostilePeerTests {
  static func configuration(
    _ change: (inout ZeroMQTransport.Server.Configuration) -> Void = { _ in }
  ) -> ZeroMQTransport.Server.Configuration {
    var configuration = ZeroMQTransport.Server.Configuration(logger: testLogger("server"))
    change(&configuration)
    return configuration
  }

  @Test(
    "a malformed grpc-timeout gets INVALID_ARGUMENT and the server keeps serving",
    arguments: ["-1S", "-5m", "+1S", "1 S", "S", "999999999S", "", "1s", "1.5S", "10", "１S", "1H "]
  )
  func malformedTimeout(value: String) async throws {
    try await withTransportServer(configuration: Self.configuration()) { _, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      try peer.unary(stream: 1, "hello", metadata: [("grpc-timeout", value)])
      let status = try await peer.status(of: 1)
      #expect(status?.code == 3)
      #expect(status?.message.contains("grpc-timeout") == true)
      try peer.unary(stream: 2, "still here", metadata: [("grpc-timeout", "5S")])
      #expect(try await peer.status(of: 2)?.code == 0)
    }
  }

  @Test("a repeated grpc-timeout gets INVALID_ARGUMENT; valid ones of 1 to 8 digits are served")
  func timeoutGrammar() async throws {
    try await withTransportServer(configuration: Self.configuration()) { _, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      try peer.unary(stream: 1, "x", metadata: [("grpc-timeout", "5S"), ("GRPC-TIMEOUT", "6S")])
      let repeated = try await peer.status(of: 1)
      #expect(repeated?.code == 3)
      #expect(repeated?.message.contains("grpc-timeout") == true)
      for (index, value) in ["1H", "99999999m", "00000005S", "12345678u", "99999999H"].enumerated() {
        let stream = UInt64(10 + index)
        try peer.unary(stream: stream, value, metadata: [("grpc-timeout", value)])
        #expect(try await peer.status(of: stream)?.code == 0, "grpc-timeout \(value)")
      }
    }
  }

  @Test("an 8-digit grpc-timeout is enforced, not dropped")
  func eightDigitTimeoutEnforced() async throws {
    try await withTransportServer(configuration: Self.configuration()) { _, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      // 10,000,000 µs = 10 s would be ignored by GRPCCore as written; no message arrives,
      // so only the deadline ends the call.
      try peer.open(stream: 1, metadata: [("grpc-timeout", "10000000u")])
      let status = try await peer.status(of: 1, timeout: .seconds(25))
      #expect(status?.code == 4)
    }
  }

  @Test("a handler waiting for requests is cancelled when the deadline passes")
  func deadlineWhileWaitingForRequests() async throws {
    try await withTransportServer(configuration: Self.configuration()) { transport, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      try peer.open(stream: 1, metadata: [("grpc-timeout", "500m")])
      let status = try await peer.status(of: 1)
      #expect(status?.code == 4)
      #expect(try await eventually { transport.activeStreamCount == 0 })
    }
  }

  @Test("a unary call without a request message gets INVALID_ARGUMENT")
  func emptyUnary() async throws {
    try await withTransportServer(configuration: Self.configuration()) { _, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      try peer.open(stream: 1, method: RawPeer.single)
      try peer.halfClose(stream: 1)
      let status = try await peer.status(of: 1)
      #expect(status?.code == 3)
      #expect(status?.message == "The call carried no request message.")
      // Other errors keep their codes.
      try peer.unary(stream: 2, "fail:13")
      #expect(try await peer.status(of: 2)?.code == 13)
    }
  }

  @Test("streams beyond the per-connection and the total limit get RESOURCE_EXHAUSTED")
  func streamLimits() async throws {
    let configuration = Self.configuration {
      $0.maxStreamsPerConnection = 4
      $0.maxStreams = 6
    }
    try await withTransportServer(configuration: configuration) { transport, endpoint in
      let first = try RawPeer(endpoint: endpoint)
      defer { first.close() }
      for stream in UInt64(1)...4 { try first.open(stream: stream) }
      try first.open(stream: 5)
      let perConnection = try await first.status(of: 5)
      #expect(perConnection?.code == 8)
      #expect(try await eventually { transport.statistics.openStreams == 4 })

      let second = try RawPeer(endpoint: endpoint)
      defer { second.close() }
      for stream in UInt64(1)...2 { try second.open(stream: stream) }
      try second.open(stream: 3)
      let total = try await second.status(of: 3)
      #expect(total?.code == 8)

      // Finishing a stream makes room again.
      try first.message(stream: 1, Array("done".utf8))
      try first.halfClose(stream: 1)
      #expect(try await first.status(of: 1)?.code == 0)
      try first.unary(stream: 6, "again")
      #expect(try await first.status(of: 6)?.code == 0)
    }
  }

  @Test("request metadata beyond the limit gets RESOURCE_EXHAUSTED")
  func metadataLimit() async throws {
    let configuration = Self.configuration { $0.maxRequestMetadataBytes = 1000 }
    try await withTransportServer(configuration: configuration) { transport, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      let pairs = (0..<20).map { ("x-note-\($0)", String(repeating: "v", count: 100)) }
      try peer.unary(stream: 1, "big", metadata: pairs)
      let status = try await peer.status(of: 1)
      #expect(status?.code == 8)
      #expect(status?.message.contains("metadata") == true)
      try peer.unary(stream: 2, "small", metadata: Array(pairs.prefix(5)))
      #expect(try await peer.status(of: 2)?.code == 0)
      #expect(try await eventually { transport.activeStreamCount == 0 })
    }
  }

  @Test("a stream that sends nothing within the idle limit is cancelled and freed")
  func idleStream() async throws {
    let configuration = Self.configuration { $0.streamIdleTimeout = .milliseconds(500) }
    try await withTransportServer(configuration: configuration) { transport, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      try peer.open(stream: 1)
      let status = try await peer.status(of: 1)
      #expect(status?.code == 1)
      #expect(status?.message.contains("idle") == true)
      #expect(try await eventually { transport.activeStreamCount == 0 })
      // A server stream after HALF_CLOSE is not idle, however long it takes.
      try peer.open(stream: 2, method: "/test.Echo/Expand")
      try peer.message(stream: 2, Array("3".utf8))
      try peer.halfClose(stream: 2)
      #expect(try await peer.status(of: 2)?.code == 0)
    }
  }

  @Test("a client that disconnects with streams open frees them all")
  func disconnectFreesStreams() async throws {
    let configuration = Self.configuration { $0.livenessProbeInterval = .milliseconds(200) }
    try await withTransportServer(configuration: configuration) { transport, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      for stream in UInt64(1)...200 { try peer.open(stream: stream) }
      #expect(try await eventually { transport.statistics.openStreams == 200 })
      #expect(transport.activeStreamCount == 200)
      peer.close()
      #expect(try await eventually { transport.activeStreamCount == 0 })
      #expect(try await eventually { transport.statistics.peers == 0 })
      #expect(transport.statistics.openStreams == 0)
      #expect(transport.statistics.bufferedRequestBytes == 0)
    }
  }

  @Test("more new calls than the connection's rate allows get RESOURCE_EXHAUSTED")
  func openRateLimit() async throws {
    let configuration = Self.configuration {
      $0.openRate = 1
      $0.openBurst = 5
    }
    try await withTransportServer(configuration: configuration) { _, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      for stream in UInt64(1)...10 { try peer.unary(stream: stream, "call \(stream)") }
      var codes: [Int] = []
      for stream in UInt64(1)...10 {
        if let status = try await peer.status(of: stream) { codes.append(status.code) }
      }
      #expect(codes.filter { $0 == 0 }.count >= 5)
      #expect(codes.filter { $0 == 8 }.count >= 5)
      // Another connection has its own budget.
      try await withEchoClient(endpoint: endpoint) { client in
        let reply = try await client.get("other")
        #expect(reply == "other")
      }
    }
  }

  @Test("a client that ignores its credit window gets RESOURCE_EXHAUSTED")
  func windowViolation() async throws {
    try await withTransportServer(configuration: Self.configuration()) { transport, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      // Single reads at most two messages, so the server grants no credit beyond the
      // first window of 64.
      try peer.open(stream: 1, method: RawPeer.single)
      for index in 0..<100 { try peer.message(stream: 1, Array("m\(index)".utf8)) }
      let status = try await peer.status(of: 1)
      #expect(status?.code == 8)
      #expect(status?.message.contains("credit") == true)
      #expect(try await eventually { transport.activeStreamCount == 0 })
    }
  }

  @Test("request bytes buffered beyond the server's limit get RESOURCE_EXHAUSTED")
  func bufferedBytesLimit() async throws {
    let configuration = Self.configuration { $0.maxBufferedRequestBytes = 20_000 }
    try await withTransportServer(configuration: configuration) { transport, endpoint in
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      // Single reads at most two messages; 60 stay within the credit window.
      try peer.open(stream: 1, method: RawPeer.single)
      for _ in 0..<60 { try peer.message(stream: 1, [UInt8](repeating: 7, count: 1000)) }
      let status = try await peer.status(of: 1)
      #expect(status?.code == 8)
      #expect(status?.message.contains("buffered") == true)
      #expect(try await eventually { transport.activeStreamCount == 0 })
      #expect(transport.statistics.bufferedRequestBytes == 0)
    }
  }

  @Test("graceful shutdown ends even when a client vanished with a call open")
  func shutdownWithVanishedPeer() async throws {
    let configuration = Self.configuration { $0.shutdownGracePeriod = .seconds(2) }
    let transport = ZeroMQTransport.Server(endpoint: "tcp://127.0.0.1:*", configuration: configuration)
    let server = GRPCServer(transport: transport, services: [EchoService()])
    let ended = try await withThrowingTaskGroup(of: Bool.self) { group in
      group.addTask {
        try await server.serve()
        return true
      }
      let endpoint = try await transport.listeningEndpoint()
      let peer = try RawPeer(endpoint: endpoint)
      try peer.open(stream: 1, metadata: [("grpc-timeout", "3S")])
      try peer.open(stream: 2)
      #expect(try await eventually { transport.statistics.openStreams == 2 })
      peer.close()
      server.beginGracefulShutdown()
      group.addTask {
        try await Task.sleep(for: .seconds(30))
        return false
      }
      let first = try await group.next()!
      group.cancelAll()
      return first
    }
    #expect(ended, "listen did not return within 30 s of graceful shutdown")
  }

  @Test("graceful shutdown cancels calls still running after the grace period")
  func shutdownGracePeriod() async throws {
    let configuration = Self.configuration { $0.shutdownGracePeriod = .milliseconds(500) }
    let transport = ZeroMQTransport.Server(endpoint: "tcp://127.0.0.1:*", configuration: configuration)
    let server = GRPCServer(transport: transport, services: [EchoService()])
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let endpoint = try await transport.listeningEndpoint()
      // A connected client whose call never sends its request.
      let peer = try RawPeer(endpoint: endpoint)
      defer { peer.close() }
      try peer.open(stream: 1)
      #expect(try await eventually { transport.statistics.openStreams == 1 })
      server.beginGracefulShutdown()
      let status = try await peer.status(of: 1)
      #expect(status?.code == 14)
      try await group.waitForAll()
    }
    #expect(transport.activeStreamCount == 0)
  }

  @Test("a flood of calls and garbage from one client does not stop another's calls")
  func flood() async throws {
    let configuration = Self.configuration { $0.livenessProbeInterval = .milliseconds(200) }
    try await withTransportServer(configuration: configuration) { transport, endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let peer = try RawPeer(endpoint: endpoint)
        var generator = SystemRandomNumberGenerator()
        var good = 0
        for round in 0..<20_000 {
          switch round % 4 {
          case 0: try peer.open(stream: UInt64(round), metadata: [("grpc-timeout", "-\(round)S")])
          case 1: try peer.open(stream: UInt64(round))
          case 2: try peer.message(stream: UInt64(round - 1), [UInt8](repeating: 1, count: 100))
          default:
            try peer.send(UInt8.random(in: 0...0x20, using: &generator), stream: UInt64.random(in: 0...100, using: &generator), [[1, 2, 3]])
          }
          if round % 500 == 0, try await client.get("during \(round)") == "during \(round)" { good += 1 }
        }
        #expect(good == 40)
        peer.close()
        let after = try await client.get("after")
        #expect(after == "after")
      }
      #expect(try await eventually { transport.activeStreamCount == 0 })
    }
  }
}

/// Opt-in (`HITECH_MEASURE=1`): the process's resident memory before, during and after a
/// client holds 10,000 streams open and disconnects. Run alone:
/// `HITECH_MEASURE=1 swift test --skip-build --filter TransportMemoryMeasurement`.
@Suite("ZeroMQ transport: memory after a hostile client", .timeLimit(.minutes(5)))
struct TransportMemoryMeasurement {
  @Test(
    "resident memory returns to near its level before 10,000 abandoned streams",
    .enabled(if: ProcessInfo.processInfo.environment["HITECH_MEASURE"] == "1")
  )
  func residentMemory() async throws {
    var configuration = ZeroMQTransport.Server.Configuration(logger: testLogger("server"))
    configuration.maxStreamsPerConnection = 20_000
    configuration.maxStreams = 20_000
    configuration.openRate = 1_000_000
    configuration.openBurst = 1_000_000
    try await withTransportServer(configuration: configuration) { transport, endpoint in
      // Warm up: one of everything once.
      try await withEchoClient(endpoint: endpoint) { client in _ = try await client.get("warm up") }
      for round in 1...3 {
        let before = residentBytes() ?? 0
        let peer = try RawPeer(endpoint: endpoint)
        for stream in UInt64(1)...10_000 { try peer.open(stream: stream) }
        #expect(try await eventually(within: .seconds(120)) { transport.statistics.openStreams == 10_000 })
        let during = residentBytes() ?? 0
        peer.close()
        #expect(try await eventually(within: .seconds(60)) { transport.activeStreamCount == 0 })
        try await Task.sleep(for: .seconds(2))
        let after = residentBytes() ?? 0
        print(
          "round \(round): RSS before \(before / 1_048_576) MiB, with 10,000 streams \(during / 1_048_576) MiB, after \(after / 1_048_576) MiB"
        )
        #expect(Double(after) <= 1.5 * Double(before))
      }
    }
  }
}

/// Opt-in (`HITECH_MEASURE=1`): a well-behaved client's call latency, alone and while another
/// connection floods the server with OPENs, bad timeouts and garbage. Prints the figures;
/// asserts only that every call succeeds. Run alone:
/// `HITECH_MEASURE=1 swift test --skip-build --filter TransportFairnessMeasurement`.
@Suite("ZeroMQ transport: latency beside a flooding client", .timeLimit(.minutes(5)))
struct TransportFairnessMeasurement {
  final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
  }

  static func latencies(_ client: GRPCClient<ZeroMQTransport.Client>, calls: Int) async throws -> [Duration] {
    var result: [Duration] = []
    for index in 0..<calls {
      let start = ContinuousClock.now
      let reply = try await client.get("call \(index)")
      result.append(ContinuousClock.now - start)
      #expect(reply == "call \(index)")
    }
    return result.sorted()
  }

  static func summary(_ sorted: [Duration]) -> String {
    func ms(_ d: Duration) -> String { String(format: "%.2f", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000) }
    return "p50 \(ms(sorted[sorted.count / 2])) ms, p99 \(ms(sorted[sorted.count * 99 / 100])) ms"
  }

  @Test(
    "a good client's latency beside a flooding one",
    .enabled(if: ProcessInfo.processInfo.environment["HITECH_MEASURE"] == "1")
  )
  func latencyUnderFlood() async throws {
    let configuration = ZeroMQTransport.Server.Configuration(logger: testLogger("server"))
    try await withTransportServer(configuration: configuration) { _, endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        _ = try await Self.latencies(client, calls: 100)
        let quiet = try await Self.latencies(client, calls: 1000)
        let stop = Flag()
        let sent = Counter()
        let flooder = Thread {
          guard let peer = try? RawPeer(endpoint: endpoint) else { return }
          var stream: UInt64 = 0
          while !stop.isSet {
            stream += 1
            switch stream % 4 {
            case 0: try? peer.open(stream: stream, metadata: [("grpc-timeout", "-1S")])
            case 1: try? peer.open(stream: stream)
            case 2: try? peer.message(stream: stream - 1, [UInt8](repeating: 1, count: 100))
            default: try? peer.send(0x07, stream: stream, [[1, 2, 3]])
            }
            sent.increment()
          }
          peer.close()
        }
        flooder.start()
        try await Task.sleep(for: .milliseconds(500))
        let flooded = try await Self.latencies(client, calls: 1000)
        stop.set()
        print("latency alone:        \(Self.summary(quiet))")
        print("latency beside flood: \(Self.summary(flooded)) (\(sent.value) flood messages sent)")
      }
    }
  }
}
