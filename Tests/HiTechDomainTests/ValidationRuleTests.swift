import HiTechDomain
import Testing

/// One rule, one change to the valid report or its context, and exactly what must be found.
struct RuleCase: Sendable, CustomTestStringConvertible {
  var name: String
  var change: @Sendable (inout AnnualReport, inout ValidationContext) -> Void
  var expected: [Found]

  init(_ name: String, _ expected: [Found], _ change: @escaping @Sendable (inout AnnualReport, inout ValidationContext) -> Void) {
    self.name = name
    self.change = change
    self.expected = expected
  }

  var testDescription: String { name }
}

let specializedOcean = Base(id: "B-OCEAN", nameZh: "海洋", reporterCode: "110000", kind: .specialized, fields: [.ocean], level: .provincial)
let comprehensiveBase = Base(
  id: "B-COMP", nameZh: "综合", reporterCode: "110000", kind: .comprehensive, fields: [.information, .biology], level: .national)

/// Each rule firing, with its exact code, severity and field path — and nothing else firing.
let firing: [RuleCase] = [
  RuleCase("R-REQUIRED total output", [Found("R-REQUIRED", .error, "report.total_output_value")]) { r, _ in r.totalOutput = nil },
  RuleCase("R-REQUIRED value added", [Found("R-REQUIRED", .error, "report.value_added")]) { r, _ in r.valueAdded = nil },
  RuleCase("R-REQUIRED R&D", [Found("R-REQUIRED", .error, "report.rd_expenditure")]) { r, _ in r.rdExpenditure = nil },
  RuleCase("R-REQUIRED exports", [Found("R-REQUIRED", .error, "report.exports")]) { r, _ in r.exports = nil },
  RuleCase("R-REQUIRED imports", [Found("R-REQUIRED", .error, "report.imports")]) { r, _ in r.imports = nil },
  RuleCase("R-REQUIRED patents applied", [Found("R-REQUIRED", .error, "report.patents_applied")]) { r, _ in
    r.patentsApplied = nil
  },
  RuleCase("R-REQUIRED patents granted", [Found("R-REQUIRED", .error, "report.patents_granted")]) { r, _ in
    r.patentsGranted = nil
  },
  RuleCase("R-AMOUNT-NON-NEGATIVE", [Found("R-AMOUNT-NON-NEGATIVE", .error, "report.exports")]) { r, _ in
    r.exports = Amount(-1, .usdTenThousand)
  },
  RuleCase("R-AMOUNT-NON-NEGATIVE by field", [Found("R-AMOUNT-NON-NEGATIVE", .error, "report.output_by_field[information]")]) { r, _ in
    r.outputByField = [.information: Amount(-1, .cnyTenThousand)]
  },
  RuleCase("R-COUNT-NON-NEGATIVE", [Found("R-COUNT-NON-NEGATIVE", .error, "report.enterprises")]) { r, _ in r.enterprises = -3 },
  RuleCase("R-AMOUNT-UNIT-PRESENT", [Found("R-AMOUNT-UNIT-PRESENT", .error, "report.imports.unit")]) { r, _ in
    r.imports = Amount(5, .unspecified)
  },
  RuleCase("R-AMOUNT-UNIT-KNOWN", [Found("R-AMOUNT-UNIT-KNOWN", .error, "report.rd_expenditure.unit")]) { r, _ in
    r.rdExpenditure = Amount(5, .unrecognized)
  },
  RuleCase("R-AMOUNT-CURRENCY value added in USD", [Found("R-AMOUNT-CURRENCY", .error, "report.value_added")]) { r, c in
    r.valueAdded = Amount(1, .usd)
    c.previousYear = nil
  },
  RuleCase("R-AMOUNT-CURRENCY exports and imports", [Found("R-AMOUNT-CURRENCY", .error, "report.imports")]) { r, _ in
    r.imports = Amount(600_000_000, .cnyYuan)
  },
  RuleCase("R-VALUE-ADDED-LE-OUTPUT", [Found("R-VALUE-ADDED-LE-OUTPUT", .error, "report.value_added")]) { r, c in
    r.valueAdded = Amount(1_000_001, .cnyTenThousand)
    c.yearOnYearJumpPercent = 1_000
  },
  RuleCase("R-RD-LE-OUTPUT", [Found("R-RD-LE-OUTPUT", .error, "report.rd_expenditure")]) { r, c in
    r.rdExpenditure = Amount(10_000_000_001, .cnyYuan)
    c.previousYear = nil
  },
  RuleCase("R-PRODUCT-OUTPUT-LE-OUTPUT", [Found("R-PRODUCT-OUTPUT-LE-OUTPUT", .error, "report.total_product_output_value")]) { r, _ in
    r.totalProductOutput = Amount(1_000_001, .cnyTenThousand)
  },
  RuleCase("R-HIGH-TECH-LE-PRODUCT-OUTPUT", [Found("R-HIGH-TECH-LE-PRODUCT-OUTPUT", .error, "report.high_tech_product_output_value")]) { r, _ in
    r.highTechProductOutput = Amount(900_001, .cnyTenThousand)
  },
  RuleCase(
    "R-HIGH-TECH-LE-OUTPUT",
    [
      Found("R-HIGH-TECH-LE-OUTPUT", .error, "report.high_tech_product_output_value"),
      Found("R-HIGH-TECH-LE-PRODUCT-OUTPUT", .error, "report.high_tech_product_output_value"),
    ]
  ) { r, _ in
    r.highTechProductOutput = Amount(101, .cnyHundredMillion)
  },
  RuleCase("R-RD-STAFF-LE-EMPLOYEES", [Found("R-RD-STAFF-LE-EMPLOYEES", .error, "report.rd_and_engineering_staff")]) { r, _ in
    r.rdAndEngineeringStaff = 120_001
  },
  RuleCase("R-INVENTION-PATENTS-LE-PATENTS applied", [Found("R-INVENTION-PATENTS-LE-PATENTS", .error, "report.invention_patents_applied")]) { r, _ in
    r.inventionPatentsApplied = 1201
  },
  RuleCase("R-INVENTION-PATENTS-LE-PATENTS granted", [Found("R-INVENTION-PATENTS-LE-PATENTS", .error, "report.invention_patents_granted")]) { r, _ in
    r.inventionPatentsGranted = 801
  },
  RuleCase("R-OUTPUT-BY-FIELD-LE-OUTPUT", [Found("R-OUTPUT-BY-FIELD-LE-OUTPUT", .error, "report.output_by_field")]) { r, c in
    c.base = .registered(comprehensiveBase)
    r.outputByField = [.information: Amount(60, .cnyHundredMillion), .biology: Amount(400_001, .cnyTenThousand)]
  },
  RuleCase("R-OUTPUT-BY-FIELD currency", [Found("R-AMOUNT-CURRENCY", .error, "report.output_by_field[biology]")]) { r, c in
    c.base = .registered(comprehensiveBase)
    r.outputByField = [.information: Amount(60, .cnyHundredMillion), .biology: Amount(1, .usd)]
  },
  RuleCase("R-OUTPUT-BY-FIELD-NOT-REGISTERED", [Found("R-OUTPUT-BY-FIELD-NOT-REGISTERED", .error, "report.output_by_field[ocean]")]) { r, _ in
    r.outputByField = [.information: Amount(1, .cnyTenThousand), .ocean: Amount(1, .cnyTenThousand)]
  },
  RuleCase("R-ROUND-NOT-OPEN", [Found("R-ROUND-NOT-OPEN", .error, "report_year")]) { _, c in c.round = .notOpen },
  RuleCase("R-ROUND-CLOSED", [Found("R-ROUND-CLOSED", .error, "report_year")]) { _, c in c.round = .closedRefused },
  RuleCase("R-BASE-EXISTS", [Found("R-BASE-EXISTS", .error, "base_id")]) { _, c in c.base = .unknown(id: "NO-SUCH-BASE") },
  RuleCase("R-BASE-WITHDRAWN", [Found("R-BASE-WITHDRAWN", .error, "base_id")]) { _, c in
    var base = beijingBase
    base.withdrawn = true
    c.base = .registered(base)
  },
  RuleCase("R-BASE-NOT-OWNED", [Found("R-BASE-NOT-OWNED", .error, "base_id")]) { _, c in c.reporterCode = "440300" },
  RuleCase("R-BASE-KIND-FIELDS specialized with two", [Found("R-BASE-KIND-FIELDS", .error, "base_id")]) { _, c in
    var base = beijingBase
    base.fields = [.information, .ocean]
    c.base = .registered(base)
  },
  RuleCase("R-BASE-KIND-FIELDS specialized with none", [Found("R-BASE-KIND-FIELDS", .error, "base_id")]) { _, c in
    var base = beijingBase
    base.fields = []
    c.base = .registered(base)
  },
  RuleCase("R-BASE-KIND-FIELDS comprehensive with one", [Found("R-BASE-KIND-FIELDS", .error, "base_id")]) { _, c in
    var base = beijingBase
    base.kind = .comprehensive
    c.base = .registered(base)
  },
  RuleCase("R-OUTPUT-YOY-JUMP up", [Found("R-OUTPUT-YOY-JUMP", .warning, "report.total_output_value")]) { _, c in
    c.previousYear!.totalOutput = Amount(333_333, .cnyTenThousand)  // ×3.000003
  },
  RuleCase("R-OUTPUT-YOY-JUMP beyond the largest factor", [Found("R-OUTPUT-YOY-JUMP", .warning, "report.total_output_value")]) { r, c in
    r.totalOutput = Amount(Int64.max, .cnyHundredMillion)
    c.previousYear!.totalOutput = Amount(1, .cnyYuan)
    c.yearOnYearJumpPercent = Int.max
  },
  RuleCase("R-OUTPUT-YOY-JUMP from zero", [Found("R-OUTPUT-YOY-JUMP", .warning, "report.total_output_value")]) { _, c in
    c.previousYear!.totalOutput = Amount(0, .cnyTenThousand)
  },
  RuleCase("R-VALUE-ADDED-YOY-JUMP down", [Found("R-VALUE-ADDED-YOY-JUMP", .warning, "report.value_added")]) { r, _ in
    r.valueAdded = Amount(99_999, .cnyTenThousand)  // less than a third of 300 000
  },
  RuleCase("R-RD-YOY-JUMP mixed units", [Found("R-RD-YOY-JUMP", .warning, "report.rd_expenditure")]) { r, _ in
    r.rdExpenditure = Amount(16, .cnyHundredMillion)  // 160 000 万元 > 3 × 50 000
  },
  RuleCase("R-OVERRIDE-UNUSED", [Found("R-OVERRIDE-UNUSED", .warning, "warning_overrides[R-RD-YOY-JUMP].rule_code")]) { _, c in
    c.overrides = ["R-RD-YOY-JUMP": "a new lab"]
  },
  RuleCase("R-OVERRIDE-EMPTY", [Found("R-OVERRIDE-EMPTY", .error, "warning_overrides[R-RD-YOY-JUMP].explanation")]) { _, c in
    c.overrides = ["R-RD-YOY-JUMP": " \n"]
  },
]

/// The edge of each rule: allowed values that must not fire.
let quiet: [RuleCase] = [
  RuleCase("zeros are reports, not missing", []) { r, c in
    r.exports = Amount(0, .usdTenThousand)
    r.imports = Amount(0, .usdTenThousand)
    r.patentsApplied = 0
    r.patentsGranted = 0
    r.inventionPatentsApplied = 0
    r.inventionPatentsGranted = 0
    c.previousYear = nil
  },
  RuleCase("optional figures may be absent", []) { r, _ in
    r.highTechProductOutput = nil
    r.totalProductOutput = nil
    r.employees = nil
    r.rdAndEngineeringStaff = nil
    r.inventionPatentsApplied = nil
    r.enterprises = nil
  },
  RuleCase("parts equal to the whole, in other units", []) { r, c in
    r.totalOutput = Amount(100, .cnyHundredMillion)
    r.valueAdded = Amount(1_000_000, .cnyTenThousand)
    r.rdExpenditure = Amount(10_000_000_000, .cnyYuan)
    r.totalProductOutput = Amount(1_000_000, .cnyTenThousand)
    r.highTechProductOutput = Amount(100, .cnyHundredMillion)
    c.previousYear = nil
  },
  RuleCase("staff equal to employees, inventions equal to patents", []) { r, _ in
    r.rdAndEngineeringStaff = 120_000
    r.inventionPatentsApplied = 1200
    r.inventionPatentsGranted = 800
  },
  RuleCase("output by field adding up to the total, in registered fields", []) { r, c in
    c.base = .registered(comprehensiveBase)
    r.outputByField = [.information: Amount(60, .cnyHundredMillion), .biology: Amount(400_000, .cnyTenThousand)]
  },
  RuleCase("open and late-accepted rounds, or no round known", []) { _, c in c.round = .lateAccepted },
  RuleCase("no round known", []) { _, c in c.round = nil },
  RuleCase("a correct comprehensive base", []) { _, c in c.base = .registered(comprehensiveBase) },
  RuleCase("base not checked, reporter not known", []) { _, c in
    c.base = .notChecked
    c.reporterCode = nil
  },
  RuleCase("exactly ×3 is not beyond the factor", []) { _, c in
    c.previousYear!.totalOutput = Amount(1_000_000, .cnyTenThousand)
    c.previousYear!.valueAdded = Amount(100_000, .cnyTenThousand)  // 300 000 is exactly ×3
    c.previousYear!.rdExpenditure = Amount(150_000, .cnyTenThousand)  // 50 000 is exactly ÷3
  },
  RuleCase("a larger factor tolerates more", []) { _, c in
    c.previousYear!.totalOutput = Amount(200_000, .cnyTenThousand)  // ×5
    c.yearOnYearJumpPercent = 500
  },
  RuleCase("the largest factor the configuration allows, on the largest amounts: no jump", []) { r, c in
    r.totalOutput = Amount(Int64.max, .cnyHundredMillion)
    c.previousYear!.totalOutput = Amount(Int64.max, .cnyHundredMillion)
    c.yearOnYearJumpPercent = Int.max
  },
  RuleCase("zero to zero is no jump; other currencies are not compared", []) { r, c in
    r.rdExpenditure = Amount(0, .cnyTenThousand)
    c.previousYear!.rdExpenditure = Amount(0, .cnyTenThousand)
    c.previousYear!.totalOutput = Amount(1, .usd)
  },
]

@Suite("Validation rules")
struct ValidationRuleTests {
  @Test("a complete, consistent report has no findings")
  func valid() {
    let outcome = ReportValidator.validate(validReport(), context: fullContext())
    #expect(outcome.findings.isEmpty)
    #expect(outcome.isAccepted)
    #expect(!outcome.hasUnoverriddenWarnings)
    #expect(!outcome.isLate)
  }

  @Test("each rule fires with its code, severity and field path", arguments: firing)
  func fires(_ rule: RuleCase) {
    var report = validReport()
    var context = fullContext()
    rule.change(&report, &context)
    let outcome = ReportValidator.validate(report, context: context)
    #expect(outcome.findings.map { Found($0.ruleCode, $0.severity, $0.fieldPath) } == rule.expected)
    #expect(outcome.isAccepted == rule.expected.allSatisfy { $0.severity == .warning })
    for finding in outcome.findings {
      // The message names the field (path or its leaf) and every code is a known rule.
      #expect(finding.message.contains(finding.fieldPath))
      #expect(ValidationRule.rule(code: finding.ruleCode)?.severity == finding.severity)
    }
  }

  @Test("allowed values at each rule's edge do not fire", arguments: quiet)
  func quietEdges(_ rule: RuleCase) {
    var report = validReport()
    var context = fullContext()
    rule.change(&report, &context)
    #expect(found(report, context) == [])
  }

  @Test("a late-accepted round is a flag, not a finding")
  func late() {
    var context = fullContext()
    context.round = .lateAccepted
    let outcome = ReportValidator.validate(validReport(), context: context)
    #expect(outcome.isLate)
    #expect(outcome.isAccepted)
    #expect(outcome.findings.isEmpty)
  }

  @Test("a node with only the report and its year checks the report rules alone")
  func nodeWithoutContext() {
    var report = validReport()
    report.valueAdded = Amount(2, .cnyHundredMillion)
    report.valueAdded!.value = -2
    #expect(found(report, ValidationContext(reportYear: 2025)) == [Found("R-AMOUNT-NON-NEGATIVE", .error, "report.value_added")])
    #expect(found(validReport(), ValidationContext(reportYear: 2025)) == [])
  }

  @Test("every finding is listed, errors first, then by rule code and field path")
  func ordering() {
    var report = validReport()
    report.valueAdded = nil
    report.totalOutput = nil
    report.imports = Amount(-1, .unspecified)
    report.rdAndEngineeringStaff = 200_000
    var context = fullContext()
    context.round = .closedRefused
    context.previousYear!.rdExpenditure = Amount(1, .cnyTenThousand)
    #expect(found(report, context) == [
      Found("R-AMOUNT-NON-NEGATIVE", .error, "report.imports"),
      Found("R-AMOUNT-UNIT-PRESENT", .error, "report.imports.unit"),
      Found("R-RD-STAFF-LE-EMPLOYEES", .error, "report.rd_and_engineering_staff"),
      Found("R-REQUIRED", .error, "report.total_output_value"),
      Found("R-REQUIRED", .error, "report.value_added"),
      Found("R-ROUND-CLOSED", .error, "report_year"),
      Found("R-RD-YOY-JUMP", .warning, "report.rd_expenditure"),
    ])
  }

  @Test("USD against CNY is reported, never guessed")
  func currencyNotGuessed() {
    var report = validReport()
    report.totalOutput = Amount(1, .usd)
    var context = fullContext()
    context.previousYear = nil
    let findings = ReportValidator.validate(report, context: context).findings
    #expect(findings.map(\.ruleCode) == ["R-AMOUNT-CURRENCY", "R-AMOUNT-CURRENCY", "R-AMOUNT-CURRENCY", "R-AMOUNT-CURRENCY"])
    #expect(Set(findings.map(\.fieldPath)) == [
      "report.value_added", "report.rd_expenditure", "report.total_product_output_value", "report.high_tech_product_output_value",
    ])
    #expect(findings.allSatisfy { $0.message.contains("different currencies") })
  }

  @Test("the rule table lists every code once")
  func table() {
    let codes = ValidationRule.all.map(\.code)
    #expect(Set(codes).count == codes.count)
    #expect(codes.allSatisfy { $0.hasPrefix("R-") && $0 == $0.uppercased() })
    #expect(ValidationRule.all.filter { $0.severity == .warning }.map(\.code) == [
      "R-OUTPUT-YOY-JUMP", "R-VALUE-ADDED-YOY-JUMP", "R-RD-YOY-JUMP", "R-OVERRIDE-UNUSED",
    ])
  }
}
