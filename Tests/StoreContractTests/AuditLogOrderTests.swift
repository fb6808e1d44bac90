import AggregatorStore
import Foundation
import TestProcesses
import Testing

/// Audit entry ids are taken when a row is inserted, so on PostgreSQL a transaction may commit
/// an entry after another transaction committed a higher id. A reader paging with `afterId`
/// must not skip it: the store holds back past transactions still in flight.
@Suite("Store contract: the audit log read by id misses nothing committed out of order")
struct AuditLogOrderTests {
  @Test(
    "PostgreSQL: an entry committed after a higher one is returned, not skipped",
    .enabled(if: Backend.postgresURL != nil, "\(Backend.skippedMessage)"))
  func outOfOrderCommit() async throws {
    let database = try await ContractDatabase.make(.postgres)
    let store = try await database.open()
    do {
      try await store.upsertReporter(reporter("440300"), actor: "seed")
      let start = try #require(try await store.auditLog(afterId: 0, limit: 1000).last?.id)

      // Another session takes the next audit id and keeps its transaction open.
      let held = try HeldTransaction(url: database.location)
      defer { held.end() }
      let heldId = try held.send(
        "BEGIN; INSERT INTO audit_log (at, actor, action, subject, detail) "
          + "VALUES (1, 'test', 'held.open', 'x', '') RETURNING id;")
      // A later id commits first.
      try await store.upsertReporter(reporter("110000"), actor: "seed")

      // A reader now must not answer the later entry without the held one: it waits for the
      // held transaction (committed while it waits) and returns both, in id order.
      let reader = Task { try await store.auditLog(afterId: start, limit: 100) }
      try await Task.sleep(for: .milliseconds(300))
      try held.finish("COMMIT;")
      let entries = try await reader.value
      #expect(entries.first?.id == Int64(heldId))
      #expect(entries.first?.action == "held.open")
      #expect(entries.count == 2)
      #expect(entries.map(\.id) == entries.map(\.id).sorted())
      try await store.close()
    } catch {
      try? await store.close()
      await database.remove()
      throw error
    }
    await database.remove()
  }
}

/// A `psql` session fed line by line: an open transaction of another client.
private final class HeldTransaction {
  let process = ChildProcess()
  let input = Pipe()
  let output = Pipe()

  init(url: String) throws {
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url]
    process.standardInput = input
    process.standardOutput = output
    try process.run()
  }

  /// Sends statements and returns the first line they print.
  func send(_ statements: String) throws -> String {
    input.fileHandleForWriting.write(Data((statements + "\n").utf8))
    var text = ""
    while !text.contains("\n") {
      let data = output.fileHandleForReading.availableData
      if data.isEmpty { throw ContractError("psql ended before answering: \(text)") }
      text += String(decoding: data, as: UTF8.self)
    }
    return String(text.split(separator: "\n").first ?? "").trimmingCharacters(in: .whitespaces)
  }

  /// Ends the session (its transaction rolls back unless committed): on every path of a test.
  func end() {
    try? input.fileHandleForWriting.close()
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
  }

  /// Sends the last statements and lets psql run them: it exits at the end of its input (a
  /// SIGTERM now could end it before it commits).
  func finish(_ statements: String) throws {
    input.fileHandleForWriting.write(Data((statements + "\n").utf8))
    try? input.fileHandleForWriting.close()
    let deadline = ContinuousClock.now + .seconds(30)
    while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
    end()
  }
}
