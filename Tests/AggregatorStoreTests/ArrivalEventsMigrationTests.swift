import Foundation
import GRDB
import Testing

@testable import AggregatorStore

/// A store made before the arrival log carried round steps (migrations up to v3) opens with
/// v4-arrival-events: its submissions keep their row ids as their sequences, its steps follow,
/// and new events continue after them.
@Suite("Store migration: v4-arrival-events")
struct ArrivalEventsMigrationTests {
  @Test("an older store's submissions keep their row ids as sequences; steps follow; new events continue")
  func upgrade() async throws {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let path = folder.path("old.sqlite")
    do {
      let queue = try DatabaseQueue(path: path)
      try Schema.migrator.migrate(queue, upTo: "v3-round-relay")
      try await queue.write { db in
        // Rejected submissions need no registry row; ids with a gap, as after a rollback.
        for (id, name, at) in [(5, "old-1", 1_750_000_000_000_000), (9, "old-2", 1_750_000_001_000_000)] as [(Int64, String, Int64)] {
          try db.execute(
            sql: """
              INSERT INTO submissions (id, submission_id, reporter_code, base_id, report_year, revision, replaces_revision,
                content_sha256, status, late, received_at)
              VALUES (?, ?, '440300', 'HTB-440300-INF', 2024, 1, 0, ?, 'rejected', 0, ?)
              """,
            arguments: [id, name, Data(repeating: UInt8(id), count: 32), at])
        }
        try db.execute(
          sql: """
            INSERT INTO round_steps (step_id, report_year, state, applied_at, actor) VALUES ('2024/opened', 2024, 'open', 1, 'coordinator:central')
            """)
      }
      try queue.close()
    }

    let store = try AggregatorDatabase(path: path, logger: testLogger)
    let migrated = try await store.arrivals(afterSequence: 0, reportYear: nil, reporterCode: nil, limit: 100)
    #expect(migrated.map(\.sequence) == [5, 9, 10])
    #expect(migrated.compactMap(\.receipt?.submissionId) == ["old-1", "old-2"])
    #expect(migrated.last?.roundStep?.stepId == "2024/opened")
    #expect(migrated.last?.roundStep?.kind == .opened)
    #expect(try await store.lastArrivalSequence() == 10)

    _ = try await store.ingest(request("new-1"))
    let after = try await store.arrivals(afterSequence: 10, reportYear: nil, reporterCode: nil, limit: 100)
    #expect(after.map(\.sequence) == [11])
    #expect(after.first?.receipt?.submissionId == "new-1")
    try await store.close()
  }
}
