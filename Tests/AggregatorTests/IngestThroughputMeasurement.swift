@testable import AggregatorStore
import Aggregator
import Foundation
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import Logging
import Testing
import ZeroMQ
import ZeroMQTransport

/// Not a test: a measurement, run on demand with `HITECH_MEASURE=1 swift test --filter
/// IngestThroughput`. It prints end-to-end ingest rates (validated, deduplicated, durably
/// stored, acknowledged over CURVE) with 1 and 50 concurrent clients, beside SQLite's
/// batched-insert rate (100 rows of 2 KiB per commit, WAL, synchronous=FULL) measured in the
/// same run, and the ratios between them.
@Suite("Ingest throughput (measurement)", .enabled(if: ProcessInfo.processInfo.environment["HITECH_MEASURE"] != nil))
struct IngestThroughputMeasurement {
  @Test("ingest rate with 1 and 50 clients against SQLite's batched insert")
  func measure() async throws {
    let sqliteRate = try SQLiteLimits.batchedInsertRate(rows: 5000)
    let reporters = ["110000", "440300", "310000", "370200", "330200"]
    let bases = ["110000": "SAMPLE-110000-01", "440300": "SAMPLE-440300-01", "310000": "SAMPLE-310000-01", "370200": "SAMPLE-370200-01", "330200": "SAMPLE-330200-01"]
    let harness = try await IngestHarness(reporters: reporters)
    for year in 2001...2400 {
      try await harness.database.setRound(RoundRecord(reportYear: year, state: .open, latePolicy: .refuse), actor: "measure")
    }
    let (single, concurrent) = try await harness.runWithClients(perReporter: 10) { clients in
      // 1 client, one call at a time: years 2001...2200 of one base.
      let one = clients["110000"]![0]
      let start = ContinuousClock.now
      for year in 2001...2200 {
        _ = try await one.submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01", year: Int32(year)))
      }
      let singleRate = 200 / (ContinuousClock.now - start).seconds

      // 50 clients (10 per reporter), each a call at a time: 1000 distinct reports.
      let start50 = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { group in
        for (reporter, list) in clients {
          for (index, client) in list.enumerated() {
            group.addTask {
              for k in 0..<20 {
                let year = 2201 + index * 20 + k
                let base = reporter == "110000" ? "SAMPLE-110000-02" : bases[reporter]!
                _ = try await client.submit(try SampleSubmissions.submission(base: base, year: Int32(year)))
              }
            }
          }
        }
        try await group.waitForAll()
      }
      let concurrentRate = 1000 / (ContinuousClock.now - start50).seconds
      return (singleRate, concurrentRate)
    }
    let statistics = await harness.database.ingestStatistics
    print("""
      ingest, 1 client:      \(Int(single)) submissions/s
      ingest, 50 clients:    \(Int(concurrent)) submissions/s (mean batch \(String(format: "%.1f", statistics.meanBatchSize)), largest \(statistics.largestBatch))
      SQLite batched insert: \(Int(sqliteRate)) rows/s (100 × 2 KiB per commit)
      ratios: 50 clients / 1 client = \(String(format: "%.2f", concurrent / single)); 50 clients / SQLite batched = \(String(format: "%.2f", concurrent / sqliteRate))
      """)
    #expect(concurrent > 0 && single > 0)
  }
}

extension Duration {
  var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension IngestHarness {
  /// Runs the server with `perReporter` separate client connections per reporter.
  func runWithClients<Result: Sendable>(
    perReporter: Int,
    _ body: @Sendable ([String: [Ndrc_Hitech_V1_ReportIngest.Client<ZeroMQTransport.Client>]]) async throws -> Result
  ) async throws -> Result {
    let allow = CurveAllowList(Dictionary(uniqueKeysWithValues: nodeKeys.map { ($0.value.publicKey, $0.key) }))
    let transport = ZeroMQTransport.Server(endpoint: "tcp://127.0.0.1:*", security: .curveServer(keyPair: serverKeys, policy: allow))
    let service = ReportIngestService(database: database, logger: Logger(label: "measure", factory: { _ in SwiftLogNoOpLogHandler() }))
    let server = GRPCServer(transport: transport, services: [service])
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let endpoint = try await transport.listeningEndpoint()
      var grpcClients: [GRPCClient<ZeroMQTransport.Client>] = []
      var clients: [String: [Ndrc_Hitech_V1_ReportIngest.Client<ZeroMQTransport.Client>]] = [:]
      for (reporter, keys) in nodeKeys {
        for _ in 0..<perReporter {
          let grpc = GRPCClient(transport: ZeroMQTransport.Client(
            endpoint: endpoint, security: .curveClient(keyPair: keys, serverPublicKey: serverKeys.publicKey)))
          grpcClients.append(grpc)
          clients[reporter, default: []].append(Ndrc_Hitech_V1_ReportIngest.Client(wrapping: grpc))
        }
      }
      for grpc in grpcClients { group.addTask { try await grpc.runConnections() } }
      let frozen = clients
      let result = try await body(frozen)
      for grpc in grpcClients { grpc.beginGracefulShutdown() }
      server.beginGracefulShutdown()
      try await group.waitForAll()
      return result
    }
  }
}
