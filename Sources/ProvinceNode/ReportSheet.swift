import DaemonSupport
import Foundation
public import HiTechDomain
public import HiTechSchema

/// Turns a clerk's spreadsheet (CSV, one row per base) into report message files, checking
/// every row with the same rule set as the aggregator.
///
/// Columns, by header name (order free, case-insensitive):
/// - `base_id` (required), `report_year` (required unless given on the command line),
///   `submission_id`, `revision` (default 1), `replaces_revision` (default 0);
/// - amounts, each with its unit in the header in parentheses, e.g. `total_output_value (万元)`:
///   `total_output_value`, `value_added`, `exports`, `imports`, `rd_expenditure`,
///   `high_tech_product_output_value`, `total_product_output_value`. Units: 元, 万元, 亿元,
///   USD, 万美元, 亿美元 (or cny_yuan, cny_ten_thousand, cny_hundred_million, usd,
///   usd_ten_thousand, usd_hundred_million). Amounts are whole numbers of the unit;
///   thousands separators (`,` or spaces) are allowed; use a smaller unit for fractions;
/// - counts: `patents_applied`, `patents_granted`, `invention_patents_applied`,
///   `invention_patents_granted`, `employees`, `rd_and_engineering_staff`, `enterprises`;
/// - text: `compiled_by`, `contact`, `remarks`.
/// An empty cell means "not reported".
public struct ReportSheet: Sendable {
  /// A problem with one cell or row, named by row (1 = the header) and column.
  public struct Problem: Sendable, Hashable, CustomStringConvertible {
    public var row: Int
    public var column: String
    public var ruleCode: String
    public var severity: Severity
    public var message: String

    public var description: String {
      "row \(row), column \(column.isEmpty ? "-" : column): \(severity == .error ? "error" : "warning") \(ruleCode): \(message)"
    }
  }

  /// One data row: its submission (sealed) when it could be built, and its problems.
  public struct Row: Sendable {
    public var number: Int
    public var submission: Ndrc_Hitech_V1_Submission?
    public var problems: [Problem]
    public var hasErrors: Bool { submission == nil || problems.contains { $0.severity == .error } }
  }

  public static let amountColumns = [
    "total_output_value", "value_added", "exports", "imports", "rd_expenditure",
    "high_tech_product_output_value", "total_product_output_value",
  ]
  public static let countColumns = [
    "patents_applied", "patents_granted", "invention_patents_applied", "invention_patents_granted",
    "employees", "rd_and_engineering_staff", "enterprises",
  ]

  static let units: [String: Ndrc_Hitech_V1_MoneyUnit] = [
    "元": .cnyYuan, "万元": .cnyTenThousand, "亿元": .cnyHundredMillion,
    "usd": .usd, "万美元": .usdTenThousand, "亿美元": .usdHundredMillion,
    "cny_yuan": .cnyYuan, "cny_ten_thousand": .cnyTenThousand, "cny_hundred_million": .cnyHundredMillion,
    "usd_ten_thousand": .usdTenThousand, "usd_hundred_million": .usdHundredMillion,
  ]

  let header: [(name: String, unit: Ndrc_Hitech_V1_MoneyUnit?)]
  let rows: [[String]]
  public let headerProblems: [Problem]

  /// Reads the CSV text; problems with the header itself are in ``headerProblems``.
  public init(csv text: String) {
    let table = CSV.parse(text)
    var problems: [Problem] = []
    var header: [(String, Ndrc_Hitech_V1_MoneyUnit?)] = []
    for cell in table.first ?? [] {
      let raw = cell.trimmingCharacters(in: .whitespaces)
      var name = raw.lowercased()
      var unit: Ndrc_Hitech_V1_MoneyUnit?
      if let open = raw.firstIndex(of: "("), raw.hasSuffix(")") {
        name = raw[..<open].trimmingCharacters(in: .whitespaces).lowercased()
        let token = raw[raw.index(after: open)..<raw.index(before: raw.endIndex)].trimmingCharacters(in: .whitespaces)
        unit = Self.units[token.lowercased()] ?? Self.units[token]
        if unit == nil {
          problems.append(Problem(row: 1, column: raw, ruleCode: "R-AMOUNT-UNIT-KNOWN", severity: .error,
            message: "unknown unit \"\(token)\"; use one of 元, 万元, 亿元, USD, 万美元, 亿美元"))
        }
      }
      if Self.amountColumns.contains(name) && unit == nil && !raw.contains("(") {
        problems.append(Problem(row: 1, column: raw, ruleCode: "R-AMOUNT-UNIT-PRESENT", severity: .error,
          message: "an amount column names its unit, e.g. \"\(name) (万元)\""))
      }
      header.append((name, unit))
    }
    if !header.contains(where: { $0.0 == "base_id" }) {
      problems.append(Problem(row: 1, column: "base_id", ruleCode: "R-REQUIRED", severity: .error, message: "the column base_id is missing"))
    }
    self.header = header
    self.rows = Array(table.dropFirst()).filter { !($0.count == 1 && $0[0].trimmingCharacters(in: .whitespaces).isEmpty) }
    self.headerProblems = problems
  }

  public var rowCount: Int { rows.count }

  /// Builds and checks data row `index` (0-based), for a report year given on the command
  /// line when the sheet has none.
  public func row(_ index: Int, defaultYear: Int? = nil) -> Row {
    let cells = rows[index]
    let number = index + 2
    var problems: [Problem] = []
    func cell(_ name: String) -> (value: String, unit: Ndrc_Hitech_V1_MoneyUnit?, column: String)? {
      guard let position = header.firstIndex(where: { $0.name == name }) else { return nil }
      let value = position < cells.count ? cells[position].trimmingCharacters(in: .whitespaces) : ""
      return value.isEmpty ? nil : (value, header[position].unit, name)
    }
    func integer(_ name: String, _ text: String) -> Int64? {
      let cleaned = text.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: " ", with: "")
      if let value = Int64(cleaned) { return value }
      let hint = cleaned.contains(".") ? "; amounts are whole numbers of the unit: use a smaller unit" : ""
      problems.append(Problem(row: number, column: name, ruleCode: "R-NUMBER", severity: .error,
        message: "\"\(text)\" is not a whole number\(hint)"))
      return nil
    }

    var submission = Ndrc_Hitech_V1_Submission()
    submission.schemaVersion = .v1
    submission.submissionID = cell("submission_id")?.value ?? ""
    guard let base = cell("base_id")?.value else {
      problems.append(Problem(row: number, column: "base_id", ruleCode: "R-REQUIRED", severity: .error, message: "base_id is empty"))
      return Row(number: number, submission: nil, problems: problems)
    }
    submission.baseID = base
    if let text = cell("report_year")?.value {
      submission.reportYear = Int32(clamping: integer("report_year", text) ?? 0)
    } else if let defaultYear {
      submission.reportYear = Int32(defaultYear)
    } else {
      problems.append(Problem(row: number, column: "report_year", ruleCode: "R-REQUIRED", severity: .error,
        message: "report_year is empty and no --year was given"))
    }
    submission.revision = Int32(clamping: cell("revision").flatMap { integer("revision", $0.value) } ?? 1)
    submission.replacesRevision = Int32(clamping: cell("replaces_revision").flatMap { integer("replaces_revision", $0.value) } ?? 0)

    var report = Ndrc_Hitech_V1_AnnualReport()
    for name in Self.amountColumns {
      guard let found = cell(name), let value = integer(name, found.value) else { continue }
      var amount = Ndrc_Hitech_V1_Amount()
      amount.value = value
      amount.unit = found.unit ?? .unspecified
      switch name {
      case "total_output_value": report.totalOutputValue = amount
      case "value_added": report.valueAdded = amount
      case "exports": report.exports = amount
      case "imports": report.imports = amount
      case "rd_expenditure": report.rdExpenditure = amount
      case "high_tech_product_output_value": report.highTechProductOutputValue = amount
      default: report.totalProductOutputValue = amount
      }
    }
    for name in Self.countColumns {
      guard let found = cell(name), let value = integer(name, found.value) else { continue }
      switch name {
      case "patents_applied": report.patentsApplied = value
      case "patents_granted": report.patentsGranted = value
      case "invention_patents_applied": report.inventionPatentsApplied = value
      case "invention_patents_granted": report.inventionPatentsGranted = value
      case "employees": report.employees = value
      case "rd_and_engineering_staff": report.rdAndEngineeringStaff = value
      default: report.enterprises = value
      }
    }
    report.compiledBy = cell("compiled_by")?.value ?? ""
    report.contact = cell("contact")?.value ?? ""
    report.remarks = cell("remarks")?.value ?? ""
    submission.report = report

    let outcome = ReportValidator.validate(
      AnnualReport(report), context: ValidationContext(reportYear: Int(submission.reportYear)))
    // A cell that could not be read is reported once, not again as missing or inconsistent.
    let unreadable = Set(problems.filter { $0.ruleCode == "R-NUMBER" }.map(\.column))
    for finding in outcome.findings where !unreadable.contains(Self.column(for: finding.fieldPath)) {
      problems.append(Problem(
        row: number, column: Self.column(for: finding.fieldPath), ruleCode: finding.ruleCode,
        severity: finding.severity, message: finding.message))
    }
    guard let sealed = try? submission.sealed() else {
      return Row(number: number, submission: nil, problems: problems)
    }
    return Row(number: number, submission: sealed, problems: problems)
  }

  /// The sheet column of a finding's field path ("report.value_added.unit" → "value_added").
  static func column(for fieldPath: String) -> String {
    var path = Substring(fieldPath)
    if path.hasPrefix("report.") { path = path.dropFirst("report.".count) }
    if let end = path.firstIndex(where: { $0 == "." || $0 == "[" }) { path = path[..<end] }
    return String(path)
  }
}
