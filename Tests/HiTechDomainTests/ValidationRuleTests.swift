import HiTechDomain
import Testing

/// A report that passes every rule; each test changes one thing.
func validReport() -> AnnualReport {
  AnnualReport(
    totalOutput: Amount(1_000_000, .cnyTenThousand),
    valueAdded: Amount(300_000, .cnyTenThousand),
    exports: Amount(80_000, .usdTenThousand),
    imports: Amount(60_000, .usdTenThousand),
    rdExpenditure: Amount(50_000, .cnyTenThousand),
    highTechProductOutput: Amount(700_000, .cnyTenThousand),
    totalProductOutput: Amount(900_000, .cnyTenThousand),
    patentsApplied: 1200,
    patentsGranted: 800,
    employees: 120_000,
    rdAndEngineeringStaff: 18_000
  )
}

let beijingBase = Base(
  id: "SAMPLE-110000-01", nameZh: "样例", reporterCode: "110000", kind: .specialized,
  fields: [.information], level: .national, recognitionDocument: "样例[2010]1号"
)

func codes(_ report: AnnualReport, _ context: ValidationContext = ValidationContext(reportYear: 2025)) -> [String] {
  ReportValidator.validate(report, context: context).findings.map(\.ruleCode)
}

@Suite("Validation rules")
struct ValidationRuleTests {
  @Test("a complete, consistent report has no findings")
  func valid() {
    let context = ValidationContext(
      reporterCode: "110000", reportYear: 2025, base: .registered(beijingBase), round: .open,
      previousYear: validReport()
    )
    let outcome = ReportValidator.validate(validReport(), context: context)
    #expect(outcome.findings.isEmpty)
    #expect(outcome.isAccepted)
  }

  @Test("required figures", arguments: ["report.total_output_value", "report.value_added", "report.rd_expenditure"])
  func required(fieldPath: String) {
    var report = validReport()
    switch fieldPath {
    case "report.total_output_value": report.totalOutput = nil
    case "report.value_added": report.valueAdded = nil
    default: report.rdExpenditure = nil
    }
    let outcome = ReportValidator.validate(report, context: ValidationContext(reportYear: 2025))
    #expect(outcome.errors.contains { $0.ruleCode == "R-REQUIRED" && $0.fieldPath == fieldPath })
    #expect(!outcome.isAccepted)
  }

  @Test("negative amounts and counts are errors naming the field")
  func negatives() {
    var report = validReport()
    report.exports = Amount(-1, .usdTenThousand)
    report.patentsGranted = -3
    let findings = ReportValidator.validate(report, context: ValidationContext(reportYear: 2025)).findings
    #expect(findings.contains { $0.ruleCode == "R-AMOUNT-NON-NEGATIVE" && $0.fieldPath == "report.exports" })
    #expect(findings.contains { $0.ruleCode == "R-COUNT-NON-NEGATIVE" && $0.fieldPath == "report.patents_granted" })
    #expect(!codes(validReport()).contains("R-AMOUNT-NON-NEGATIVE"))
  }

  @Test("units must be present and known")
  func units() {
    var report = validReport()
    report.imports = Amount(5, .unspecified)
    report.exports = Amount(5, .unrecognized)
    let findings = ReportValidator.validate(report, context: ValidationContext(reportYear: 2025)).findings
    #expect(findings.contains { $0.ruleCode == "R-AMOUNT-UNIT-PRESENT" && $0.fieldPath == "report.imports" })
    #expect(findings.contains { $0.ruleCode == "R-AMOUNT-UNIT-KNOWN" && $0.fieldPath == "report.exports" })
  }

  @Test("part ≤ whole rules fire only when the part exceeds the whole", arguments: [
    ("R-VALUE-ADDED-LE-OUTPUT", "report.value_added"),
    ("R-RD-LE-OUTPUT", "report.rd_expenditure"),
    ("R-PRODUCT-OUTPUT-LE-OUTPUT", "report.total_product_output_value"),
    ("R-HIGH-TECH-LE-OUTPUT", "report.high_tech_product_output_value"),
  ])
  func partWhole(code: String, fieldPath: String) {
    var report = validReport()
    // Equal is fine: 100 亿元 == 1,000,000 万元.
    let whole = Amount(100, .cnyHundredMillion)
    let over = Amount(1_000_001, .cnyTenThousand)
    report.totalOutput = whole
    report.totalProductOutput = whole
    switch fieldPath {
    case "report.value_added": report.valueAdded = whole
    case "report.rd_expenditure": report.rdExpenditure = whole
    case "report.total_product_output_value": report.totalProductOutput = whole
    default: report.highTechProductOutput = whole
    }
    #expect(!codes(report).contains(code))
    switch fieldPath {
    case "report.value_added": report.valueAdded = over
    case "report.rd_expenditure": report.rdExpenditure = over
    case "report.total_product_output_value": report.totalProductOutput = over
    default: report.highTechProductOutput = over
    }
    let findings = ReportValidator.validate(report, context: ValidationContext(reportYear: 2025)).findings
    #expect(findings.contains { $0.ruleCode == code && $0.fieldPath == fieldPath && $0.severity == .error })
  }

  @Test("high-tech product output ≤ all product output")
  func highTechProducts() {
    var report = validReport()
    report.highTechProductOutput = Amount(900_001, .cnyTenThousand)
    #expect(codes(report).contains("R-HIGH-TECH-LE-PRODUCT-OUTPUT"))
    #expect(!codes(validReport()).contains("R-HIGH-TECH-LE-PRODUCT-OUTPUT"))
  }

  @Test("R&D staff ≤ employees")
  func staff() {
    var report = validReport()
    report.rdAndEngineeringStaff = 120_000
    #expect(!codes(report).contains("R-RD-STAFF-LE-EMPLOYEES"))
    report.rdAndEngineeringStaff = 120_001
    #expect(codes(report).contains("R-RD-STAFF-LE-EMPLOYEES"))
  }

  @Test("amounts in different currencies are not compared but reported")
  func currencies() {
    var report = validReport()
    report.valueAdded = Amount(1, .usd)
    let findings = ReportValidator.validate(report, context: ValidationContext(reportYear: 2025)).findings
    #expect(findings.contains { $0.ruleCode == "R-AMOUNT-CURRENCY" && $0.fieldPath == "report.value_added" })
    #expect(!findings.contains { $0.ruleCode == "R-VALUE-ADDED-LE-OUTPUT" })
  }

  @Test("round acceptance", arguments: [
    (ValidationContext.RoundAcceptance.open, nil),
    (.lateAccepted, nil),
    (.closedRefused, "R-ROUND-CLOSED"),
    (.notOpen, "R-ROUND-NOT-OPEN"),
  ] as [(ValidationContext.RoundAcceptance, String?)])
  func round(acceptance: ValidationContext.RoundAcceptance, expected: String?) {
    let found = codes(validReport(), ValidationContext(reportYear: 2025, round: acceptance)).filter { $0.hasPrefix("R-ROUND") }
    #expect(found == (expected.map { [$0] } ?? []))
  }

  @Test("the base must exist, be recognised, belong to the reporter and match its kind")
  func base() {
    #expect(codes(validReport(), ValidationContext(reporterCode: "110000", reportYear: 2025, base: .unknown(id: "X"))) == ["R-BASE-EXISTS"])
    var withdrawn = beijingBase
    withdrawn.withdrawn = true
    #expect(codes(validReport(), ValidationContext(reporterCode: "110000", reportYear: 2025, base: .registered(withdrawn))) == ["R-BASE-WITHDRAWN"])
    #expect(codes(validReport(), ValidationContext(reporterCode: "440300", reportYear: 2025, base: .registered(beijingBase))) == ["R-BASE-NOT-OWNED"])
    var twoFields = beijingBase
    twoFields.fields = [.information, .ocean]
    #expect(codes(validReport(), ValidationContext(reporterCode: "110000", reportYear: 2025, base: .registered(twoFields))) == ["R-BASE-KIND-FIELDS"])
    var comprehensive = beijingBase
    comprehensive.kind = .comprehensive
    #expect(codes(validReport(), ValidationContext(reporterCode: "110000", reportYear: 2025, base: .registered(comprehensive))) == ["R-BASE-KIND-FIELDS"])
    comprehensive.fields = [.information, .ocean]
    #expect(codes(validReport(), ValidationContext(reporterCode: "110000", reportYear: 2025, base: .registered(comprehensive))) == [])
  }

  @Test("year-on-year jumps beyond the factor are warnings, both ways, at the exact edge")
  func jumps() {
    var last = validReport()
    last.totalOutput = Amount(300_000, .cnyTenThousand)  // ×3.33 up to this year's 1,000,000
    let context = ValidationContext(reportYear: 2025, previousYear: last, yearOnYearJumpPercent: 300)
    let outcome = ReportValidator.validate(validReport(), context: context)
    #expect(outcome.warnings.map(\.ruleCode) == ["R-OUTPUT-YOY-JUMP"])
    #expect(outcome.isAccepted)
    #expect(outcome.hasUnoverriddenWarnings)
    // Exactly ×3 is not beyond the factor.
    last.totalOutput = Amount(1_000_000 / 3 + 1, .cnyTenThousand)
    #expect(codes(validReport(), ValidationContext(reportYear: 2025, previousYear: last)) == [])
    // A fall to a third or less also warns, for value added and R&D too.
    var fall = validReport()
    fall.valueAdded = Amount(99_999, .cnyTenThousand)
    fall.rdExpenditure = Amount(10, .cnyTenThousand)
    #expect(codes(fall, ValidationContext(reportYear: 2025, previousYear: validReport())) == ["R-VALUE-ADDED-YOY-JUMP", "R-RD-YOY-JUMP"])
  }

  @Test("overrides: an explained warning stays on record, overridden")
  func overrideMatrix() {
    var last = validReport()
    last.totalOutput = Amount(100_000, .cnyTenThousand)
    let explained = ReportValidator.validate(validReport(), context: ValidationContext(
      reportYear: 2025, previousYear: last, overrides: ["R-OUTPUT-YOY-JUMP": "two parks merged in 2025"]))
    let warning = try! #require(explained.findings.first { $0.ruleCode == "R-OUTPUT-YOY-JUMP" })
    #expect(warning.overridden)
    #expect(warning.explanation == "two parks merged in 2025")
    #expect(!explained.hasUnoverriddenWarnings)

    // An override for a warning that did not fire.
    let unused = ReportValidator.validate(validReport(), context: ValidationContext(
      reportYear: 2025, overrides: ["R-RD-YOY-JUMP": "no reason"]))
    #expect(unused.findings.map(\.ruleCode) == ["R-OVERRIDE-UNUSED"])
    #expect(unused.isAccepted)

    // An error cannot be overridden.
    var bad = validReport()
    bad.valueAdded = Amount(2_000_000, .cnyTenThousand)
    let error = ReportValidator.validate(bad, context: ValidationContext(
      reportYear: 2025, overrides: ["R-VALUE-ADDED-LE-OUTPUT": "trust me"]))
    #expect(!error.isAccepted)
    #expect(error.findings.contains { $0.ruleCode == "R-OVERRIDE-UNUSED" && $0.message.contains("cannot be overridden") })

    // An empty explanation is an error.
    let empty = ReportValidator.validate(validReport(), context: ValidationContext(
      reportYear: 2025, previousYear: last, overrides: ["R-OUTPUT-YOY-JUMP": "  "]))
    #expect(empty.errors.map(\.ruleCode) == ["R-OVERRIDE-EMPTY"])
  }

  @Test("every finding names its field in the message and has a known rule code")
  func messagesNameFields() {
    var report = validReport()
    report.valueAdded = Amount(-5, .unspecified)
    let known = Set(ValidationRule.all.map(\.code))
    for finding in ReportValidator.validate(report, context: ValidationContext(reportYear: 2025)).findings {
      #expect(known.contains(finding.ruleCode))
      #expect(finding.message.contains("value added") || finding.message.contains(finding.fieldPath))
    }
  }
}
