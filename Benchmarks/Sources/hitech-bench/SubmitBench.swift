import Aggregator
import AggregatorStore
import DaemonSupport
import Foundation
import HiTechSchema
import HiTechTestSupport
import Logging
import TransparencyLog

/// Submit end to end: the real ReportIngest service (authorise, validate, deduplicate, store
/// durably in SQLite WAL with synchronous=FULL, receipt) behind a server transport in this
/// process, driven by clients in this process, one connection per reporter. Every call
/// submits a distinct valid report (base × year), so every one is stored.
struct SubmitBench {
  let directory: URL
  let database: AggregatorDatabase
  /// The sample registry's bases and their reporters.
  let bases: [(base: String, reporter: String)]
  let firstYear = 2000

  static func make(calls: Int) async throws -> SubmitBench {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hitech-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
    let database = try AggregatorDatabase(path: directory.appendingPathComponent("store.sqlite").path, logger: quiet)
    try await Registry.seedReporters(database, actor: "bench")
    let registry = AggregatorProcess.repositoryRoot.appendingPathComponent("deploy/sample/registry.json").path
    var bases: [(String, String)] = []
    for base in try RegistryFile.readBases(path: registry) {
      try await database.upsertBase(base, actor: "bench")
      if base.status == .active { bases.append((base.baseId, base.reporterCode)) }
    }
    let bench = SubmitBench(directory: directory, database: database, bases: bases)
    let years = (calls + bases.count - 1) / bases.count
    for year in bench.firstYear..<(bench.firstYear + years) {
      try await database.setRound(RoundRecord(reportYear: year, state: .open, latePolicy: .acceptMarkLate), actor: "bench")
    }
    return bench
  }

  var reporters: [String] { Array(Set(bases.map(\.reporter))).sorted() }

  /// Call `index`'s reporter and a distinct valid submission.
  func submission(_ index: Int) throws -> (String, Ndrc_Hitech_V1_Submission) {
    let (base, reporter) = bases[index % bases.count]
    let year = Int32(firstYear + index / bases.count)
    return (reporter, try SampleSubmissions.submission(base: base, year: year))
  }

  /// Signs every receipt, as the aggregator daemon does.
  static let receiptSigningKey = LogSigningKey()

  func service() -> ReportIngestService {
    ReportIngestService(
      database: database, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }),
      signer: Self.receiptSigningKey)
  }

  func close() async {
    try? await database.close()
    try? FileManager.default.removeItem(at: directory)
  }
}
