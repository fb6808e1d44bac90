import AggregatorStore
import Foundation
import Testing

/// Not a test but a measurement: the same ingest load on each backend, and on PostgreSQL also
/// two stores on one database (as two aggregators share one; two SQLite writers on one file
/// only wait for each other's lock). Run with
/// `HITECH_MEASURE=1 HITECH_TEST_POSTGRES_URL=... swift test --skip-build --filter BackendMeasurement`.
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
