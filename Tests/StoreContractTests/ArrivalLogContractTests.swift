import AggregatorStore
import Testing

@Suite("Store contract: the arrival log (WatchArrivals)")
struct ArrivalLogContractTests {
  @Test("every stored outcome is in the log once, in row order, with its receipt; filters and positions", arguments: Backend.available)
  func logOrder(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      #expect(try await store.lastArrivalSequence() == 0)
      #expect(try await store.arrivals(afterSequence: 0, reportYear: nil, reporterCode: nil, limit: 100).isEmpty)
      let error = StoredFinding(
        ruleCode: "R-REQUIRED", severity: .error, fieldPath: "report.employees", message: "missing",
        overridden: false, overrideExplanation: "")
      let requests = [
        request("a-1", receivedAt: 1_750_000_000_000_001),
        request("a-2", receivedAt: 1_750_000_000_000_002),  // duplicate of a-1
        request("b-1", base: "HTB-110000-INF", reporter: "110000", receivedAt: 1_750_000_000_000_003),
        request("a-3", revision: 2, replaces: 1, content: "report B", receivedAt: 1_750_000_000_000_004),
        request("b-2", base: "HTB-110000-INF", status: .rejected, reporter: "110000", findings: [error], receivedAt: 1_750_000_000_000_005),
        request("a-4", year: 2025, receivedAt: 1_750_000_000_000_006),
      ]
      for req in requests { _ = try await store.ingest(req) }

      let all = try await store.arrivals(afterSequence: 0, reportYear: nil, reporterCode: nil, limit: 100)
      #expect(all.map(\.receipt.submissionId) == requests.map(\.submissionId))
      #expect(all.map(\.storedAtMicros) == requests.map(\.receivedAtMicros))
      #expect(zip(all, all.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
      #expect(all.map(\.receipt.status) == [.accepted, .duplicate, .accepted, .accepted, .rejected, .accepted])
      for entry in all {
        #expect(try await store.receipt(submissionId: entry.receipt.submissionId) == entry.receipt)
      }
      #expect(try await store.lastArrivalSequence() == all.last?.sequence)

      // Resuming after any position gives exactly the rest.
      for (index, entry) in all.enumerated() {
        let rest = try await store.arrivals(afterSequence: entry.sequence, reportYear: nil, reporterCode: nil, limit: 100)
        #expect(rest == Array(all.dropFirst(index + 1)))
      }
      let firstTwo = try await store.arrivals(afterSequence: 0, reportYear: nil, reporterCode: nil, limit: 2)
      #expect(firstTwo == Array(all.prefix(2)))

      let of110000 = try await store.arrivals(afterSequence: 0, reportYear: nil, reporterCode: "110000", limit: 100)
      #expect(of110000.map(\.receipt.submissionId) == ["b-1", "b-2"])
      let of2025 = try await store.arrivals(afterSequence: 0, reportYear: 2025, reporterCode: nil, limit: 100)
      #expect(of2025.map(\.receipt.submissionId) == ["a-4"])
      let none = try await store.arrivals(afterSequence: 0, reportYear: 2025, reporterCode: "110000", limit: 100)
      #expect(none.isEmpty)
    }
  }

  @Test("a reader following the log while two stores on one database ingest concurrently misses and repeats nothing", .timeLimit(.minutes(2)), arguments: Backend.available)
  func concurrentWriters(_ backend: Backend) async throws {
    let database = try await ContractDatabase.make(backend)
    do {
      let first = try await database.open(maxBatchSize: 8)
      let second = try await database.open(maxBatchSize: 8)
      let perWriter = 60
      let seen = try await withThrowingTaskGroup(of: [String].self) { group in
        for (name, store) in [("x", first), ("y", second)] {
          group.addTask {
            try await withThrowingTaskGroup(of: Void.self) { writers in
              // Four concurrent submitters per store, each on its own base, so batches overlap.
              for lane in 0..<4 {
                writers.addTask {
                  for n in 0..<(perWriter / 4) {
                    _ = try await store.ingest(
                      request("\(name)-\(lane)-\(n)", base: "HTB-\(name)-\(lane)", revision: n + 1, replaces: n, content: "\(name) \(lane) \(n)"))
                  }
                }
              }
              try await writers.waitForAll()
            }
            return []
          }
        }
        group.addTask {
          var cursor: Int64 = 0
          var ids: [String] = []
          while ids.count < 2 * perWriter {
            let batch = try await first.arrivals(afterSequence: cursor, reportYear: nil, reporterCode: nil, limit: 7)
            for entry in batch {
              #expect(entry.sequence > cursor)
              cursor = entry.sequence
              ids.append(entry.receipt.submissionId)
            }
            if batch.isEmpty { try await Task.sleep(for: .milliseconds(1)) }
          }
          return ids
        }
        var collected: [String] = []
        for try await ids in group { collected += ids }
        return collected
      }
      #expect(seen.count == 2 * perWriter)
      #expect(Set(seen).count == 2 * perWriter)
      let stored = try await first.arrivals(afterSequence: 0, reportYear: nil, reporterCode: nil, limit: 1000)
      #expect(stored.map(\.receipt.submissionId) == seen)
      try await first.close()
      try await second.close()
    } catch {
      await database.remove()
      throw error
    }
    await database.remove()
  }
}
