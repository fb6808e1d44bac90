import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import SwiftProtobuf
import Testing
import ZeroMQ
import ZeroMQTransport

/// A hostile peer against the real aggregator process: a raw DEALER (CURVE, registered key)
/// sends what no well-behaved client sends, and each test checks the daemon stays correct,
/// alive and fair to the good clients. One aggregator per test; the tests run one at a time
/// (the flood measures latency).
@Suite("Hostile peers against the aggregator process", .serialized, .timeLimit(.minutes(3)))
struct HostilePeerTests {
  static let ping = "/ndrc.hitech.v1.Diagnostics/Ping"
  static let reporter = "110000"
  /// The well-behaved client of ``expectServing(_:sourceLocation:)``: another node, since the
  /// limits a hostile peer exhausts are its own CURVE key's (WIRE.md §5).
  static let bystander = "310000"

  static func pingBytes(_ payload: [UInt8] = Array("hello".utf8)) throws -> [UInt8] {
    var request = Ndrc_Hitech_V1_PingRequest()
    request.payload = Data(payload)
    return try request.serializedBytes()
  }

  static func attacker(_ aggregator: AggregatorProcess, as reporter: String = reporter) throws -> RawPeer {
    try RawPeer(
      endpoint: aggregator.endpoint,
      keys: try #require(aggregator.nodeKeys[reporter]),
      serverKey: aggregator.serverKeys.publicKey
    )
  }

  /// A good client's Ping succeeds (the daemon is alive and serving).
  static func expectServing(_ aggregator: AggregatorProcess, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    #expect(aggregator.isRunning, "the aggregator died: \(aggregator.log().suffix(2000))", sourceLocation: sourceLocation)
    let payload = try await aggregator.withNode(bystander) { client in
      var options = CallOptions.defaults
      options.timeout = .seconds(10)
      var request = Ndrc_Hitech_V1_PingRequest()
      request.payload = Data("still there".utf8)
      return try await Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client).ping(request, options: options).payload
    }
    #expect(payload == Data("still there".utf8), sourceLocation: sourceLocation)
  }

  // MARK: - 1. Deadlines

  @Test(
    "an OPEN with a malformed grpc-timeout is answered INVALID_ARGUMENT, and the daemon keeps serving",
    arguments: ["-1S", "-5m", "+1S", "1 S", "S", "999999999S", ""]
  )
  func malformedTimeout(_ value: String) async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, Self.bystander])
    try await aggregator.start()
    let peer = try Self.attacker(aggregator)
    try await peer.open(1, method: Self.ping, metadata: [("grpc-timeout", value)])
    try await peer.message(1, try Self.pingBytes())
    try await peer.halfClose(1)
    let status = try await peer.status(of: 1)
    #expect(status?.code == 3, "grpc-timeout \"\(value)\": \(status.map(\.description) ?? "no STATUS")")
    try await Self.expectServing(aggregator)
    #expect(await aggregator.terminate(within: .seconds(30)) == 0)
  }

  // MARK: - 2. Abandoned streams

  @Test("10,000 OPENs never half-closed, then the peer leaves: the daemon's memory comes back")
  func abandonedStreams() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, Self.bystander])
    try await aggregator.start()
    let pid = try #require(aggregator.processIdentifier)
    for _ in 0..<20 { try await Self.expectServing(aggregator) }
    let before = try #require(Self.residentKiB(pid))

    let peer = try Self.attacker(aggregator)
    let opens = (UInt64(1)...10_000).map { stream in
      [RawPeer.header(RawPeer.Kind.open.rawValue, stream: stream), Array(Self.ping.utf8)]
    }
    try await peer.sendAll(opens)
    // Give the daemon time to take the OPENs in.
    try await Task.sleep(for: .seconds(2))
    try await Self.expectServing(aggregator)
    let loaded = Self.residentKiB(pid) ?? 0
    await peer.vanish()

    // The transport notices the lost peer (heartbeats) and frees what its streams held.
    var after = Self.residentKiB(pid) ?? .max
    let deadline = ContinuousClock.now + .seconds(60)
    while after > before * 3 / 2 && ContinuousClock.now < deadline {
      try await Task.sleep(for: .seconds(1))
      after = Self.residentKiB(pid) ?? .max
    }
    #expect(
      after <= before * 3 / 2,
      "VmRSS \(before) KiB before, \(loaded) KiB with 10,000 open streams, still \(after) KiB a minute after the peer left")
    // The status file (rewritten every 2 s) says the transport holds no stream any more.
    var streams = Self.statusStreams(aggregator)
    let settled = ContinuousClock.now + .seconds(20)
    while streams != 0 && ContinuousClock.now < settled {
      try await Task.sleep(for: .milliseconds(500))
      streams = Self.statusStreams(aggregator)
    }
    #expect(streams == 0, "the status file says \(streams.map(String.init) ?? "nothing") streams")
    try await Self.expectServing(aggregator)
    #expect(await aggregator.terminate(within: .seconds(30)) == 0)
  }

  /// The `streams` count of the aggregator's status file.
  static func statusStreams(_ aggregator: AggregatorProcess) -> Int? {
    guard let data = FileManager.default.contents(atPath: aggregator.statusPath),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return nil }
    return object["streams"] as? Int
  }

  /// `VmRSS` of a process, in KiB.
  static func residentKiB(_ pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
      return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
    return nil
  }

  // MARK: - 3. Shutdown with a vanished peer

  @Test("a peer opens a call and vanishes; SIGTERM still stops the daemon with status 0")
  func shutdownAfterVanishedPeer() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, Self.bystander])
    try await aggregator.start()
    let peer = try Self.attacker(aggregator)
    try await peer.open(1, method: Self.ping)
    try await peer.open(2, method: "/ndrc.hitech.v1.ReportIngest/Submit")
    try await Self.expectServing(aggregator)  // the OPENs have arrived
    await peer.vanish()
    // The daemon must not wait for requests that will never come: it stops within its grace
    // period (10 s, WIRE.md §5) and a margin for a loaded machine.
    let status = await aggregator.terminate(within: .seconds(25))
    #expect(status == 0, "exit status \(status.map(String.init) ?? "none: still running 25 s after SIGTERM"); log: \(aggregator.log().suffix(2000))")
  }

  // MARK: - 4. Revocation on a live connection

  @Test("a key retired with the CLI stops a connection opened before: UNAUTHENTICATED, nothing stored")
  func revocationOnLiveConnection() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, "440300", Self.bystander])
    try await aggregator.start(answeringAs: Self.reporter)
    let (before, after) = try await aggregator.withNode(Self.reporter) { client in
      let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
      var options = CallOptions.defaults
      options.timeout = .seconds(10)
      // The connection is open and authenticated: a first report is stored.
      let first = try await ingest.submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01"), options: options)
      // Another process retires the key while this connection stays open.
      try aggregator.runCLI(["registry", "retire-key", "--public-key", aggregator.publicKeyPath(Self.reporter)])
      try await Task.sleep(for: .seconds(3))  // the 2 s promise, plus a margin
      let late = try SampleSubmissions.submission(base: "SAMPLE-110000-02")
      let refused = await #expect(throws: RPCError.self) {
        try await ingest.submit(late, options: options)
      }
      #expect(refused?.code == .unauthenticated, "\(refused.map { "\($0)" } ?? "accepted")")
      return (first.submissionID, late.submissionID)
    }
    let stored = try await aggregator.storedSubmissionIds(reporter: Self.reporter, years: [2025])
    #expect(stored[before] == 1)
    #expect(stored[after] == nil, "the submission after the retirement was stored")
    // Another reporter's node is not affected.
    let identity = try await aggregator.withNode("440300") { client in
      try await Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client).whoAmI(Ndrc_Hitech_V1_WhoAmIRequest()).authenticatedIdentity
    }
    #expect(identity == "440300")
    #expect(await aggregator.terminate(within: .seconds(30)) == 0)
  }

  // MARK: - 5. Flood

  @Test("a 30 s flood of garbage and OPENs from one peer leaves a good client's p99 below 3× its quiet p99")
  func flood() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, "440300", Self.bystander])
    try await aggregator.start()
    let quiet = try await Self.pingLatencies(aggregator, for: .seconds(5))
    let flooder = try Self.attacker(aggregator, as: "440300")
    let stop = Flag()
    let pingRequest = try Self.pingBytes()
    let flooding = Task.detached {
      var stream: UInt64 = 1
      var sent = 0
      var generator = SystemRandomNumberGenerator()
      while !stop.isSet {
        var batch: [[[UInt8]]] = []
        var lastCall: UInt64 = 0
        for _ in 0..<200 {
          switch stream % 4 {
          case 0:  // garbage: no header at all
            batch.append([(0..<Int.random(in: 1...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }])
          case 1:  // a header of an unknown kind, with junk
            batch.append([RawPeer.header(0x7F, stream: stream), [UInt8](repeating: 0xAB, count: 32)])
          case 2:  // an OPEN cancelled at once
            batch.append([RawPeer.header(RawPeer.Kind.open.rawValue, stream: stream), Array(Self.ping.utf8)])
            batch.append([RawPeer.header(RawPeer.Kind.cancel.rawValue, stream: stream)])
          default:  // a whole call
            batch.append([RawPeer.header(RawPeer.Kind.open.rawValue, stream: stream), Array(Self.ping.utf8)])
            batch.append([RawPeer.header(RawPeer.Kind.message.rawValue, stream: stream), pingRequest])
            batch.append([RawPeer.header(RawPeer.Kind.halfClose.rawValue, stream: stream)])
            lastCall = stream
          }
          stream += 1
        }
        try await flooder.sendAll(batch)
        sent += batch.count
        // As fast as the daemon answers, but never more than one batch ahead of it: the flood
        // must load the daemon, not fill the machine's memory with queued calls.
        _ = try await flooder.status(of: lastCall, timeout: .seconds(10))
      }
      return sent
    }
    try await Task.sleep(for: .seconds(1))  // the flood is on
    let flooded = try await Self.pingLatencies(aggregator, for: .seconds(29))
    stop.set()
    let sent = try await flooding.value
    let quietP99 = Self.percentile99(quiet)
    let floodedP99 = Self.percentile99(flooded)
    #expect(
      floodedP99 < quietP99 * 3,
      "p99 \(floodedP99) under the flood (\(flooded.count) pings) vs \(quietP99) quiet (\(quiet.count) pings); \(sent) flood messages")
    try await Self.expectServing(aggregator)
    #expect(await aggregator.terminate(within: .seconds(30)) == 0)
  }

  /// Sequential Pings on one connection for `duration`, 10 ms apart (well below the server's
  /// limit on new calls per connection): each one's round trip.
  static func pingLatencies(_ aggregator: AggregatorProcess, for duration: Duration) async throws -> [Duration] {
    try await aggregator.withNode(reporter) { client in
      let diagnostics = Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client)
      var options = CallOptions.defaults
      options.timeout = .seconds(10)
      let request = Ndrc_Hitech_V1_PingRequest()
      _ = try await diagnostics.ping(request, options: options)  // connected
      var latencies: [Duration] = []
      let clock = ContinuousClock()
      let end = clock.now + duration
      while clock.now < end {
        let started = clock.now
        _ = try await diagnostics.ping(request, options: options)
        latencies.append(clock.now - started)
        try await Task.sleep(for: .milliseconds(10))
      }
      return latencies
    }
  }

  static func percentile99(_ values: [Duration]) -> Duration {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .zero }
    return sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
  }

  // MARK: - Per-client limits: one CURVE key, however many connections

  /// `n` OPENs of Ping on streams `first…`, without a request or HALF_CLOSE: the calls stay open.
  static func heldOpens(from first: UInt64, count: Int) -> [[[UInt8]]] {
    (first..<first + UInt64(count)).map { [RawPeer.header(RawPeer.Kind.open.rawValue, stream: $0), Array(ping.utf8)] }
  }

  @Test("a second connection with the same CURVE key shares the first one's 1,024 streams; another key does not")
  func streamsPerKeyAcrossConnections() async throws {
    let other = "120000"
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, other, Self.bystander])
    try await aggregator.start()
    let first = try Self.attacker(aggregator)
    try await first.sendAll(Self.heldOpens(from: 1, count: 1000))
    var streams = Self.statusStreams(aggregator) ?? 0
    let settled = ContinuousClock.now + .seconds(30)
    while streams < 1000 && ContinuousClock.now < settled {
      try await Task.sleep(for: .milliseconds(200))
      streams = Self.statusStreams(aggregator) ?? 0
    }
    try #require(streams >= 1000, "the aggregator holds \(streams) streams, not the first connection's 1,000")
    // Let the OPEN bucket refill (1,000 at 500 a second): only the stream limit is left to hit.
    try await Task.sleep(for: .seconds(3))

    let second = try Self.attacker(aggregator)
    try await second.sendAll(Self.heldOpens(from: 1, count: 200))
    let refused = try await second.statuses().filter { $0.code == 8 }
    // 1,024 streams per key: 24 more fit, 176 do not (before, each connection had its own 1,024).
    #expect(refused.count >= 150 && refused.count <= 200, "\(refused.count) of 200 OPENs refused on the second connection")
    #expect(refused.allSatisfy { $0.message.contains("calls open") }, "\(refused.prefix(3))")

    let stranger = try Self.attacker(aggregator, as: other)
    try await stranger.sendAll(Self.heldOpens(from: 1, count: 200))
    let strangerRefused = try await stranger.statuses().filter { $0.code == 8 }
    #expect(strangerRefused.isEmpty, "another key's calls were refused: \(strangerRefused.prefix(3))")

    await first.vanish()
    await second.vanish()
    await stranger.vanish()
    // Once the server has noticed the connections are gone, their streams are freed and the
    // key (the good client below uses it too) has its budget back.
    let freed = ContinuousClock.now + .seconds(30)
    while (Self.statusStreams(aggregator) ?? 1) > 0 && ContinuousClock.now < freed {
      try await Task.sleep(for: .milliseconds(500))
    }
    try await Self.expectServing(aggregator)
    #expect(await aggregator.terminate(within: .seconds(30)) == 0)
  }

  @Test("reconnecting with the same CURVE key does not refill the OPEN token bucket")
  func openRatePerKeyAcrossReconnects() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, Self.bystander])
    try await aggregator.start()
    try await Self.expectServing(aggregator)
    try await Task.sleep(for: .seconds(3))  // the good client's OPENs are forgotten
    // Each call is opened and cancelled at once: it takes a token and holds no stream.
    func openAndCancel(_ count: Int) -> [[[UInt8]]] {
      (UInt64(1)...UInt64(count)).flatMap { stream in
        [[RawPeer.header(RawPeer.Kind.open.rawValue, stream: stream), Array(Self.ping.utf8)],
         [RawPeer.header(RawPeer.Kind.cancel.rawValue, stream: stream)]]
      }
    }
    // A whole Ping after the burst: its STATUS (OK, or RESOURCE_EXHAUSTED) comes once the
    // connection's earlier frames have all been read.
    let marker: UInt64 = 5000
    let markerCall = [
      [RawPeer.header(RawPeer.Kind.open.rawValue, stream: marker), Array(Self.ping.utf8)],
      [RawPeer.header(RawPeer.Kind.message.rawValue, stream: marker), try Self.pingBytes()],
      [RawPeer.header(RawPeer.Kind.halfClose.rawValue, stream: marker)],
    ]
    func refusals(_ statuses: [RawPeer.StatusFrame]) -> Int {
      statuses.filter { $0.code == 8 && $0.streamID != marker }.count
    }
    let started = ContinuousClock.now
    let first = try Self.attacker(aggregator)
    try await first.sendAll(openAndCancel(1000) + markerCall)
    let firstStatuses = try await first.statuses(until: marker)
    await first.vanish()
    let second = try Self.attacker(aggregator)  // a new connection: a new routing id
    try await second.sendAll(openAndCancel(1000) + markerCall)
    let secondStatuses = try await second.statuses(until: marker)
    let elapsed = ContinuousClock.now - started
    try #require(firstStatuses.last?.streamID == marker && secondStatuses.last?.streamID == marker, "a marker call got no STATUS")
    // A refused OPEN is answered; an accepted one took a token. Over both connections no more
    // calls can be taken than the burst (1,000) plus 500 a second for the time they took (and
    // the two markers): without a per-key bucket the second connection had a burst of its own.
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let accepted = 2000 - refusals(firstStatuses) - refusals(secondStatuses)
    print("OPEN bucket across a reconnect: \(accepted) of 2,000 calls taken in \(elapsed) (\(refusals(firstStatuses)) + \(refusals(secondStatuses)) refused)")
    #expect(
      Double(accepted) <= 1000 + 500 * seconds + 2,
      "\(accepted) calls taken in \(elapsed): the reconnected peer got a fresh budget")
    await second.vanish()
    try await Self.expectServing(aggregator)
    #expect(await aggregator.terminate(within: .seconds(30)) == 0)
  }

  // MARK: - 8. A unary call without its request

  @Test("a unary call half-closed without a request message is INVALID_ARGUMENT, not INTERNAL")
  func unaryWithoutRequest() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, Self.bystander])
    try await aggregator.start()
    let peer = try Self.attacker(aggregator)
    for (stream, method) in [(UInt64(1), Self.ping), (2, "/ndrc.hitech.v1.ReportIngest/Submit")] {
      try await peer.open(stream, method: method)
      try await peer.halfClose(stream)
      let status = try await peer.status(of: stream)
      #expect(status?.code == 3, "\(method): \(status.map(\.description) ?? "no STATUS")")
    }
    try await Self.expectServing(aggregator)
    #expect(await aggregator.terminate(within: .seconds(30)) == 0)
  }

  // MARK: - 9. Limits and the contract of Submit

  @Test("with the default limit a 4 MiB request is answered, and larger ones are RESOURCE_EXHAUSTED on a live connection")
  func messageSizeLimit() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, Self.bystander])
    try await aggregator.start()
    let limit = 4 * 1024 * 1024
    var configuration = ZeroMQTransport.Client.Configuration()
    configuration.maxRequestMessageBytes = 3 * limit
    try await aggregator.withNode(Self.reporter, configuration: configuration) { client in
      let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
      let diagnostics = Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client)
      var options = CallOptions.defaults
      options.timeout = .seconds(30)

      // Exactly 4 MiB: past the transport, answered by the service for what it says.
      let exact = try SampleSubmissions.submission(base: "SAMPLE-110000-01", serializedSize: limit)
      do {
        _ = try await ingest.submit(exact, options: options)
      } catch let error as RPCError {
        #expect(![.resourceExhausted, .unavailable, .deadlineExceeded].contains(error.code), "4 MiB: \(error)")
      }

      // One byte over, and twice the limit: RESOURCE_EXHAUSTED, and the connection still serves.
      for size in [limit + 1, 2 * limit] {
        let large = try SampleSubmissions.submission(base: "SAMPLE-110000-01", serializedSize: size)
        let refused = await #expect(throws: RPCError.self) { try await ingest.submit(large, options: options) }
        #expect(refused?.code == .resourceExhausted, "\(size) bytes: \(refused.map { "\($0)" } ?? "stored")")
        var ping = Ndrc_Hitech_V1_PingRequest()
        ping.payload = Data("after \(size)".utf8)
        #expect(try await diagnostics.ping(ping, options: options).payload == ping.payload)
      }
    }
    #expect(await aggregator.terminate(within: .seconds(30)) == 0)
  }

  @Test("a 65-character submission id is INVALID_ARGUMENT R-SUBMISSION-ID; 64 characters are taken")
  func submissionIdLength() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, Self.bystander])
    try await aggregator.start()
    try await aggregator.withNode(Self.reporter) { client in
      let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
      let long = try SampleSubmissions.submission(id: String(repeating: "a", count: 65), base: "SAMPLE-110000-01")
      let refused = await #expect(throws: RPCError.self) { try await ingest.submit(long) }
      #expect(refused?.code == .invalidArgument)
      #expect(refused?.message.hasPrefix("R-SUBMISSION-ID ") == true, "\(refused.map { "\($0)" } ?? "stored")")
      let longest = try SampleSubmissions.submission(id: String(repeating: "b", count: 64), base: "SAMPLE-110000-01")
      #expect(try await ingest.submit(longest).status == .accepted)
    }
    #expect(await aggregator.terminate(within: .seconds(30)) == 0)
  }

  @Test("a correction that replaces a revision that is not the latest is FAILED_PRECONDITION R-REVISION-STALE")
  func staleRevision() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, Self.bystander])
    try await aggregator.start()
    try await aggregator.withNode(Self.reporter) { client in
      let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
      let base = "SAMPLE-110000-01"
      _ = try await ingest.submit(try SampleSubmissions.submission(base: base))
      _ = try await ingest.submit(try SampleSubmissions.submission(base: base, revision: 2, replaces: 1, report: SampleSubmissions.report(scale: 110)))
      let stale = try SampleSubmissions.submission(base: base, revision: 3, replaces: 1, report: SampleSubmissions.report(scale: 120))
      let refused = await #expect(throws: RPCError.self) { try await ingest.submit(stale) }
      #expect(refused?.code == .failedPrecondition)
      #expect(refused?.message.hasPrefix("R-REVISION-STALE") == true, "\(refused.map { "\($0)" } ?? "stored")")
    }
    #expect(await aggregator.terminate(within: .seconds(30)) == 0)
  }
}

/// A flag one task sets and another reads.
final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  var isSet: Bool { lock.withLock { value } }
  func set() { lock.withLock { value = true } }
}
