import Foundation
import HiTechSchema
import SwiftProtobuf

/// Fully populated messages for the round-trip tests: every field of the submission envelope and
/// of the annual report is set to a non-default value.
enum Fixtures {
  static func amount(_ value: Int64, _ unit: Ndrc_Hitech_V1_MoneyUnit) -> Ndrc_Hitech_V1_Amount {
    var a = Ndrc_Hitech_V1_Amount()
    a.value = value
    a.unit = unit
    return a
  }

  static func report() -> Ndrc_Hitech_V1_AnnualReport {
    var r = Ndrc_Hitech_V1_AnnualReport()
    r.totalOutputValue = amount(15_234_567, .cnyTenThousand)
    r.valueAdded = amount(4_100_000, .cnyTenThousand)
    r.exports = amount(812_345, .usdTenThousand)
    r.imports = amount(398_001, .usdTenThousand)
    r.rdExpenditure = amount(620_000, .cnyTenThousand)
    r.patentsApplied = 12_345
    r.patentsGranted = 6_789
    r.highTechProductOutputValue = amount(9_000_000, .cnyTenThousand)
    r.totalProductOutputValue = amount(12_000_000, .cnyTenThousand)
    r.employees = 456_789
    r.rdAndEngineeringStaff = 78_901
    r.inventionPatentsApplied = 5_432
    r.inventionPatentsGranted = 2_109
    r.enterprises = 3_210
    var info = Ndrc_Hitech_V1_FieldOutput()
    info.field = .information
    info.outputValue = amount(10_000_000, .cnyTenThousand)
    var bio = Ndrc_Hitech_V1_FieldOutput()
    bio.field = .biology
    bio.outputValue = amount(5_234_567, .cnyTenThousand)
    r.outputByField = [info, bio]
    r.compiledBy = "深圳市发展改革委高技术产业处"
    r.contact = "张三 0755-00000000"
    r.remarks = "统计口径与上年一致"
    return r
  }

  static func submission() -> Ndrc_Hitech_V1_Submission {
    var s = Ndrc_Hitech_V1_Submission()
    s.submissionID = "3f0c1d2e-8a4b-4c6d-9e0f-1a2b3c4d5e6f"
    s.contentSha256 = Data((0..<32).map { UInt8($0 * 7 & 0xFF) })
    s.reporterCode = "440300"
    s.baseID = "HTB-440300-INF"
    s.reportYear = 2024
    s.revision = 2
    s.replacesRevision = 1
    var o1 = Ndrc_Hitech_V1_WarningOverride()
    o1.ruleCode = "R-OUTPUT-YOY-JUMP"
    o1.explanation = "2024年园区合并，统计范围扩大"
    var o2 = Ndrc_Hitech_V1_WarningOverride()
    o2.ruleCode = "R-RD-INTENSITY-HIGH"
    o2.explanation = "major R&D centre opened"
    s.warningOverrides = [o1, o2]
    s.createdAt = Google_Protobuf_Timestamp(seconds: 1_736_000_000, nanos: 123_000_000)
    s.report = report()
    s.schemaVersion = .v1
    return s
  }
}
