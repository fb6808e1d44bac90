import Foundation
import HiTechSchema
import Synchronization
import Testing

@testable import ProvinceNode

/// The spool's serial queue as the daemon uses it: receipts that arrive together are marked
/// in one batch (one journal append and one fsync per folder).
@Suite("Spool executor: batched marks")
struct SpoolExecutorTests {
  final class Counter: Sendable {
    let journalAppends = Mutex(0)
  }

  static func claimed(_ count: Int, fixture: SpoolFixture, spool: Spool) throws -> [OutgoingMessage] {
    let names = (0..<count).map { String(format: "m-%03d.json", $0) }
    for name in names { try fixture.drop(name, SpoolFixture.submission(base: "BJ-\(name)")) }
    try spool.claim(names: names)
    return try (0..<count).map { _ in try #require(try spool.next()) }
  }

  @Test("20 receipts that arrive while the queue is busy are written as one batch: one journal append", .timeLimit(.minutes(1)))
  func marksArrivingTogetherShareOneBatch() async throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    let messages = try Self.claimed(20, fixture: fixture, spool: spool)
    let counter = Counter()
    spool.faultInjector = { operation, _ in
      if operation == .journal { counter.journalAppends.withLock { $0 += 1 } }
      return nil
    }
    let executor = SpoolExecutor(spool: spool)
    // Keep the queue busy while every receipt arrives.
    async let busy: Void = executor.run { _ in usleep(300_000) }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for message in messages {
        group.addTask { try await executor.markSent(id: message.id, receiptJSON: #"{"id":"\#(message.id)"}"#) }
      }
      try await group.waitForAll()
    }
    try await busy
    #expect(counter.journalAppends.withLock { $0 } <= 2)
    #expect(fixture.names("sent").count == 40)
    #expect(fixture.names("claimed").isEmpty)
    #expect(try spool.status().claimed == 0)
    // Durable: a restart finds nothing left to send.
    #expect(try fixture.open().next() == nil)
  }

  @Test("a failed batch fails every mark in it; after recover() the messages are offered again, none lost", .timeLimit(.minutes(1)))
  func failedBatchIsRecovered() async throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    let messages = try Self.claimed(6, fixture: fixture, spool: spool)
    let failing = Mutex(true)
    spool.faultInjector = { operation, _ in
      operation == .journal && failing.withLock { $0 } ? ENOSPC : nil
    }
    let executor = SpoolExecutor(spool: spool)
    let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
      for message in messages {
        group.addTask {
          do {
            try await executor.markSent(id: message.id, receiptJSON: "{}")
            return false
          } catch {
            return true
          }
        }
      }
      return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
    }
    #expect(failures == 6)
    failing.withLock { $0 = false }
    try spool.recover()
    // The files reached sent/ before the journal append failed: recovery closes them.
    #expect(try spool.next() == nil)
    #expect(fixture.names("sent").count == 12)
    #expect(try spool.status().claimed == 0)
  }
}
