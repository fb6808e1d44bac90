import Foundation
import HiTechSchema
import SwiftProtobuf
import Testing

@Suite("Submission, binary encoding")
struct SubmissionBinaryTests {
  @Test("a fully populated submission survives a binary round trip")
  func binaryRoundTrip() throws {
    let original = Fixtures.submission()
    let bytes: [UInt8] = try original.serializedBytes()
    let decoded = try Ndrc_Hitech_V1_Submission(serializedBytes: bytes)
    #expect(decoded == original)
    #expect(decoded.report.totalOutputValue.value == 15_234_567)
    #expect(decoded.report.totalOutputValue.unit == .cnyTenThousand)
    #expect(decoded.report.exports.unit == .usdTenThousand)
    #expect(decoded.warningOverrides.map(\.ruleCode) == ["R-OUTPUT-YOY-JUMP", "R-RD-INTENSITY-HIGH"])
    #expect(decoded.report.outputByField.map(\.field) == [.information, .biology])
    #expect(decoded.createdAt.nanos == 123_000_000)
    #expect(decoded.schemaVersion == .v1)
    #expect(decoded.report.unknownFields.data.isEmpty)
  }

  @Test("every field of the fixture is set, so the round trip covers them all")
  func fixtureIsFullyPopulated() throws {
    let s = Fixtures.submission()
    #expect(s.hasReport && s.hasCreatedAt)
    let r = s.report
    #expect(r.hasTotalOutputValue && r.hasValueAdded && r.hasExports && r.hasImports)
    #expect(r.hasRdExpenditure && r.hasHighTechProductOutputValue && r.hasTotalProductOutputValue)
    #expect(r.hasPatentsApplied && r.hasPatentsGranted && r.hasEmployees && r.hasRdAndEngineeringStaff)
    #expect(r.hasInventionPatentsApplied && r.hasInventionPatentsGranted && r.hasEnterprises)
    #expect(!r.compiledBy.isEmpty && !r.contact.isEmpty && !r.remarks.isEmpty)
  }

  /// content_sha256 hashes the deterministic encoding of the report: fields in field-number order,
  /// whatever order they were set in; a count explicitly set to 0 is present (proto3 optional).
  @Test("the canonical report encoding is the documented proto3 wire format")
  func canonicalReportBytes() throws {
    var r = Ndrc_Hitech_V1_AnnualReport()
    r.employees = 0  // field 10, set last-but-one, encoded after field 6
    r.patentsApplied = 7  // field 6
    r.totalOutputValue = Fixtures.amount(1500, .cnyTenThousand)  // field 1
    let bytes: [UInt8] = try r.serializedBytes()
    let expected: [UInt8] = [
      0x0A, 0x05, 0x08, 0xDC, 0x0B, 0x10, 0x02,  // 1: Amount {1: 1500, 2: CNY_TEN_THOUSAND}
      0x30, 0x07,  // 6: patents_applied = 7
      0x50, 0x00,  // 10: employees = 0 (present)
    ]
    #expect(bytes == expected)
    #expect(try Ndrc_Hitech_V1_AnnualReport().serializedBytes() == [UInt8]())
  }

  @Test("unset counts differ from zero counts")
  func presenceOfCounts() throws {
    var r = Ndrc_Hitech_V1_AnnualReport()
    #expect(!r.hasPatentsGranted)
    r.patentsGranted = 0
    let decoded = try Ndrc_Hitech_V1_AnnualReport(serializedBytes: try r.serializedBytes() as [UInt8])
    #expect(decoded.hasPatentsGranted)
    #expect(decoded.patentsGranted == 0)
    #expect(!decoded.hasPatentsApplied)
  }

  @Test("negative amounts and counts are representable, so validation can report them")
  func negativesSurvive() throws {
    var r = Ndrc_Hitech_V1_AnnualReport()
    r.valueAdded = Fixtures.amount(-1, .cnyYuan)
    r.employees = -42
    let decoded = try Ndrc_Hitech_V1_AnnualReport(serializedBytes: try r.serializedBytes() as [UInt8])
    #expect(decoded.valueAdded.value == -1)
    #expect(decoded.employees == -42)
  }

  @Test("an unknown schema version or enum value is kept, not lost or turned into a default")
  func unknownEnumValuesSurvive() throws {
    var s = Fixtures.submission()
    s.schemaVersion = .UNRECOGNIZED(2)
    s.report.totalOutputValue.unit = .UNRECOGNIZED(99)
    let decoded = try Ndrc_Hitech_V1_Submission(serializedBytes: try s.serializedBytes() as [UInt8])
    #expect(decoded.schemaVersion == .UNRECOGNIZED(2))
    #expect(decoded.schemaVersion.rawValue == 2)
    #expect(decoded.report.totalOutputValue.unit.rawValue == 99)
  }

  @Test("a receipt with findings survives a binary round trip")
  func receiptRoundTrip() throws {
    var f = Ndrc_Hitech_V1_Finding()
    f.ruleCode = "R-VALUE-ADDED-LE-OUTPUT"
    f.severity = .error
    f.fieldPath = "report.value_added"
    f.message = "增加值 5 万元 exceeds 生产总产值 4 万元"
    var w = Ndrc_Hitech_V1_Finding()
    w.ruleCode = "R-OUTPUT-YOY-JUMP"
    w.severity = .warning
    w.fieldPath = "report.total_output_value"
    w.overridden = true
    w.overrideExplanation = "merger"
    var receipt = Ndrc_Hitech_V1_Receipt()
    receipt.accessionNumber = "HT-2025-00000042"
    receipt.submissionID = "3f0c1d2e-8a4b-4c6d-9e0f-1a2b3c4d5e6f"
    receipt.receivedAt = Google_Protobuf_Timestamp(seconds: 1_740_000_000)
    receipt.status = .acceptedWithWarnings
    receipt.revision = 1
    receipt.findings = [f, w]
    receipt.baseID = "HTB-440300-INF"
    receipt.reportYear = 2024
    receipt.contentSha256 = Data(repeating: 0xAB, count: 32)
    receipt.reporterCode = "440300"
    receipt.late = true
    receipt.duplicateOfSubmissionID = "x"
    let decoded = try Ndrc_Hitech_V1_Receipt(serializedBytes: try receipt.serializedBytes() as [UInt8])
    #expect(decoded == receipt)
    #expect(decoded.findings[0].severity == .error)
    #expect(decoded.findings[1].overridden)
  }
}
