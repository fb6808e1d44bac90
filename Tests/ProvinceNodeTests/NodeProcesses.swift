import AggregatorStore
import AggregatorStorePostgres
import DaemonSupport
import Foundation
import TestProcesses
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import Logging
import ProvinceNode
import Testing
import ZeroMQ
import ZeroMQTransport

/// The aggregator fixture is `HiTechTestSupport.AggregatorProcess`, shared with the other
/// end-to-end tests; this name and initializer are what these tests were written against.
typealias AggregatorUnderTest = AggregatorProcess

extension AggregatorProcess {
  /// - Parameter loadBases: how many more bases (`LOAD-110000-0001`…) to register for reporter
  ///   110000 besides the sample registry, for backlogs larger than the 2 × 1,000 (base, year)
  ///   pairs of its two sample bases (each takes one first revision per year 2000…2999).
  ///
  /// With `sharing`, a second aggregator process on the other's store (a `postgres://` URL both
  /// reach) and keys: nothing is imported again.
  convenience init(
    reporters: [String], years: [Int], loadBases: Int = 0, store: String? = nil, sharing other: AggregatorUnderTest? = nil,
    settings: [String: Any] = [:]
  ) async throws {
    let bases: [[String: Any]] = loadBases == 0 ? [] : (1...loadBases).map { index in
      [
        "baseId": NodeSamples.loadBase(index), "nameZh": "北京负载测试基地\(index)", "nameEn": "Beijing load test base \(index)",
        "kind": "BASE_KIND_SPECIALIZED", "fields": ["FIELD_INFORMATION"], "level": "BASE_LEVEL_NATIONAL",
        "reporterCode": "110000", "cityCode": "110100", "cityNameZh": "北京市",
        "recognition": [
          "documentNumber": "测试[2010]\(index)号", "date": ["year": 2010, "month": 6, "day": 1],
          "level": "BASE_LEVEL_NATIONAL", "issuer": "TEST",
        ] as [String: Any],
        "status": "BASE_STATUS_ACTIVE", "firstReportYear": 2000,
      ]
    }
    try self.init(reporters: reporters, years: [], extraBases: bases, store: store, sharing: other, configuration: settings)
    if other != nil { return }
    // Many rounds at once: straight into the store (the daemon is not running yet).
    try await openRounds(years)
  }
}

/// A real `hitech node run` process with its own spool, for reporter `reporter`.
final class NodeUnderTest: @unchecked Sendable {
  let directory: String
  let reporter: String
  private var process: ChildProcess?

  var spool: String { directory + "/spool" }
  var outbox: String { spool + "/outbox" }
  var configPath: String { directory + "/node.json" }
  var statusPath: String { directory + "/node.status.json" }
  var logPath: String { directory + "/node.log" }

  init(reporter: String, aggregator: AggregatorUnderTest, extra: [String: Any] = [:]) throws {
    self.reporter = reporter
    directory = NSTemporaryDirectory() + "node-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory + "/spool/outbox", withIntermediateDirectories: true)
    var node: [String: Any] = [
      "reporterCode": reporter,
      "aggregatorEndpoint": aggregator.endpoint,
      "aggregatorPublicKeyPath": aggregator.serverPublicKeyPath,
      "secretKeyPath": aggregator.secretKeyPath(reporter),
      "spoolDirectory": spool,
      "statusPath": statusPath,
      "initialBackoffMilliseconds": 100,
      "maxBackoffMilliseconds": 1000,
      "callTimeoutSeconds": 3,
    ]
    node.merge(extra) { $1 }
    try JSONSerialization.data(withJSONObject: ["node": node]).write(to: URL(fileURLWithPath: configPath))
  }

  deinit {
    if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    try? FileManager.default.removeItem(atPath: directory)
  }

  func start() throws {
    let process = ChildProcess()
    process.executableURL = try AggregatorUnderTest.executable
    process.arguments = ["node", "run", "--config", configPath]
    if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
    let logFile = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    logFile.seekToEndOfFile()
    process.standardOutput = logFile
    process.standardError = logFile
    try process.run()
    self.process = process
  }

  var isRunning: Bool { process?.isRunning ?? false }
  var pid: Int32? { process?.processIdentifier }

  func kill9() {
    guard let process else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    self.process = nil
  }

  @discardableResult
  func terminate() -> Int32 {
    guard let process else { return -1 }
    process.terminate()
    process.waitUntilExit()
    self.process = nil
    return process.terminationStatus
  }

  func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

  /// Drops a submission as `name` (.json) with the atomic-drop convention: write x.json.tmp, rename.
  func drop(_ name: String, _ submission: Ndrc_Hitech_V1_Submission) throws {
    let data = try submission.jsonUTF8Data()
    let temporary = outbox + "/" + name + ".tmp"
    try data.write(to: URL(fileURLWithPath: temporary))
    guard rename(temporary, outbox + "/" + name) == 0 else { throw TestFailure("rename \(name): errno \(errno)") }
  }

  /// Message files (no sidecars) in a spool folder.
  func files(_ folder: String) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: spool + "/" + folder)) ?? []
    return names.filter { $0.hasSuffix(".json") && !$0.hasSuffix(".receipt.json") || $0.hasSuffix(".pb") }.sorted()
  }

  func text(_ folder: String, _ name: String) -> String {
    (try? String(contentsOfFile: spool + "/" + folder + "/" + name, encoding: .utf8)) ?? ""
  }

  /// How many message files a spool folder holds (cheaper than `files` for big folders: no sort).
  func count(_ folder: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: spool + "/" + folder)) ?? []
    return names.count { $0.hasSuffix(".json") && !$0.hasSuffix(".receipt.json") || $0.hasSuffix(".pb") }
  }

  /// Waits until `count` files are in sent/ plus rejected/ (or throws after `timeout`). Big
  /// backlogs are polled once a second, so that listing sent/ costs the node little.
  func waitUntilDone(_ count: Int, timeout: Duration = .seconds(120)) async throws {
    let deadline = ContinuousClock.now + timeout
    let interval: Duration = count > 5000 ? .seconds(1) : .milliseconds(100)
    while ContinuousClock.now < deadline {
      if self.count("sent") + self.count("rejected") >= count { return }
      try await Task.sleep(for: interval)
    }
    throw TestFailure("only \(files("sent").count) sent and \(files("rejected").count) rejected of \(count) after \(timeout); log:\n\(log().suffix(4000))")
  }
}

struct TestFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// Valid sealed submissions for distinct (base, year) pairs.
enum NodeSamples {
  static func amount(_ value: Int64, _ unit: Ndrc_Hitech_V1_MoneyUnit = .cnyTenThousand) -> Ndrc_Hitech_V1_Amount {
    var amount = Ndrc_Hitech_V1_Amount()
    amount.value = value
    amount.unit = unit
    return amount
  }

  static func report() -> Ndrc_Hitech_V1_AnnualReport {
    var report = Ndrc_Hitech_V1_AnnualReport()
    report.totalOutputValue = amount(1_000_000)
    report.valueAdded = amount(300_000)
    report.rdExpenditure = amount(50_000)
    report.highTechProductOutputValue = amount(700_000)
    report.totalProductOutputValue = amount(900_000)
    report.exports = amount(80_000, .usdTenThousand)
    report.imports = amount(60_000, .usdTenThousand)
    report.patentsApplied = 1200
    report.patentsGranted = 800
    report.employees = 120_000
    report.rdAndEngineeringStaff = 18_000
    report.compiledBy = "sample"
    return report
  }

  static func submission(id: String = UUID().uuidString.lowercased(), base: String, year: Int) throws -> Ndrc_Hitech_V1_Submission {
    var submission = Ndrc_Hitech_V1_Submission()
    submission.submissionID = id
    submission.baseID = base
    submission.reportYear = Int32(year)
    submission.revision = 1
    submission.schemaVersion = .v1
    submission.report = report()
    return try submission.sealed()
  }

  /// `count` submissions of reporter 110000 (its two sample bases), years from 2000 upwards
  /// (the store takes years 2000...2999).
  static func beijing(_ count: Int) throws -> [(name: String, submission: Ndrc_Hitech_V1_Submission)] {
    try (0..<count).map { index in
      let base = index % 2 == 0 ? "SAMPLE-110000-01" : "SAMPLE-110000-02"
      let year = 2000 + index / 2
      return (String(format: "report-%05d.json", index), try submission(base: base, year: year))
    }
  }

  static func years(_ count: Int) -> [Int] {
    Array(2000...(2000 + (count + 1) / 2 - 1))
  }

  static func loadBase(_ index: Int) -> String { String(format: "LOAD-110000-%04d", index) }

  /// `count` submissions of reporter 110000 spread over `bases` load bases (registered with
  /// `AggregatorUnderTest(loadBases:)`): base `i % bases`, year `2000 + i / bases`.
  static func spread(_ count: Int, bases: Int) throws -> [(name: String, submission: Ndrc_Hitech_V1_Submission)] {
    try (0..<count).map { index in
      (String(format: "load-%06d.json", index), try submission(base: loadBase(index % bases + 1), year: 2000 + index / bases))
    }
  }

  static func spreadYears(_ count: Int, bases: Int) -> [Int] {
    Array(2000...(2000 + (count + bases - 1) / bases - 1))
  }
}
