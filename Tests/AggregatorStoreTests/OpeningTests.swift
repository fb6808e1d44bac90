import Foundation
import GRDB
import Testing

@testable import AggregatorStore

@Suite("Opening the store file")
struct OpeningTests {
  @Test("a new file is migrated, durable pragmas are set, and it reopens cleanly")
  func newFileMigratesAndReopens() async throws {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let path = folder.path("store.sqlite")

    let store = try AggregatorDatabase(path: path, logger: testLogger)
    let (journal, synchronous, foreignKeys, migrations, tables) = try await store.pool.write { db in
      (
        try String.fetchOne(db, sql: "PRAGMA journal_mode"),
        try Int.fetchOne(db, sql: "PRAGMA synchronous"),
        try Int.fetchOne(db, sql: "PRAGMA foreign_keys"),
        try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
        try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      )
    }
    #expect(journal == "wal")
    #expect(synchronous == 2)  // FULL
    #expect(foreignKeys == 1)
    #expect(migrations == ["v1", "v2-rounds", "v3-round-relay", "v4-arrival-events", "v5-submissions-log", "v6-applications", "v7-registry-generation"])
    for table in [
      "reporters", "reporter_keys", "bases", "base_fields", "submissions", "submission_bytes",
      "report_revisions", "findings", "accession_counters", "audit_log",
    ] {
      #expect(tables.contains(table), "missing table \(table)")
    }
    try await store.upsertReporter(
      ReporterRecord(code: "440300", nameZh: "深圳市", nameEn: "Shenzhen", kind: .separatelyPlannedCity, parentCode: "440000"),
      actor: "test")
    try await store.close()

    let reopened = try AggregatorDatabase(path: path, logger: testLogger)
    #expect(try await reopened.reporters().map(\.code) == ["440300"])
    let migrationsAgain = try await reopened.pool.read { db in
      try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
    }
    #expect(migrationsAgain == ["v1", "v2-rounds", "v3-round-relay", "v4-arrival-events", "v5-submissions-log", "v6-applications", "v7-registry-generation"])
    try await reopened.close()
  }

  /// Makes a store with some content, closes it (checkpointing the WAL into the file), and
  /// returns the file's path.
  private func makeFilledStore(in folder: TemporaryFolder) async throws -> String {
    let path = folder.path("original.sqlite")
    let store = try AggregatorDatabase(path: path, logger: testLogger)
    for i in 0..<60 {
      let outcome = try await store.ingest(
        request("s-\(i)", base: "B-\(i)", content: "c-\(i)", bytes: Array(repeating: UInt8(i), count: 2048)))
      #expect(outcome.kind == "accepted")
    }
    try await store.close()
    let wal = (try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data()
    #expect(wal.isEmpty)  // checkpointed into the main file
    return path
  }

  private func copy(_ path: String, to name: String, in folder: TemporaryFolder) throws -> String {
    let target = folder.path(name)
    try FileManager.default.copyItem(atPath: path, toPath: target)
    return target
  }

  private func expectCorrupt(_ path: String) {
    do {
      let store = try AggregatorDatabase(path: path, logger: testLogger)
      Issue.record("opening \(path) should have failed")
      try? store.pool.close()
    } catch let error as StoreError {
      #expect(error.code == .corruptDatabase, "\(error)")
      #expect(error.message.contains(path))
      #expect(!error.isRetryable)
    } catch {
      Issue.record("expected a StoreError, got \(error)")
    }
  }

  @Test("garbage over the header is refused with a clear error")
  func garbageHeader() async throws {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let original = try await makeFilledStore(in: folder)
    let damaged = try copy(original, to: "damaged-header.sqlite", in: folder)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged))
    try handle.seek(toOffset: 0)
    try handle.write(contentsOf: Data((0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }))
    try handle.close()
    expectCorrupt(damaged)

    // The original is untouched and still opens.
    let store = try AggregatorDatabase(path: original, logger: testLogger)
    #expect(try await store.receipt(submissionId: "s-59")?.accessionNumber == "HT-2024-00000060")
    try await store.close()
  }

  @Test("garbage inside the pages is refused with a clear error")
  func garbagePages() async throws {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let original = try await makeFilledStore(in: folder)
    let damaged = try copy(original, to: "damaged-pages.sqlite", in: folder)
    let size = try FileManager.default.attributesOfItem(atPath: damaged)[.size] as! Int
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged))
    // Overwrite every page after the first with garbage, keeping the header valid.
    var offset = 4096
    while offset < size {
      try handle.seek(toOffset: UInt64(offset))
      try handle.write(contentsOf: Data((0..<64).map { UInt8(truncatingIfNeeded: ($0 + offset) &* 131) }))
      offset += 4096
    }
    try handle.close()
    expectCorrupt(damaged)
  }

  @Test("a truncated file is refused with a clear error")
  func truncated() async throws {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let original = try await makeFilledStore(in: folder)
    let damaged = try copy(original, to: "truncated.sqlite", in: folder)
    let size = try FileManager.default.attributesOfItem(atPath: damaged)[.size] as! Int
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged))
    try handle.truncate(atOffset: UInt64(size / 2))
    try handle.close()
    expectCorrupt(damaged)

    let tiny = try copy(original, to: "tiny.sqlite", in: folder)
    let tinyHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: tiny))
    try tinyHandle.truncate(atOffset: 50)
    try tinyHandle.close()
    expectCorrupt(tiny)
  }

  @Test("a file that is not a database is refused with a clear error")
  func notADatabase() throws {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let path = folder.path("notes.txt")
    try Data(String(repeating: "this is not a database\n", count: 200).utf8).write(to: URL(fileURLWithPath: path))
    expectCorrupt(path)
    // Nothing was written over it.
    #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("this is not a database"))
  }

  @Test("a missing folder is a cannotOpen error")
  func missingFolder() throws {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    #expect {
      _ = try AggregatorDatabase(path: folder.path("no/such/folder/store.sqlite"), logger: testLogger)
    } throws: { error in
      (error as? StoreError)?.code == .cannotOpen
    }
  }

  @Test("a file migrated by a newer version is refused")
  func schemaTooNew() async throws {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let path = folder.path("store.sqlite")
    let store = try AggregatorDatabase(path: path, logger: testLogger)
    try await store.pool.write { db in
      try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999-from-the-future')")
    }
    try await store.close()
    #expect {
      _ = try AggregatorDatabase(path: path, logger: testLogger)
    } throws: { error in
      (error as? StoreError)?.code == .schemaTooNew
    }
  }
}
