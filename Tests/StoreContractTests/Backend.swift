import AggregatorStore
import AggregatorStorePostgres
import Foundation
import Logging
import Testing

/// A database the contract runs against. SQLite always; PostgreSQL when
/// `HITECH_TEST_POSTGRES_URL` names a server (Tests/run.sh starts a throwaway one and sets it).
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case sqlite
  case postgres

  /// The server the PostgreSQL cases use (each test makes its own database on it).
  static let postgresURL: String? = {
    let value = ProcessInfo.processInfo.environment["HITECH_TEST_POSTGRES_URL"] ?? ""
    return value.isEmpty ? nil : value
  }()

  static let skippedMessage =
    "HITECH_TEST_POSTGRES_URL is not set: the PostgreSQL cases of the store contract are skipped "
    + "(Tests/run.sh starts a throwaway server and runs them)"

  /// The backends to run: every one that is available here.
  static var available: [Backend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

  var testDescription: String { rawValue }
}

let contractLogger = Logger(label: "StoreContractTests")

/// One empty database of a backend, and the stores opened on it.
struct ContractDatabase: Sendable {
  let backend: Backend
  /// `sqlite:PATH` or a `postgres://` URL.
  let location: String
  private let cleanup: @Sendable () async -> Void

  /// Makes an empty database (a file in a temporary folder, or a new database on the server).
  static func make(_ backend: Backend) async throws -> ContractDatabase {
    switch backend {
    case .sqlite:
      let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("store-contract-\(UUID().uuidString)", isDirectory: true)
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      return ContractDatabase(
        backend: backend, location: "sqlite:" + folder.appendingPathComponent("store.sqlite").path,
        cleanup: { try? FileManager.default.removeItem(at: folder) })
    case .postgres:
      let server = try #require(Backend.postgresURL, "\(Backend.skippedMessage)")
      let name = "hitech_contract_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
      try await PostgresReportStore.execute("CREATE DATABASE \(name)", url: server, logger: contractLogger)
      return ContractDatabase(
        backend: backend, location: try PostgresReportStore.url(server, database: name),
        cleanup: {
          try? await PostgresReportStore.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", url: server, logger: contractLogger)
        })
    }
  }

  /// Opens a store on this database (another instance each call, as another aggregator would).
  func open(maxBatchSize: Int = 256) async throws -> any ReportStore {
    switch backend {
    case .sqlite:
      return try AggregatorDatabase(
        path: String(location.dropFirst("sqlite:".count)),
        configuration: .init(maxBatchSize: maxBatchSize), logger: contractLogger)
    case .postgres:
      return try await PostgresReportStore.open(
        location,
        // Generous: the parallel suites load this 2-core machine and the server beside them.
        configuration: .init(maxBatchSize: maxBatchSize, connectTimeoutSeconds: 60), logger: contractLogger)
    }
  }

  func remove() async { await cleanup() }
}

/// Opens a store on a new database of `backend`, runs `body`, closes and removes it.
func withStore(
  _ backend: Backend, maxBatchSize: Int = 256, _ body: (any ReportStore) async throws -> Void
) async throws {
  let database = try await ContractDatabase.make(backend)
  do {
    let store = try await database.open(maxBatchSize: maxBatchSize)
    do {
      try await body(store)
      try await store.close()
    } catch {
      try? await store.close()
      throw error
    }
  } catch {
    await database.remove()
    throw error
  }
  await database.remove()
}

/// The group-commit writer of a store (each backend has one).
func writer(of store: any ReportStore) throws -> IngestWriter {
  if let sqlite = store as? AggregatorDatabase { return sqlite.writer }
  if let postgres = store as? PostgresReportStore { return postgres.writer }
  throw ContractError("no writer known for \(type(of: store))")
}

struct ContractError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

// MARK: - Fixtures

/// 32 bytes standing for the SHA-256 of some content (distinct and stable, not real digests).
func hash(_ content: String) -> [UInt8] {
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

func request(
  _ submissionId: String,
  base: String = "HTB-440300-INF",
  year: Int = 2024,
  revision: Int = 1,
  replaces: Int = 0,
  content: String = "report A",
  status: ReceiptStatus = .accepted,
  late: Bool = false,
  reporter: String = "440300",
  findings: [StoredFinding] = [],
  receivedAt: Int64 = 1_750_000_000_000_000
) -> IngestRequest {
  IngestRequest(
    submissionId: submissionId,
    reporterCode: reporter,
    baseId: base,
    reportYear: year,
    revision: revision,
    replacesRevision: replaces,
    contentSHA256: hash(content),
    originalBytes: Array("envelope of \(submissionId): \(content)".utf8),
    status: status,
    late: late,
    findings: findings,
    explanations: [],
    receivedAtMicros: receivedAt)
}

/// A valid-looking Z85 public key (40 characters) that differs by `n`.
func z85Key(_ n: Int) -> String {
  let tail = String(n)
  return String(repeating: "a", count: 40 - tail.count) + tail
}

func reporter(_ code: String, active: Bool = true) -> ReporterRecord {
  ReporterRecord(code: code, nameZh: "报告者\(code)", nameEn: "Reporter \(code)", kind: .provincial, parentCode: nil, active: active)
}

func base(_ id: String, reporter: String, fields: [String] = ["information"], firstYear: Int = 2020) -> BaseRecord {
  BaseRecord(
    baseId: id, nameZh: "基地\(id)", nameEn: "Base \(id)", reporterCode: reporter,
    kind: fields.count > 1 ? .comprehensive : .specialized, level: .national, fields: fields,
    cityCode: "440300", cityNameZh: "深圳", recognitionDocument: "发改高技[2010]1号", recognitionDate: "2010-01-01",
    firstReportYear: firstYear, status: .active)
}

/// Matches an accession number of `year`: `HT-YYYY-` and eight digits.
func isAccession(_ text: String, year: Int) -> Bool {
  let prefix = "HT-\(year)-"
  return text.hasPrefix(prefix) && text.count == prefix.count + 8 && text.dropFirst(prefix.count).allSatisfy(\.isNumber)
}

extension IngestOutcome {
  var conflict: IngestConflict? {
    if case .conflict(let c) = self { return c }
    return nil
  }
}

/// Polls `condition` until it holds (at most ~10 s).
func eventually(_ condition: () async throws -> Bool) async throws {
  for _ in 0..<1000 {
    if try await condition() { return }
    try await Task.sleep(for: .milliseconds(10))
  }
  Issue.record("condition did not hold within 10 s")
}
