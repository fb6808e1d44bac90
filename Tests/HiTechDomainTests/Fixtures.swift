import HiTechDomain

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
    inventionPatentsApplied: 400,
    inventionPatentsGranted: 200,
    employees: 120_000,
    rdAndEngineeringStaff: 18_000,
    enterprises: 350
  )
}

let beijingBase = Base(
  id: "SAMPLE-110000-01", nameZh: "样例", reporterCode: "110000", kind: .specialized,
  fields: [.information], level: .national,
  recognition: Recognition(documentNumber: "样例[2010]1号", date: CalendarDate(year: 2010, month: 3, day: 1), level: .national)
)

/// Everything known, as at the aggregator: the valid report passes with no finding.
func fullContext() -> ValidationContext {
  ValidationContext(
    reporterCode: "110000", reportYear: 2025, base: .registered(beijingBase), round: .open, previousYear: validReport()
  )
}

/// A finding reduced to what a rule promises: code, severity, field path.
struct Found: Hashable, CustomStringConvertible {
  var code: String
  var severity: Severity
  var path: String

  init(_ code: String, _ severity: Severity = .error, _ path: String) {
    self.code = code
    self.severity = severity
    self.path = path
  }

  var description: String { "\(code) \(severity) \(path)" }
}

func found(_ report: AnnualReport, _ context: ValidationContext = fullContext()) -> [Found] {
  ReportValidator.validate(report, context: context).findings.map { Found($0.ruleCode, $0.severity, $0.fieldPath) }
}
