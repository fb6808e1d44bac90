import DaemonSupport
import Foundation
import HiTechSchema
import SwiftProtobuf

/// Reports for the sample bases (`deploy/sample/registry.json`).
enum HostileSamples {
  static func amount(_ value: Int64, _ unit: Ndrc_Hitech_V1_MoneyUnit = .cnyTenThousand) -> Ndrc_Hitech_V1_Amount {
    var amount = Ndrc_Hitech_V1_Amount()
    amount.value = value
    amount.unit = unit
    return amount
  }

  /// A valid report, scaled by `scale` percent.
  static func report(scale: Int64 = 100) -> Ndrc_Hitech_V1_AnnualReport {
    var report = Ndrc_Hitech_V1_AnnualReport()
    report.totalOutputValue = amount(1_000_000 * scale / 100)
    report.valueAdded = amount(300_000 * scale / 100)
    report.rdExpenditure = amount(50_000 * scale / 100)
    report.highTechProductOutputValue = amount(700_000 * scale / 100)
    report.totalProductOutputValue = amount(900_000 * scale / 100)
    report.exports = amount(80_000 * scale / 100, .usdTenThousand)
    report.imports = amount(60_000 * scale / 100, .usdTenThousand)
    report.patentsApplied = 1200
    report.patentsGranted = 800
    report.employees = 120_000
    report.rdAndEngineeringStaff = 18_000
    report.compiledBy = "hostile-peer test"
    return report
  }

  /// A sealed submission of `base` for 2025.
  static func submission(
    id: String = UUID().uuidString.lowercased(),
    base: String,
    revision: Int32 = 1,
    replaces: Int32 = 0,
    scale: Int64 = 100
  ) throws -> Ndrc_Hitech_V1_Submission {
    var submission = Ndrc_Hitech_V1_Submission()
    submission.submissionID = id
    submission.baseID = base
    submission.reportYear = 2025
    submission.revision = revision
    submission.replacesRevision = replaces
    submission.schemaVersion = .v1
    submission.report = report(scale: scale)
    return try submission.sealed()
  }

  /// A submission whose serialized size is exactly `serializedSize` bytes: padded with the
  /// long explanation of an override for an unknown rule code, beside an override without
  /// explanation, so the service rejects it (R-OVERRIDE-EMPTY) rather than storing a report.
  static func submission(base: String, serializedSize: Int) throws -> Ndrc_Hitech_V1_Submission {
    var submission = try submission(base: base)
    var empty = Ndrc_Hitech_V1_WarningOverride()
    empty.ruleCode = "R-OUTPUT-YOY-JUMP"
    submission.warningOverrides = [empty]
    var padding = Ndrc_Hitech_V1_WarningOverride()
    padding.ruleCode = "R-PADDING"
    submission.warningOverrides.append(padding)
    var length = max(0, serializedSize - (try submission.serializedBytes() as [UInt8]).count)
    for _ in 0..<8 {
      submission.warningOverrides[1].explanation = String(repeating: "x", count: length)
      let size = (try submission.serializedBytes() as [UInt8]).count
      if size == serializedSize { return submission }
      length += serializedSize - size
    }
    throw CocoaError(.coderInvalidValue)
  }
}
