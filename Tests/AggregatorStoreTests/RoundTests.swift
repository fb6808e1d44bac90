import AggregatorStore
import Foundation
import Logging
import Testing

@Suite("Rounds in the aggregator store")
struct RoundTests {
  @Test("a round is recorded, changed, read back and audited")
  func roundLifecycle() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("rounds-\(UUID().uuidString).sqlite").path
    defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
    let database = try AggregatorDatabase(path: path, logger: Logger(label: "test"))
    #expect(try await database.round(reportYear: 2025) == nil)
    try await database.setRound(RoundRecord(reportYear: 2025, state: .open, latePolicy: .acceptMarkLate), actor: "test")
    try await database.setRound(RoundRecord(reportYear: 2025, state: .closed, latePolicy: .acceptMarkLate), actor: "test")
    try await database.setRound(RoundRecord(reportYear: 2024, state: .published, latePolicy: .refuse), actor: "test")
    let round = try #require(try await database.round(reportYear: 2025))
    #expect(round.state == .closed)
    #expect(round.latePolicy == .acceptMarkLate)
    #expect(try await database.rounds().map(\.reportYear) == [2025, 2024])
    let audit = try await database.auditLog().filter { $0.action == "round.set" }
    #expect(audit.map(\.detail).contains("open (accept_mark_late) -> closed (accept_mark_late)"))
    try await database.close()
  }
}
