import Foundation
import GRDB
import Synchronization
import Testing

@testable import AggregatorStore

/// Not a test but a measurement: prints ingest rates with 1 and 50 concurrent callers next to
/// SQLite's batched-insert rate on the same disk. Run with
/// `HITECH_MEASURE=1 swift test --filter AggregatorStoreTests.Measurement`.
@Suite("Measurement", .enabled(if: ProcessInfo.processInfo.environment["HITECH_MEASURE"] != nil))
struct Measurement {
  static let payload = [UInt8](repeating: 0x5a, count: 2048)

  @Test("ingest rate: 1 caller vs 50 callers vs SQLite batched insert")
  func rates() async throws {
    let single = try await withStore { store, _ in
      let n = 1000
      let start = ContinuousClock.now
      for i in 0..<n {
        _ = try await store.ingest(request("s-\(i)", base: "B-\(i)", content: "c\(i)", bytes: Self.payload))
      }
      return (Double(n) / seconds(ContinuousClock.now - start), await store.ingestStatistics)
    }
    let inTransactions = Mutex<Double>(0)
    var configuration = AggregatorDatabase.Configuration()
    configuration.onBatch = { report in inTransactions.withLock { $0 += report.durationSeconds } }
    let concurrent = try await withStore(configuration) { store, _ in
      let n = 10_000
      let callers = 50
      let start = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { group in
        for t in 0..<callers {
          group.addTask {
            for i in stride(from: t, to: n, by: callers) {
              _ = try await store.ingest(request("s-\(i)", base: "B-\(i)", content: "c\(i)", bytes: Self.payload))
            }
          }
        }
        try await group.waitForAll()
      }
      return (Double(n) / seconds(ContinuousClock.now - start), await store.ingestStatistics)
    }
    let raw = try rawBatchedInsertRate(rows: 10_000, perCommit: 100)
    print(
      """
      MEASURE ingest, 1 caller:   \(Int(single.0)) submissions/s (mean batch \(single.1.meanBatchSize))
      MEASURE ingest, 50 callers: \(Int(concurrent.0)) submissions/s (mean batch \(String(format: "%.1f", concurrent.1.meanBatchSize)), largest \(concurrent.1.largestBatch), histogram \(concurrent.1.batchSizeHistogram))
      MEASURE 50 callers: \(String(format: "%.2f", inTransactions.withLock { $0 })) s inside write transactions (incl. commit)
      MEASURE SQLite WAL synchronous=FULL, 2 KiB rows, 100 rows per commit: \(Int(raw)) rows/s
      MEASURE ratio 50 callers / raw batched insert: \(String(format: "%.2f", concurrent.0 / raw))
      """)
  }

  private func rawBatchedInsertRate(rows: Int, perCommit: Int) throws -> Double {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    var configuration = GRDB.Configuration()
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    let pool = try DatabasePool(path: folder.path("raw.sqlite"), configuration: configuration)
    try pool.write { db in
      try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, payload BLOB NOT NULL)")
    }
    let payload = Data(Self.payload)
    let start = ContinuousClock.now
    for batch in 0..<(rows / perCommit) {
      try pool.write { db in
        for i in 0..<perCommit {
          try db.execute(sql: "INSERT INTO t (k, payload) VALUES (?, ?)", arguments: ["k-\(batch)-\(i)", payload])
        }
      }
    }
    let rate = Double(rows) / seconds(ContinuousClock.now - start)
    try pool.close()
    return rate
  }
}

private func seconds(_ d: Duration) -> Double {
  Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}
