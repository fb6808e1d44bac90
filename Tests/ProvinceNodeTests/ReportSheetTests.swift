import HiTechSchema
import ProvinceNode
import Testing

@Suite("Report files from a spreadsheet")
struct ReportSheetTests {
  let header = "base_id,report_year,total_output_value (万元),value_added (万元),exports (万美元),imports (万美元),rd_expenditure (亿元),patents_applied,patents_granted,employees,rd_and_engineering_staff"

  @Test("a good row becomes a sealed submission with the units of its header")
  func goodRow() throws {
    let sheet = ReportSheet(csv: header + "\nSAMPLE-110000-01,2025,\"1,000,000\",300000,80000,60000,5,1200,800,120000,18000\n")
    #expect(sheet.headerProblems.isEmpty)
    let row = sheet.row(0)
    #expect(!row.hasErrors)
    #expect(row.problems.isEmpty)
    let submission = try #require(row.submission)
    #expect(submission.baseID == "SAMPLE-110000-01")
    #expect(submission.reportYear == 2025)
    #expect(submission.revision == 1)
    #expect(submission.schemaVersion == .v1)
    #expect(submission.report.totalOutputValue.value == 1_000_000)
    #expect(submission.report.rdExpenditure.unit == .cnyHundredMillion)
    #expect(submission.report.exports.unit == .usdTenThousand)
    #expect(submission.contentSha256.count == 32)
  }

  @Test("every bad cell is named by row, column and rule, once")
  func badRow() {
    let sheet = ReportSheet(csv: header + "\nB-2,2025,1000,3000,80,60,12.5,10,8,100,200\n")
    let row = sheet.row(0)
    #expect(row.hasErrors)
    let named = row.problems.map { "\($0.row):\($0.column):\($0.ruleCode)" }
    #expect(named.contains("2:rd_expenditure:R-NUMBER"))
    #expect(named.contains("2:value_added:R-VALUE-ADDED-LE-OUTPUT"))
    #expect(named.contains("2:rd_and_engineering_staff:R-RD-STAFF-LE-EMPLOYEES"))
    #expect(!named.contains("2:rd_expenditure:R-REQUIRED"))
  }

  @Test("an amount column without a unit, or with an unknown one, is a header error")
  func units() {
    let missing = ReportSheet(csv: "base_id,report_year,total_output_value\nB,2025,1\n")
    #expect(missing.headerProblems.map(\.ruleCode) == ["R-AMOUNT-UNIT-PRESENT"])
    let unknown = ReportSheet(csv: "base_id,total_output_value (bananas)\nB,1\n")
    #expect(unknown.headerProblems.map(\.ruleCode) == ["R-AMOUNT-UNIT-KNOWN"])
    let noBase = ReportSheet(csv: "report_year\n2025\n")
    #expect(noBase.headerProblems.contains { $0.column == "base_id" })
  }

  @Test("the report year can come from the command line")
  func defaultYear() {
    let sheet = ReportSheet(csv: "base_id,total_output_value (万元)\nB,1\n")
    #expect(sheet.row(0).problems.contains { $0.column == "report_year" })
    #expect(sheet.row(0, defaultYear: 2024).submission?.reportYear == 2024)
  }
}
