import Assessment
import HiTechDomain

/// Small builders for the tests.
enum Fixture {
  static func base(
    _ id: String, _ kind: BaseKind = .specialized, _ fields: Set<Field> = [.information],
    level: BaseLevel = .national, name: String? = nil, withdrawn: Bool = false
  ) -> Base {
    Base(
      id: id, nameZh: name ?? "基地\(id)", reporterCode: String(id.dropFirst(4).prefix(6)), kind: kind,
      fields: fields, level: level, recognitionDocument: "发改高技[2009]3211号", withdrawn: withdrawn)
  }

  static func report(
    output: Amount? = nil, rd: Amount? = nil, patents: Int64? = nil,
    byField: [Field: Amount] = [:]
  ) -> AnnualReport {
    AnnualReport(totalOutput: output, rdExpenditure: rd, patentsGranted: patents, outputByField: byField)
  }

  static func yi(_ value: Int64) -> Amount { Amount(value, .cnyHundredMillion) }

  /// The rubric of the hand-computed example: four indicators, round weights.
  static let smallRubric = Rubric(
    rubricId: "test-small",
    weights: [
      IndicatorWeight(.outputGrowth, 300_000),
      IndicatorWeight(.rdToOutput, 300_000),
      IndicatorWeight(.patentsGranted, 200_000),
      IndicatorWeight(.expertJudgement, 200_000),
    ],
    thresholds: TierThresholds(excellentMilli: 70_000, goodMilli: 50_000, passMilli: 30_000)
  )

  /// The hand-computed example (see HandComputedExampleTests).
  static func exampleInputs() -> [AssessmentInput] {
    [
      AssessmentInput(
        base: base("HTB-110000-INF"),
        report: report(output: yi(1200), rd: yi(60), patents: 300),
        previousYearReport: report(output: yi(1000)),
        accessionNumber: "ACC-2025-000001", revision: 1),
      AssessmentInput(
        base: base("HTB-440300-INF"),
        report: report(output: Amount(8_000_000, .cnyTenThousand), rd: yi(80), patents: 100),
        previousYearReport: report(output: yi(800)),
        accessionNumber: "ACC-2025-000002", revision: 2, late: true),
      AssessmentInput(
        base: base("HTB-320100-INF", level: .provincial),
        report: report(output: Amount(50_000_000_000, .cnyYuan), rd: yi(20), patents: 200),
        accessionNumber: "ACC-2025-000003", revision: 1),
      AssessmentInput(
        base: base("HTB-310000-CMP", .comprehensive, [.biology, .newEnergy]),
        report: report(output: yi(2000), rd: yi(100), patents: 500, byField: [.newEnergy: yi(500), .biology: yi(1500)]),
        previousYearReport: report(output: yi(1600)),
        accessionNumber: "ACC-2025-000004", revision: 1),
      AssessmentInput(base: base("HTB-510100-BIO", .specialized, [.biology]), report: nil),
    ]
  }

  static let exampleExperts = [
    ExpertScore(baseId: "HTB-110000-INF", expertId: "E01", scoreMilli: 80_000, comment: "集聚明显"),
    ExpertScore(baseId: "HTB-110000-INF", expertId: "E02", scoreMilli: 90_000),
    ExpertScore(baseId: "HTB-440300-INF", expertId: "E01", scoreMilli: 70_000),
  ]

  static func example() throws -> RoundAssessment {
    try Assessor.assess(
      reportYear: 2025, inputs: exampleInputs(), expertScores: exampleExperts,
      nationalHighTechOutput: yi(45_000), rubric: smallRubric)
  }
}

extension RoundAssessment {
  func base(_ id: String) -> BaseAssessment { bases.first { $0.baseId == id }! }
}
