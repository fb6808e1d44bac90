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
@Suite("Hostile peers against the aggregator process", .serialized)
struct HostilePeerTests {
  static let ping = "/ndrc.hitech.v1.Diagnostics/Ping"
  static let reporter = "110000"

  static func pingBytes(_ payload: [UInt8] = Array("hello".utf8)) throws -> [UInt8] {
    var request = Ndrc_Hitech_V1_PingRequest()
    request.payload = Data(payload)
    return try request.serializedBytes()
  }

  /// A good client's Ping succeeds (the daemon is alive and serving).
  static func expectServing(_ aggregator: AggregatorProcess, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    #expect(aggregator.isRunning, "the aggregator died: \(aggregator.log().suffix(2000))", sourceLocation: sourceLocation)
    let payload = try await aggregator.withNode(reporter) { client in
      var options = CallOptions.defaults
      options.timeout = .seconds(10)
      var request = Ndrc_Hitech_V1_PingRequest()
      request.payload = Data("still there".utf8)
      return try await Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client).ping(request, options: options).payload
    }
    #expect(payload == Data("still there".utf8), sourceLocation: sourceLocation)
  }

  // MARK: - 4. Revocation on a live connection

  @Test("a key retired with the CLI stops a connection opened before: UNAUTHENTICATED, nothing stored")
  func revocationOnLiveConnection() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter, "440300"])
    try await aggregator.start(answeringAs: Self.reporter)
    let (before, after) = try await aggregator.withNode(Self.reporter) { client in
      let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
      var options = CallOptions.defaults
      options.timeout = .seconds(10)
      // The connection is open and authenticated: a first report is stored.
      let first = try await ingest.submit(try HostileSamples.submission(base: "SAMPLE-110000-01"), options: options)
      // Another process retires the key while this connection stays open.
      try aggregator.runCLI(["registry", "retire-key", "--public-key", aggregator.publicKeyPath(Self.reporter)])
      try await Task.sleep(for: .seconds(3))  // the 2 s promise, plus a margin
      let late = try HostileSamples.submission(base: "SAMPLE-110000-02")
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
    #expect(aggregator.terminate() == 0)
  }

  // MARK: - 9. Limits and the contract of Submit

  @Test("with the default limit a 4 MiB request is answered, and larger ones are RESOURCE_EXHAUSTED on a live connection")
  func messageSizeLimit() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter])
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
      let exact = try HostileSamples.submission(base: "SAMPLE-110000-01", serializedSize: limit)
      do {
        _ = try await ingest.submit(exact, options: options)
      } catch let error as RPCError {
        #expect(![.resourceExhausted, .unavailable, .deadlineExceeded].contains(error.code), "4 MiB: \(error)")
      }

      // One byte over, and twice the limit: RESOURCE_EXHAUSTED, and the connection still serves.
      for size in [limit + 1, 2 * limit] {
        let large = try HostileSamples.submission(base: "SAMPLE-110000-01", serializedSize: size)
        let refused = await #expect(throws: RPCError.self) { try await ingest.submit(large, options: options) }
        #expect(refused?.code == .resourceExhausted, "\(size) bytes: \(refused.map { "\($0)" } ?? "stored")")
        var ping = Ndrc_Hitech_V1_PingRequest()
        ping.payload = Data("after \(size)".utf8)
        #expect(try await diagnostics.ping(ping, options: options).payload == ping.payload)
      }
    }
    #expect(aggregator.terminate() == 0)
  }

  @Test("a 65-character submission id is INVALID_ARGUMENT R-SUBMISSION-ID; 64 characters are taken")
  func submissionIdLength() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter])
    try await aggregator.start()
    try await aggregator.withNode(Self.reporter) { client in
      let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
      let long = try HostileSamples.submission(id: String(repeating: "a", count: 65), base: "SAMPLE-110000-01")
      let refused = await #expect(throws: RPCError.self) { try await ingest.submit(long) }
      #expect(refused?.code == .invalidArgument)
      #expect(refused?.message.hasPrefix("R-SUBMISSION-ID ") == true, "\(refused.map { "\($0)" } ?? "stored")")
      let longest = try HostileSamples.submission(id: String(repeating: "b", count: 64), base: "SAMPLE-110000-01")
      #expect(try await ingest.submit(longest).status == .accepted)
    }
    #expect(aggregator.terminate() == 0)
  }

  @Test("a correction that replaces a revision that is not the latest is FAILED_PRECONDITION R-REVISION-STALE")
  func staleRevision() async throws {
    let aggregator = try AggregatorProcess(reporters: [Self.reporter])
    try await aggregator.start()
    try await aggregator.withNode(Self.reporter) { client in
      let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
      let base = "SAMPLE-110000-01"
      _ = try await ingest.submit(try HostileSamples.submission(base: base))
      _ = try await ingest.submit(try HostileSamples.submission(base: base, revision: 2, replaces: 1, scale: 110))
      let stale = try HostileSamples.submission(base: base, revision: 3, replaces: 1, scale: 120)
      let refused = await #expect(throws: RPCError.self) { try await ingest.submit(stale) }
      #expect(refused?.code == .failedPrecondition)
      #expect(refused?.message.hasPrefix("R-REVISION-STALE") == true, "\(refused.map { "\($0)" } ?? "stored")")
    }
    #expect(aggregator.terminate() == 0)
  }
}
