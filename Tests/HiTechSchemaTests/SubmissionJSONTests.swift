import Foundation
import HiTechSchema
import SwiftProtobuf
import Testing

@Suite("Submission, proto3 JSON")
struct SubmissionJSONTests {
  @Test("a fully populated submission survives a JSON round trip")
  func jsonRoundTrip() throws {
    let original = Fixtures.submission()
    let json = try original.jsonString()
    let decoded = try Ndrc_Hitech_V1_Submission(jsonString: json)
    #expect(decoded == original)
  }

  /// 2^53 + 1 is the first integer a JSON number read as a double would round; proto3 JSON writes
  /// int64 as a string, so the amount stays exact.
  @Test("int64 amounts beyond 2^53 stay exact", arguments: [
    Int64(9_007_199_254_740_993), Int64.max, Int64.min, Int64(-9_007_199_254_740_993),
  ])
  func largeAmountsExact(value: Int64) throws {
    var s = Fixtures.submission()
    s.report.totalOutputValue = Fixtures.amount(value, .cnyYuan)
    s.report.employees = value
    let json = try s.jsonString()
    #expect(json.contains("\"value\":\"\(value)\""))
    #expect(json.contains("\"employees\":\"\(value)\""))
    let decoded = try Ndrc_Hitech_V1_Submission(jsonString: json)
    #expect(decoded.report.totalOutputValue.value == value)
    #expect(decoded.report.employees == value)
  }

  @Test("JSON uses lowerCamelCase names and base64 bytes, and accepts the proto names")
  func jsonFieldNames() throws {
    let s = Fixtures.submission()
    let json = try s.jsonString()
    #expect(json.contains("\"submissionId\":\"3f0c1d2e-8a4b-4c6d-9e0f-1a2b3c4d5e6f\""))
    #expect(json.contains("\"contentSha256\":\"\(s.contentSha256.base64EncodedString())\""))
    #expect(json.contains("\"schemaVersion\":\"SCHEMA_VERSION_V1\""))
    #expect(json.contains("\"createdAt\":\"2025-01-04T14:13:20.123Z\""))

    let protoNamed = """
      {"submission_id": "a", "base_id": "HTB-1", "report_year": 2024, "revision": 1,
       "report": {"value_added": {"value": "12", "unit": "MONEY_UNIT_CNY_YUAN"},
                  "patents_granted": 3}}
      """
    let decoded = try Ndrc_Hitech_V1_Submission(jsonString: protoNamed)
    #expect(decoded.submissionID == "a")
    #expect(decoded.report.valueAdded.value == 12)
    #expect(decoded.report.valueAdded.unit == .cnyYuan)
    #expect(decoded.report.patentsGranted == 3)
  }

  @Test("a JSON count that is not an integer is refused, not rounded")
  func fractionalCountRefused() {
    #expect(throws: (any Error).self) {
      _ = try Ndrc_Hitech_V1_AnnualReport(jsonString: #"{"employees": 1.5}"#)
    }
  }
}
