import DaemonSupport
import Foundation
public import HiTechSchema

/// Plausible annual reports for the sample bases (`deploy/sample/registry.json`), built in code
/// so each test states what it changes. Shared by the aggregator and hostile-peer tests.
public enum SampleSubmissions {
  public static func amount(_ value: Int64, _ unit: Ndrc_Hitech_V1_MoneyUnit = .cnyTenThousand) -> Ndrc_Hitech_V1_Amount {
    var amount = Ndrc_Hitech_V1_Amount()
    amount.value = value
    amount.unit = unit
    return amount
  }

  /// A valid report: output 1,000,000 万元 (100 亿元) scaled by `scale` percent.
  public static func report(scale: Int64 = 100) -> Ndrc_Hitech_V1_AnnualReport {
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
    report.compiledBy = "sample"
    return report
  }

  /// A sealed submission (content hash set).
  public static func submission(
    id: String = UUID().uuidString,
    base: String,
    year: Int32 = 2025,
    revision: Int32 = 1,
    replaces: Int32 = 0,
    report: Ndrc_Hitech_V1_AnnualReport = SampleSubmissions.report(),
    overrides: [String: String] = [:]
  ) throws -> Ndrc_Hitech_V1_Submission {
    var submission = Ndrc_Hitech_V1_Submission()
    submission.submissionID = id
    submission.baseID = base
    submission.reportYear = year
    submission.revision = revision
    submission.replacesRevision = replaces
    submission.schemaVersion = .v1
    submission.report = report
    submission.warningOverrides = overrides.sorted(by: { $0.key < $1.key }).map { rule, text in
      var override = Ndrc_Hitech_V1_WarningOverride()
      override.ruleCode = rule
      override.explanation = text
      return override
    }
    return try submission.sealed()
  }
}
