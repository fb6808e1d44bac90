import AggregatorStore
import Foundation
import Logging
import Testing

/// A real SQLite store in a temporary folder, populated with one round of known arrivals.
///
/// Round 2025, closed, accept_mark_late; opens 2026-01-01, deadline 2026-03-31 (UTC).
///
/// | base | reporter | field | what arrived | state |
/// |---|---|---|---|---|
/// | BJ-1 | 110000 | information | accepted on time | accepted |
/// | BJ-2 | 110000 | biology | accepted on time, with a warning | accepted |
/// | BJ-3 | 110000 | aerospace | nothing | missing |
/// | GD-1 | 440000 | new_energy | accepted late | accepted_late |
/// | GD-2 | 440000 | ocean | rejected twice | rejected |
/// | SZ-1 | 440300 | information | accepted on time, corrected late (revision 2) | accepted |
/// | SZ-2 | 440300 | new_materials | nothing | missing |
///
/// GD-2's name carries markup (`<script>` and `&`) to check escaping. The clock ("now") is
/// five minutes after the last submission, two days after the deadline.
struct Fixture {
  static let year = 2025
  static let opensAt: Int64 = 1_767_225_600_000_000  // 2026-01-01T00:00:00Z
  static let deadline: Int64 = 1_774_915_200_000_000  // 2026-03-31T00:00:00Z
  static let day: Int64 = 86_400_000_000
  static let minute: Int64 = 60_000_000
  static let lastSubmission = deadline + 2 * day + 3 * minute
  static let now = lastSubmission + 5 * minute
  static let evilName = "海洋<script>alert(1)</script> & \"Co\""

  static let valueAddedError = StoredFinding(
    ruleCode: "R-VALUE-ADDED-LE-OUTPUT", severity: .error, fieldPath: "report.value_added",
    message: "value added (120) exceeds total output (100)")
  static let negativeError = StoredFinding(
    ruleCode: "R-AMOUNT-NON-NEGATIVE", severity: .error, fieldPath: "report.rd_expenditure",
    message: "R&D expenditure must not be negative")
  static let jumpWarning = StoredFinding(
    ruleCode: "R-OUTPUT-YOY-JUMP", severity: .warning, fieldPath: "report.total_output", message: "output grew 400%")

  let folder: URL
  let path: String
  let database: AggregatorDatabase

  static func make() async throws -> Fixture {
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("monitoring-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let path = folder.appendingPathComponent("aggregator.sqlite").path
    let database = try AggregatorDatabase(
      path: path, configuration: .init(nowMicros: { Fixture.now }), logger: Logger(label: "MonitoringTests"))
    let fixture = Fixture(folder: folder, path: path, database: database)
    try await fixture.populate()
    return fixture
  }

  func close() async {
    try? await database.close()
    try? FileManager.default.removeItem(at: folder)
  }

  private func populate() async throws {
    let db = database
    try await db.upsertReporter(ReporterRecord(code: "110000", nameZh: "北京市", nameEn: "Beijing", kind: .provincial), actor: "seed")
    try await db.upsertReporter(ReporterRecord(code: "440000", nameZh: "广东省", nameEn: "Guangdong", kind: .provincial), actor: "seed")
    try await db.upsertReporter(
      ReporterRecord(code: "440300", nameZh: "深圳市", nameEn: "Shenzhen", kind: .separatelyPlannedCity, parentCode: "440000"),
      actor: "seed")
    for (id, reporter, field, name) in [
      ("BJ-1", "110000", "information", "中关村信息基地"), ("BJ-2", "110000", "biology", "北京生物基地"),
      ("BJ-3", "110000", "aerospace", "北京航空航天基地"), ("GD-1", "440000", "new_energy", "广东新能源基地"),
      ("GD-2", "440000", "ocean", Self.evilName), ("SZ-1", "440300", "information", "深圳信息基地"),
      ("SZ-2", "440300", "new_materials", "深圳新材料基地"),
    ] {
      try await db.upsertBase(
        BaseRecord(
          baseId: id, nameZh: name, nameEn: "Base \(id)", reporterCode: reporter, kind: .specialized, level: .national,
          fields: [field], cityCode: reporter, cityNameZh: "", recognitionDocument: "发改高技[2009]3211号",
          recognitionDate: "2009-12-16", firstReportYear: 2020, status: .active),
        actor: "seed")
    }
    try await db.setRound(
      RoundRecord(
        reportYear: Self.year, state: .closed, latePolicy: .acceptMarkLate, opensAtMicros: Self.opensAt,
        deadlineMicros: Self.deadline),
      actor: "coordinator")

    let o = Self.opensAt
    let d = Self.deadline
    // Accession numbers follow the order of accepted submissions: BJ-1 1, SZ-1 2, BJ-2 3, GD-1 4, SZ-1 r2 5.
    try await ingest("s-bj1", "BJ-1", "110000", status: .accepted, at: o + 10 * Self.day)
    try await ingest("s-sz1", "SZ-1", "440300", status: .accepted, at: o + 15 * Self.day)
    try await ingest("s-bj2", "BJ-2", "110000", status: .acceptedWithWarnings, findings: [Self.jumpWarning], at: o + 20 * Self.day)
    try await ingest("s-gd2-a", "GD-2", "440000", status: .rejected, findings: [Self.valueAddedError], at: o + 30 * Self.day)
    try await ingest("s-gd1", "GD-1", "440000", status: .acceptedLate, late: true, at: d + 2 * Self.day)
    try await ingest(
      "s-gd2-b", "GD-2", "440000", status: .rejected, findings: [Self.valueAddedError, Self.negativeError],
      at: d + 2 * Self.day + Self.minute)
    try await ingest(
      "s-sz1-r2", "SZ-1", "440300", revision: 2, replaces: 1, status: .acceptedLate, late: true, at: Self.lastSubmission)
  }

  private func ingest(
    _ id: String, _ base: String, _ reporter: String, revision: Int = 1, replaces: Int = 0, status: ReceiptStatus,
    late: Bool = false, findings: [StoredFinding] = [], at: Int64
  ) async throws {
    let outcome = try await database.ingest(
      IngestRequest(
        submissionId: id, reporterCode: reporter, baseId: base, reportYear: Self.year, revision: revision,
        replacesRevision: replaces, contentSHA256: Self.hash(id), originalBytes: Array("report \(id)".utf8), status: status,
        late: late, findings: findings, explanations: [], receivedAtMicros: at))
    if case .conflict(let conflict) = outcome {
      Issue.record("fixture submission \(id) conflicted: \(conflict)")
    }
  }

  /// 32 distinct, stable bytes per content (not a real digest).
  static func hash(_ content: String) -> [UInt8] {
    var state: UInt64 = 0xcbf2_9ce4_8422_2325
    var out: [UInt8] = []
    for round in 0..<4 {
      for byte in Array(content.utf8) + [UInt8(round)] {
        state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
      }
      withUnsafeBytes(of: state.bigEndian) { out.append(contentsOf: $0) }
    }
    return out
  }
}

/// Runs `body` with a fresh fixture, closing and removing it afterwards.
func withFixture<T>(_ body: (Fixture) async throws -> T) async throws -> T {
  let fixture = try await Fixture.make()
  do {
    let result = try await body(fixture)
    await fixture.close()
    return result
  } catch {
    await fixture.close()
    throw error
  }
}
