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
      #expect(all.compactMap(\.receipt?.submissionId) == requests.map(\.submissionId))
      #expect(all.map(\.storedAtMicros) == requests.map(\.receivedAtMicros))
      #expect(zip(all, all.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
      #expect(all.compactMap(\.receipt?.status) == [.accepted, .duplicate, .accepted, .accepted, .rejected, .accepted])
      for entry in all {
        let receipt = try #require(entry.receipt)
        #expect(entry.roundStep == nil)
        #expect(try await store.receipt(submissionId: receipt.submissionId) == receipt)
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
      #expect(of110000.compactMap(\.receipt?.submissionId) == ["b-1", "b-2"])
      let of2025 = try await store.arrivals(afterSequence: 0, reportYear: 2025, reporterCode: nil, limit: 100)
      #expect(of2025.compactMap(\.receipt?.submissionId) == ["a-4"])
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
              ids.append(try #require(entry.receipt).submissionId)
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
      #expect(stored.compactMap(\.receipt?.submissionId) == seen)
      try await first.close()
      try await second.close()
    } catch {
      await database.remove()
      throw error
    }
    await database.remove()
  }

  @Test("round steps and submissions share one sequence; steps carry their kind, submissions their time on the round's calendar", arguments: Backend.available)
  func roundSteps(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      try await store.upsertReporter(reporter("440300"), actor: "seed")
      try await store.upsertReporter(reporter("110000"), actor: "seed")
      try await store.upsertBase(base("HTB-440300-INF", reporter: "440300"), actor: "seed")
      try await store.upsertBase(base("HTB-110000-INF", reporter: "110000"), actor: "seed")
      let calendar: Int64 = 1_740_787_200_000_000  // 2025-03-01T00:00:00Z on the round's calendar
      let opened = try await store.applyRoundStep(
        stepId: "2024/opened", round: RoundRecord(reportYear: 2024, state: .open, latePolicy: .acceptMarkLate),
        roundDetail: [], actor: "coordinator:central",
        mark: RoundStepMark(kind: .opened, calendarAtMicros: calendar, calendarSpeed: 86_400)
      ) { snapshot in snapshot.expectedBases.map { OutgoingNotice(reporterCode: $0.reporterCode, bytes: [1]) } }
      // Two real seconds after the step: two days later on the round's calendar.
      let at = opened.appliedAtMicros + 2_000_000
      _ = try await store.ingest(request("s-1", receivedAt: at))
      _ = try await store.ingest(request("s-2", base: "HTB-110000-INF", reporter: "110000", receivedAt: at + 500_000))
      _ = try await store.applyRoundStep(
        stepId: "2024/reminder/604800s", round: RoundRecord(reportYear: 2024, state: .open, latePolicy: .acceptMarkLate),
        roundDetail: [], actor: "coordinator:central", mark: RoundStepMark(kind: .reminded)
      ) { _ in [] }
      _ = try await store.ingest(request("s-3", year: 2025, receivedAt: at + 1_000_000))
      // A step applied without a mark: its kind is read from the round's state.
      _ = try await store.applyRoundStep(
        stepId: "2024/closed", round: RoundRecord(reportYear: 2024, state: .closed, latePolicy: .acceptMarkLate),
        roundDetail: [], actor: "coordinator:central"
      ) { _ in [] }

      let all = try await store.arrivals(afterSequence: 0, reportYear: nil, reporterCode: nil, limit: 100)
      #expect(all.count == 6)
      #expect(zip(all, all.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
      #expect(all.map { $0.receipt?.submissionId ?? $0.roundStep?.stepId } == [
        "2024/opened", "s-1", "s-2", "2024/reminder/604800s", "s-3", "2024/closed",
      ])
      #expect(all.compactMap(\.roundStep?.kind) == [.opened, .reminded, .closed])
      #expect(all.compactMap(\.roundStep?.state) == [.open, .open, .closed])
      #expect(all[0].roundStep?.addressedReporters == 2)
      #expect(all[0].storedAtMicros == opened.appliedAtMicros)
      #expect(all[0].roundClockMicros == calendar)
      #expect(all[1].roundClockMicros == calendar + 2 * 86_400_000_000)
      #expect(all[2].roundClockMicros == calendar + 2 * 86_400_000_000 + 43_200_000_000)
      // The 2025 round's calendar was never given.
      #expect(all[4].roundClockMicros == nil)
      #expect(try await store.lastArrivalSequence() == all.last?.sequence)

      for (index, entry) in all.enumerated() {
        let rest = try await store.arrivals(afterSequence: entry.sequence, reportYear: nil, reporterCode: nil, limit: 100)
        #expect(rest == Array(all.dropFirst(index + 1)))
      }
      // A reporter's view: its own submissions and every round step.
      let of110000 = try await store.arrivals(afterSequence: 0, reportYear: nil, reporterCode: "110000", limit: 100)
      #expect(of110000.map { $0.receipt?.submissionId ?? $0.roundStep?.stepId } == [
        "2024/opened", "s-2", "2024/reminder/604800s", "2024/closed",
      ])
      let of2025 = try await store.arrivals(afterSequence: 0, reportYear: 2025, reporterCode: nil, limit: 100)
      #expect(of2025.map(\.receipt?.submissionId) == ["s-3"])
    }
  }
}
