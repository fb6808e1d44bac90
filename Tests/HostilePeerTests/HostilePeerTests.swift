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
}
