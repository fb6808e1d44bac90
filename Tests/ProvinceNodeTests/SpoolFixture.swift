import Foundation
import HiTechSchema
import Logging
import ProvinceNode
import SwiftProtobuf

/// A spool in a fresh temporary directory, and report files to drop into it.
struct SpoolFixture {
  let directory: String
  let logger = Logger(label: "test.spool")

  init() throws {
    directory = NSTemporaryDirectory() + "spool-" + UUID().uuidString
    // outbox/ exists before the first Spool, as a producer may drop files before the node starts.
    try FileManager.default.createDirectory(atPath: directory + "/outbox", withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(atPath: directory) }

  /// A new Spool on the directory: what a restart does.
  func open() throws -> Spool { try Spool(directory: directory, logger: logger) }

  var outbox: String { directory + "/outbox" }

  static func amount(_ value: Int64, _ unit: Ndrc_Hitech_V1_MoneyUnit = .cnyTenThousand) -> Ndrc_Hitech_V1_Amount {
    var amount = Ndrc_Hitech_V1_Amount()
    amount.value = value
    amount.unit = unit
    return amount
  }

  /// A submission that passes the shared rule set; `id` empty lets the node choose one.
  static func submission(id: String = "", base: String = "BJ-ZGC-01", valueAdded: Int64 = 300_000) -> Ndrc_Hitech_V1_Submission {
    var report = Ndrc_Hitech_V1_AnnualReport()
    report.totalOutputValue = amount(1_000_000)
    report.valueAdded = amount(valueAdded)
    report.rdExpenditure = amount(50_000)
    report.exports = amount(80_000, .usdTenThousand)
    report.imports = amount(60_000, .usdTenThousand)
    report.patentsApplied = 1200
    report.patentsGranted = 800
    var submission = Ndrc_Hitech_V1_Submission()
    submission.submissionID = id
    submission.baseID = base
    submission.reportYear = 2025
    submission.revision = 1
    submission.schemaVersion = .v1
    submission.report = report
    return submission
  }

  /// Drops a file by the atomic-drop convention: write `.tmp`, then rename.
  @discardableResult
  func drop(_ name: String, _ submission: Ndrc_Hitech_V1_Submission = SpoolFixture.submission()) throws -> String {
    let bytes: [UInt8] = name.hasSuffix(".pb") ? try submission.serializedBytes() : Array(try submission.jsonUTF8Data())
    return try drop(name, bytes: bytes)
  }

  @discardableResult
  func drop(_ name: String, bytes: [UInt8]) throws -> String {
    let temporary = outbox + "/" + name + ".tmp"
    try Data(bytes).write(to: URL(fileURLWithPath: temporary))
    try FileManager.default.moveItem(atPath: temporary, toPath: outbox + "/" + name)
    return name
  }

  func names(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + folder)) ?? []).sorted()
  }

  func text(_ folder: String, _ name: String) -> String {
    (try? String(contentsOfFile: directory + "/" + folder + "/" + name, encoding: .utf8)) ?? ""
  }

  func journalLines() -> [String] {
    text("", "spool.journal").split(separator: "\n").map(String.init)
  }
}
