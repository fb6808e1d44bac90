import AggregatorStore
import AggregatorStorePostgres
import Foundation
import Testing

/// `hitech store copy`: a whole store moved into an empty one of either backend, with every id,
/// accession number and time kept, and verified by row counts and content hashes.
@Suite("Store copy: a whole history into an empty store, verified")
struct StoreCopyTests {
  struct Direction: Sendable, CustomTestStringConvertible {
    var from: Backend
    var to: Backend
    var testDescription: String { "\(from) -> \(to)" }

    static var available: [Direction] {
      Backend.available.flatMap { from in Backend.available.map { Direction(from: from, to: $0) } }
    }
  }

  @Test("every revision, receipt, round step, notice and audit entry arrives as it was", arguments: Direction.available)
  func copy(_ direction: Direction) async throws {
    let source = try await ContractDatabase.make(direction.from)
    let target = try await ContractDatabase.make(direction.to)
    defer { Task { await source.remove(); await target.remove() } }

    let before = try await source.open()
    let ids = try await populate(before)
    let expected = try await Snapshot(before, submissionIds: ids)
    try await before.close()
    // The target is created and migrated as the command does, by opening a store on it.
    try await target.open().close()

    let report = try await withTables(source, target) { try await StoreCopy.copy(from: $0, to: $1) }
    #expect(report.verified, "\(report)")
    let copied = Dictionary(uniqueKeysWithValues: report.tables.map { ($0.name, $0) })
    for name in ["reporters", "reporter_keys", "principal_keys", "bases", "base_fields", "submissions",
      "submission_bytes", "report_revisions", "findings", "audit_log", "rounds", "round_steps", "round_notices",
      "arrival_events"]
    {
      #expect((copied[name]?.targetRows ?? 0) > 0, "\(name) copied no row")
    }
    #expect(copied["submissions"]?.targetRows == ids.count)
    #expect("\(report)".contains("verified: "))

    let after = try await target.open()
    let actual = try await Snapshot(after, submissionIds: ids)
    #expect(actual == expected)

    // The target goes on from the copied history: the same id answers the copied receipt, a
    // new submission gets a new row id, a new accession number and a new audit entry id.
    let first = try #require(expected.receipts.first)
    var retry = request(first.submissionId, content: "report A")
    retry.receivedAtMicros = 99
    #expect(try await after.ingest(retry) == .replayed(first))
    guard case .accepted(let fresh) = try await after.ingest(request("s-new", base: "HTB-999999-NEW", year: 2024)) else {
      Issue.record("expected the new submission accepted")
      try await after.close()
      return
    }
    #expect(!expected.receipts.map(\.accessionNumber).contains(fresh.accessionNumber))
    #expect(isAccession(fresh.accessionNumber, year: 2024))
    #expect(try await after.lastArrivalSequence() > expected.arrivals.map(\.sequence).max() ?? 0)
    #expect(try await after.auditLog(afterId: 0, limit: 10_000).last!.id > expected.audit.last!.id)
    try await after.close()

    // A target that holds rows is refused, and left as it was.
    let refused = try await #require(throws: StoreError.self) {
      try await withTables(source, target) { try await StoreCopy.copy(from: $0, to: $1) }
    }
    #expect(refused.code == .failedPrecondition)
    #expect(refused.message.contains("not empty"))
  }

  @Test("a source not at this software's schema version is refused", arguments: Backend.available)
  func unmigratedSource(_ backend: Backend) async throws {
    let target = try await ContractDatabase.make(backend)
    defer { Task { await target.remove() } }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("copy-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let empty = try SQLiteTables(path: folder.appendingPathComponent("new.sqlite").path, readOnly: false)
    #expect(try await empty.appliedMigrations() == [])
    try await target.open().close()
    let targetTables = try tables(target, readOnly: false)
    let error = try await #require(throws: StoreError.self) {
      try await StoreCopy.copy(from: empty, to: targetTables)
    }
    try await targetTables.close()
    try await empty.close()
    #expect(error.message.contains("hitech store migrate"))
  }

  @Test("the schema version reads as nothing before the first migration and as every migration after", arguments: Backend.available)
  func schemaVersion(_ backend: Backend) async throws {
    let database = try await ContractDatabase.make(backend)
    defer { Task { await database.remove() } }
    let fresh = try tables(database, readOnly: false)
    #expect(try await fresh.appliedMigrations() == [])
    try await fresh.close()
    try await database.open().close()
    let migrated = try tables(database, readOnly: true)
    #expect(try await migrated.appliedMigrations() == migrated.knownMigrations)
    #expect(!migrated.knownMigrations.isEmpty)
    try await migrated.close()
  }

  // MARK: - Fixtures

  /// Runs `body` on the tables of both stores, closing them whatever happens.
  func withTables<T>(
    _ source: ContractDatabase, _ target: ContractDatabase, _ body: (any StoreTables, any StoreTables) async throws -> T
  ) async throws -> T {
    let from = try tables(source, readOnly: true)
    let to = try tables(target, readOnly: false)
    do {
      let value = try await body(from, to)
      try await from.close()
      try await to.close()
      return value
    } catch {
      try? await from.close()
      try? await to.close()
      throw error
    }
  }

  func tables(_ database: ContractDatabase, readOnly: Bool) throws -> any StoreTables {
    switch database.backend {
    case .sqlite: try SQLiteTables(path: String(database.location.dropFirst("sqlite:".count)), readOnly: readOnly)
    case .postgres: try PostgresTables(database.location, logger: contractLogger)
    }
  }

  /// A small centre's whole history: registry and keys (one retired), a principal, accepted,
  /// warned, late, duplicate, rejected and corrected submissions over two years, two rounds with
  /// steps and notices. Returns the submission ids.
  func populate(_ store: any ReportStore) async throws -> [String] {
    for code in ["440300", "110000"] { try await store.upsertReporter(reporter(code), actor: "seed") }
    try await store.upsertReporter(reporter("650000", active: false), actor: "seed")
    try await store.upsertBase(base("HTB-440300-INF", reporter: "440300", fields: ["information", "biology"]), actor: "seed")
    try await store.upsertBase(base("HTB-110000-INF", reporter: "110000"), actor: "seed")
    try await store.upsertBase(base("HTB-110000-OLD", reporter: "110000"), actor: "seed")
    try await store.retireBase("HTB-110000-OLD", actor: "seed")
    try await store.registerKey(z85Key(1), reporterCode: "440300", comment: "by courier", actor: "op")
    try await store.registerKey(z85Key(2), reporterCode: "110000", comment: "", actor: "op")
    try await store.retireKey(z85Key(2), actor: "op")
    try await store.registerPrincipalKey(z85Key(3), role: .coordinator, name: "central", comment: "", actor: "op")
    try await store.setRound(RoundRecord(reportYear: 2023, state: .closed, latePolicy: .refuse), actor: "op")
    _ = try await store.applyRoundStep(
      stepId: "2024-open", round: RoundRecord(reportYear: 2024, state: .open, latePolicy: .acceptMarkLate),
      roundDetail: [1, 2, 3], actor: "coordinator:central"
    ) { snapshot in snapshot.expectedBases.map { OutgoingNotice(reporterCode: $0.reporterCode, bytes: Array($0.baseId.utf8)) } }

    let warning = StoredFinding(
      ruleCode: "R-OUTPUT-YOY-JUMP", severity: .warning, fieldPath: "report.total_output_value",
      message: "total output rose 80 %", overridden: true, overrideExplanation: "two parks merged")
    let error = StoredFinding(
      ruleCode: "R-VALUE-NEGATIVE", severity: .error, fieldPath: "report.exports", message: "negative", overridden: false,
      overrideExplanation: "")
    var warned = request("s-2", base: "HTB-110000-INF", content: "beijing", status: .acceptedWithWarnings, reporter: "110000", findings: [warning])
    warned.explanations = [IngestRequest.Explanation(ruleCode: "R-OUTPUT-YOY-JUMP", explanation: "two parks merged")]
    var requests = [
      request("s-1", content: "report A", receivedAt: 1_750_000_000_000_001),
      warned,
      request("s-3", content: "report A", receivedAt: 1_750_000_000_000_003),  // duplicate of s-1
      request("s-4", base: "HTB-440300-INF", content: "bad", status: .rejected, findings: [error]),
      request("s-5", revision: 2, replaces: 1, content: "report A, corrected"),
      request("s-6", year: 2023, content: "last year", late: true),
    ]
    requests[5].status = .acceptedLate
    for req in requests { _ = try await store.ingest(req) }
    _ = try await store.applyRoundStep(
      stepId: "2024-close", round: RoundRecord(reportYear: 2024, state: .closed, latePolicy: .acceptMarkLate),
      roundDetail: [4], actor: "coordinator:central"
    ) { _ in [OutgoingNotice(reporterCode: "110000", bytes: [7, 0, 255])] }
    return requests.map(\.submissionId)
  }

  /// Everything a store answers about its history, through the store's own API.
  struct Snapshot: Equatable {
    var receipts: [StoredReceipt]
    var arrivals: [ArrivalLogEntry]
    var revisions: [[StoredReport]]
    var audit: [AuditEntry]
    var notices: [[StoredNotice]]
    var reporters: [ReporterRecord]
    var keys: [ReporterKeyRecord]
    var principals: [PrincipalKeyRecord]
    var bases: [BaseRecord]
    var rounds: [RoundRecord]
    var details: [[UInt8]?]
    var status: ArrivalStatus

    init(_ store: any ReportStore, submissionIds: [String]) async throws {
      var receipts: [StoredReceipt] = []
      for id in submissionIds { receipts.append(try #require(try await store.receipt(submissionId: id))) }
      self.receipts = receipts
      arrivals = try await store.arrivals(afterSequence: 0, reportYear: nil, reporterCode: nil, limit: 1000)
      var revisions: [[StoredReport]] = []
      for (base, year) in [("HTB-440300-INF", 2024), ("HTB-440300-INF", 2023), ("HTB-110000-INF", 2024)] {
        revisions.append(try await store.revisions(baseId: base, reportYear: year))
      }
      self.revisions = revisions
      audit = try await store.auditLog(afterId: 0, limit: 10_000)
      var notices: [[StoredNotice]] = []
      for code in ["440300", "110000"] {
        notices.append(try await store.notices(reporterCode: code, afterSequence: 0, reportYears: [], limit: 100))
      }
      self.notices = notices
      reporters = try await store.reporters()
      keys = try await store.keys(reporterCode: nil, includeRetired: true)
      principals = try await store.principalKeys(includeRetired: true)
      bases = try await store.bases(reporterCode: nil, includeWithdrawn: true)
      rounds = try await store.rounds()
      details = [try await store.roundDetail(reportYear: 2024), try await store.roundDetail(reportYear: 2023)]
      status = try await store.arrivalStatus(reportYear: 2024, reporterCode: nil)
    }
  }
}
