import Foundation
import GRDB
import Synchronization
import Testing

@testable import AggregatorStore

@Suite("Ingest: group commit, failures, durability")
struct GroupCommitTests {
  @Test("1,000 concurrent requests from 50 tasks, duplicates and retries mixed in: each report stored once")
  func concurrentIngest() async throws {
    let batchSizes = Mutex<[Int]>([])
    var configuration = AggregatorDatabase.Configuration()
    configuration.onBatch = { report in batchSizes.withLock { $0.append(report.size) } }
    try await withStore(configuration) { store, _ in
      // 400 reports, each also sent under a second id (a duplicate), and 200 sent twice under
      // their first id (a retry): 1,000 requests.
      var requests: [IngestRequest] = []
      for r in 0..<400 {
        requests.append(request("o-\(r)", base: "B-\(r)", content: "content \(r)"))
        requests.append(request("d-\(r)", base: "B-\(r)", content: "content \(r)"))
      }
      for r in 0..<200 {
        requests.append(request("o-\(r)", base: "B-\(r)", content: "content \(r)"))
      }
      var generator = SplitMix(seed: 42)
      requests.shuffle(using: &generator)
      #expect(requests.count == 1000)

      let outcomes = try await withThrowingTaskGroup(of: [(IngestRequest, IngestOutcome)].self) { group in
        for t in 0..<50 {
          let mine = Array(requests[(t * 20)..<(t * 20 + 20)])
          group.addTask {
            var results: [(IngestRequest, IngestOutcome)] = []
            for req in mine { results.append((req, try await store.ingest(req))) }
            return results
          }
        }
        var all: [(IngestRequest, IngestOutcome)] = []
        for try await part in group { all += part }
        return all
      }

      #expect(outcomes.count == 1000)
      #expect(outcomes.filter { $0.1.kind == "accepted" }.count == 400)
      #expect(outcomes.filter { $0.1.kind == "duplicate" }.count == 400)
      #expect(outcomes.filter { $0.1.kind == "replayed" }.count == 200)
      #expect(outcomes.allSatisfy { $0.1.conflict == nil })

      // Every answer for an id is the receipt stored for it.
      for (req, outcome) in outcomes {
        #expect(try await store.receipt(submissionId: req.submissionId) == outcome.receipt)
      }
      let (revisionCount, perBase, sequences) = try await store.pool.read { db in
        (
          try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM report_revisions")!,
          try Int.fetchOne(db, sql: "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM report_revisions GROUP BY base_id)")!,
          try String.fetchAll(db, sql: "SELECT accession_number FROM submissions WHERE accession_number IS NOT NULL ORDER BY id")
        )
      }
      #expect(revisionCount == 400)
      #expect(perBase == 1)
      #expect(sequences == (1...400).map { IngestTransaction.accessionNumber(year: 2024, sequence: Int64($0)) })

      let stats = await store.ingestStatistics
      #expect(stats.committedRequests == 1000)
      #expect(stats.failedBatches == 0)
      #expect(stats.largestBatch > 1)
      #expect(stats.committedBatches < 1000)
      let sizes = batchSizes.withLock { $0 }
      #expect(sizes.reduce(0, +) == 1000)
      #expect(sizes.max()! <= 256)
      print("concurrent ingest: \(stats.committedBatches) batches, mean \(stats.meanBatchSize), largest \(stats.largestBatch), histogram \(stats.batchSizeHistogram)")
    }
  }

  @Test("accession numbers are unique and dense per year, in storage order")
  func accessionNumbersDensePerYear() async throws {
    try await withStore { store, _ in
      var expected: [Int: Int] = [:]
      for i in 0..<30 {
        let year = 2023 + i % 3
        let rejected = i % 7 == 0
        let outcome = try await store.ingest(
          request("s-\(i)", base: "B-\(i)", year: year, content: "c\(i)", status: rejected ? .rejected : .accepted))
        if rejected {
          #expect(outcome.receipt?.accessionNumber == "")
        } else {
          expected[year, default: 0] += 1
          #expect(outcome.receipt?.accessionNumber == "HT-\(year)-" + String(format: "%08d", expected[year]!))
        }
      }
      let numbers = try await store.pool.read { db in
        try String.fetchAll(db, sql: "SELECT accession_number FROM submissions WHERE accession_number IS NOT NULL")
      }
      #expect(Set(numbers).count == numbers.count)
    }
  }

  @Test("a transaction failing mid-batch fails every caller retryably, stores nothing, and the writer goes on")
  func failingBatch() async throws {
    try await withStore { store, _ in
      _ = try await store.ingest(request("before", base: "B-0", content: "before"))
      let auditBefore = try await store.auditLog()

      await store.writer.setFaultInjector { index in
        if index == 3 { throw DatabaseError(resultCode: .SQLITE_IOERR, message: "injected I/O error") }
      }
      await store.writer.pause()
      var tasks: [Task<IngestOutcome, any Error>] = []
      for i in 1...5 {
        let req = request("s-\(i)", base: "B-\(i)", content: "c\(i)")
        tasks.append(Task { try await store.ingest(req) })
      }
      try await eventually { await store.writer.queuedCount == 5 }
      await store.writer.resume()
      for task in tasks {
        await #expect {
          _ = try await task.value
        } throws: { error in
          guard let error = error as? StoreError else { return false }
          return error.code == .unavailable && error.isRetryable && error.message.contains("nothing of it was stored")
        }
      }
      // Nothing of the first three requests (decided before the failure) was kept.
      let (submissions, counter) = try await store.pool.read { db in
        (
          try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM submissions")!,
          try Int.fetchOne(db, sql: "SELECT last_sequence FROM accession_counters WHERE report_year = 2024")!
        )
      }
      #expect(submissions == 1)
      #expect(counter == 1)
      #expect(try await store.auditLog() == auditBefore)
      let stats = await store.ingestStatistics
      #expect(stats.failedBatches == 1)
      #expect(stats.failedRequests == 5)

      // The next batch succeeds, with dense accession numbers.
      await store.writer.setFaultInjector(nil)
      for i in 1...5 {
        let receipt = try #require(try await store.ingest(request("s-\(i)", base: "B-\(i)", content: "c\(i)")).receipt)
        #expect(receipt.accessionNumber == "HT-2024-0000000\(i + 1)")
      }
    }
  }

  @Test("a full disk (SQLITE_FULL) fails the batch retryably, and writes resume when space returns")
  func diskFull() async throws {
    try await withStore { store, _ in
      _ = try await store.ingest(request("before", base: "B-0", content: "before"))
      // Cap the file at its current size: the next page SQLite needs is "disk full".
      try await store.pool.writeWithoutTransaction { db in
        let pages = try Int.fetchOne(db, sql: "PRAGMA page_count")!
        try db.execute(sql: "PRAGMA max_page_count = \(pages)")
      }
      await store.writer.pause()
      var tasks: [Task<IngestOutcome, any Error>] = []
      for i in 1...4 {
        let req = request("s-\(i)", base: "B-\(i)", content: "c\(i)", bytes: Array(repeating: 7, count: 64 * 1024))
        tasks.append(Task { try await store.ingest(req) })
      }
      try await eventually { await store.writer.queuedCount == 4 }
      await store.writer.resume()
      for task in tasks {
        await #expect {
          _ = try await task.value
        } throws: { error in
          guard let error = error as? StoreError, error.code == .unavailable else { return false }
          return (error.cause as? DatabaseError)?.resultCode == .SQLITE_FULL
        }
      }
      #expect(try await store.receipt(submissionId: "s-1") == nil)

      try await store.pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA max_page_count = 1073741823")
      }
      let receipt = try #require(
        try await store.ingest(request("s-1", base: "B-1", content: "c1", bytes: Array(repeating: 7, count: 64 * 1024))).receipt)
      #expect(receipt.accessionNumber == "HT-2024-00000002")
    }
  }

  @Test("after close and reopen everything is found, and retries still replay")
  func reopen() async throws {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let path = folder.path("store.sqlite")
    var receipts: [StoredReceipt] = []
    do {
      let store = try AggregatorDatabase(path: path, logger: testLogger)
      try await store.upsertReporter(shenzhen, actor: "seed")
      try await store.upsertBase(base("HTB-440300-INF"), actor: "seed")
      try await store.registerKey(z85Key(1), reporterCode: "440300", actor: "seed")
      receipts.append(try #require(try await store.ingest(request("s-1", content: "v1")).receipt))
      receipts.append(try #require(try await store.ingest(request("s-2", revision: 2, replaces: 1, content: "v2")).receipt))
      receipts.append(try #require(try await store.ingest(request("s-3", content: "v2")).receipt))
      receipts.append(try #require(try await store.ingest(request("s-4", content: "bad", status: .rejected)).receipt))
      try await store.close()
      await #expect(throws: StoreError.self) { try await store.ingest(request("s-5")) }
    }
    let store = try AggregatorDatabase(path: path, logger: testLogger)
    #expect(try await store.reporters() == [shenzhen])
    #expect(try await store.bases().map(\.baseId) == ["HTB-440300-INF"])
    #expect(try await store.reporterCode(forKey: z85Key(1)) == "440300")
    for receipt in receipts {
      #expect(try await store.receipt(submissionId: receipt.submissionId) == receipt)
      #expect(try await store.ingest(request(receipt.submissionId, content: receipt.submissionId == "s-1" ? "v1" : receipt.submissionId == "s-4" ? "bad" : "v2", status: receipt.status == .rejected ? .rejected : .accepted)) == .replayed(receipt))
    }
    #expect(try await store.latestReport(baseId: "HTB-440300-INF", reportYear: 2024)?.revision == 2)
    #expect(try await store.auditLog().count == 3 + 4)
    let next = try #require(try await store.ingest(request("s-6", revision: 3, replaces: 2, content: "v3")).receipt)
    #expect(next.accessionNumber == "HT-2024-00000003")
    try await store.close()
  }
}

/// A deterministic random number generator for shuffles.
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
