import AggregatorStore
import AggregatorStorePostgres
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Testing

/// Not a test but a measurement: the same ingest load on each backend, and on PostgreSQL also
/// two stores on one database (as two aggregators share one; two SQLite writers on one file
/// only wait for each other's lock), beside PostgreSQL's own rate for a plain batched INSERT of
/// rows of the same size, in the same run. Run with
/// `HITECH_MEASURE=1 HITECH_TEST_POSTGRES_URL=... swift test --skip-build --filter BackendMeasurement`
/// (or `HITECH_MEASURE=1 Tests/run.sh --filter BackendMeasurement`, which starts the server).
@Suite("BackendMeasurement", .serialized, .enabled(if: ProcessInfo.processInfo.environment["HITECH_MEASURE"] != nil))
struct BackendMeasurement {
  static let payload = [UInt8](repeating: 0x5a, count: 2048)

  @Test("ingest rate per backend: 1 caller, 50 callers (PostgreSQL: and over two stores)", arguments: Backend.available)
  func rates(_ backend: Backend) async throws {
    let single = try await rate(backend, stores: 1, callers: 1, submissions: 500)
    let concurrent = try await rate(backend, stores: 1, callers: 50, submissions: 5000)
    print(
      """
      MEASURE \(backend) ingest, 1 caller:               \(Int(single.rate)) submissions/s (mean batch \(String(format: "%.1f", single.meanBatch)))
      MEASURE \(backend) ingest, 50 callers:             \(Int(concurrent.rate)) submissions/s (mean batch \(String(format: "%.1f", concurrent.meanBatch)))
      """)
    if backend == .postgres {
      let shared = try await rate(backend, stores: 2, callers: 50, submissions: 5000)
      print(
        "MEASURE \(backend) ingest, 50 callers, two stores: \(Int(shared.rate)) submissions/s (mean batch \(String(format: "%.1f", shared.meanBatch)))"
      )
    }
  }

  @Test(
    "PostgreSQL's own rate: a plain batched INSERT of rows of the same size, one and two writers",
    .enabled(if: Backend.postgresURL != nil, "\(Backend.skippedMessage)"))
  func plainInsert() async throws {
    for writers in [1, 2] {
      let rate = try await plainInsertRate(writers: writers, rows: 5000, batch: 28)
      print("MEASURE postgres plain batched INSERT, \(writers) writer(s), 28 rows per commit: \(Int(rate)) rows/s")
    }
  }

  /// `writers` connections, each inserting batches of `batch` rows (a submission id, a hash, the
  /// 2 KiB of original bytes) with one INSERT from arrays and one commit
  /// (`synchronous_commit = on`), until `rows` are in; no store, no decisions, no audit.
  private func plainInsertRate(writers: Int, rows: Int, batch: Int) async throws -> Double {
    let database = try await ContractDatabase.make(.postgres)
    var background = contractLogger
    background.logLevel = .error
    let client = PostgresClient(
      configuration: try PostgresStoreURL(database.location).clientConfiguration(), backgroundLogger: background)
    let runner = Task { await client.run() }
    defer { runner.cancel() }
    let logger = contractLogger
    try await client.withConnection { db in
      _ = try await db.query(
        "CREATE TABLE plain (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, submission_id TEXT NOT NULL UNIQUE, content_sha256 BYTEA NOT NULL, bytes BYTEA NOT NULL)",
        logger: logger
      ).collect()
    }
    let payload = ByteBuffer(bytes: Self.payload)
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
      for w in 0..<writers {
        group.addTask {
          try await client.withConnection { db in
            for first in stride(from: w * batch, to: rows, by: batch * writers) {
              let ids = (first..<min(rows, first + batch)).map { "p-\($0)" }
              let hashes = ids.map { ByteBuffer(bytes: hash($0)) }
              let bytes = [ByteBuffer](repeating: payload, count: ids.count)
              _ = try await db.query("BEGIN", logger: logger).collect()
              _ = try await db.query(
                "INSERT INTO plain (submission_id, content_sha256, bytes) SELECT * FROM unnest(\(ids)::text[], \(hashes)::bytea[], \(bytes)::bytea[])",
                logger: logger
              ).collect()
              _ = try await db.query("COMMIT", logger: logger).collect()
            }
          }
        }
      }
      try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    runner.cancel()
    await runner.value
    await database.remove()
    return Double(rows) / seconds
  }

  private func rate(
    _ backend: Backend, stores count: Int, callers: Int, submissions n: Int
  ) async throws -> (rate: Double, meanBatch: Double) {
    let database = try await ContractDatabase.make(backend)
    var stores: [any ReportStore] = []
    do {
      for _ in 0..<count { stores.append(try await database.open()) }
      let opened = stores
      let start = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { group in
        for t in 0..<callers {
          let store = opened[t % opened.count]
          group.addTask {
            for i in stride(from: t, to: n, by: callers) {
              var req = request("s-\(i)", base: "B-\(i)", content: "c\(i)")
              req.originalBytes = Self.payload
              _ = try await store.ingest(req)
            }
          }
        }
        try await group.waitForAll()
      }
      let elapsed = ContinuousClock.now - start
      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      var batches = 0
      var requests = 0
      for store in opened {
        let statistics = await store.ingestStatistics
        batches += statistics.committedBatches
        requests += statistics.committedRequests
        try await store.close()
      }
      await database.remove()
      return (Double(n) / seconds, batches == 0 ? 0 : Double(requests) / Double(batches))
    } catch {
      for store in stores { try? await store.close() }
      await database.remove()
      throw error
    }
  }
}
