import Assessment
import HiTechDomain
import Testing

@Suite("Assessor: ties, groups, missing data, programme")
struct AssessorEdgeCaseTests {
  @Test("equal totals share a rank; the next rank skips (1224); ties listed by base id")
  func ties() throws {
    let inputs = [
      AssessmentInput(base: Fixture.base("HTB-B"), report: Fixture.report(output: Fixture.yi(100), rd: Fixture.yi(5), patents: 10)),
      AssessmentInput(base: Fixture.base("HTB-A"), report: Fixture.report(output: Fixture.yi(100), rd: Fixture.yi(5), patents: 10)),
      AssessmentInput(base: Fixture.base("HTB-C"), report: Fixture.report(output: Fixture.yi(100), rd: Fixture.yi(10), patents: 20)),
      AssessmentInput(base: Fixture.base("HTB-D"), report: Fixture.report(output: Fixture.yi(100), rd: Fixture.yi(1), patents: 1)),
    ]
    let r = try Assessor.assess(reportYear: 2025, inputs: inputs, expertScores: [], nationalHighTechOutput: nil, rubric: Fixture.smallRubric)
    // C is max on both (100 000 × 0.3 + 100 000 × 0.2 = 50 000); D is min (0);
    // A = B: R&D 50 000 ppm in 10 000..100 000 → 44 444.4 → 44 444 × 0.3 = 13 333.2 → 13 333;
    //        patents (10 − 1) / 19 → 47 368.4 → 47 368 × 0.2 = 9 473.6 → 9 474; total 22 807.
    #expect(r.bases.map(\.baseId) == ["HTB-C", "HTB-A", "HTB-B", "HTB-D"])
    #expect(r.bases.map(\.totalScoreMilli) == [50_000, 22_807, 22_807, 0])
    #expect(r.bases.map(\.rank) == [1, 2, 2, 4])
    #expect(r.bases.map(\.fieldRank) == [1, 2, 2, 4])
  }

  @Test("a group of one scores the midpoint on every data indicator it has")
  func groupOfOne() throws {
    var report = Fixture.report(output: Fixture.yi(500), rd: Fixture.yi(10), patents: 7)
    report.valueAdded = Fixture.yi(100)
    report.highTechProductOutput = Fixture.yi(300)
    report.totalProductOutput = Fixture.yi(400)
    report.employees = 1000
    report.rdAndEngineeringStaff = 100
    report.exports = Amount(10, .usdHundredMillion)  // USD against CNY output: no export share
    var previous = Fixture.report(output: Fixture.yi(400))
    previous.valueAdded = Fixture.yi(90)
    let r = try Assessor.assess(
      reportYear: 2025,
      inputs: [AssessmentInput(base: Fixture.base("HTB-X", .specialized, [.ocean]), report: report, previousYearReport: previous)],
      expertScores: [ExpertScore(baseId: "HTB-X", expertId: "E9", scoreMilli: 61_000)],
      nationalHighTechOutput: nil, rubric: .standard)
    let base = r.bases[0]
    // Standard rubric, in schema order: rd_to_output, high_tech_product_share, rd_staff_share,
    // patents_granted (50 000 each), output_growth, value_added_growth (50 000), expert 61 000,
    // export_share missing → 0.
    #expect(base.indicatorScores.map(\.indicator) == [
      .patentsGranted, .rdToOutput, .highTechProductShare, .rdStaffShare, .outputGrowth, .valueAddedGrowth,
      .expertJudgement, .exportShare,
    ])
    #expect(base.indicatorScores.map(\.scoreMilli) == [50_000, 50_000, 50_000, 50_000, 50_000, 50_000, 61_000, 0])
    // 50 000 × (0.10 + 0.15 + 0.15 + 0.10 + 0.15 + 0.10) = 37 500; + 61 000 × 0.2 = 12 200 → 49 700.
    #expect(base.totalScoreMilli == 49_700)
    #expect(base.tier == .pass)
    #expect(base.rank == 1 && base.rankedCount == 1)
  }

  @Test("without last year's report growth is absent and scores 0")
  func missingPreviousYear() throws {
    let inputs = [
      AssessmentInput(base: Fixture.base("HTB-A"), report: Fixture.report(output: Fixture.yi(110)), previousYearReport: Fixture.report(output: Fixture.yi(100))),
      AssessmentInput(base: Fixture.base("HTB-B"), report: Fixture.report(output: Fixture.yi(120)), previousYearReport: Fixture.report(output: Fixture.yi(100))),
      AssessmentInput(base: Fixture.base("HTB-C"), report: Fixture.report(output: Fixture.yi(500))),
    ]
    let r = try Assessor.assess(reportYear: 2025, inputs: inputs, expertScores: [], nationalHighTechOutput: nil, rubric: Fixture.smallRubric)
    let c = r.base("HTB-C")
    #expect(c.value(of: .outputGrowth) == nil)
    #expect(c.indicators.contains(IndicatorValue(indicator: .outputGrowth)))
    #expect(c.score(of: .outputGrowth)?.scoreMilli == 0)
    #expect(r.base("HTB-A").value(of: .outputGrowth)?.ratioPPM == 100_000)
    #expect(r.base("HTB-B").score(of: .outputGrowth)?.scoreMilli == 100_000)
  }

  @Test("bases that did not report are kept, last, with tier NOT_REPORTED and their expert scores")
  func notReportedKept() throws {
    let inputs = [
      AssessmentInput(base: Fixture.base("HTB-Z"), report: nil),
      AssessmentInput(base: Fixture.base("HTB-A"), report: nil),
      AssessmentInput(base: Fixture.base("HTB-M"), report: Fixture.report(output: Fixture.yi(1))),
    ]
    let r = try Assessor.assess(
      reportYear: 2025, inputs: inputs, expertScores: [ExpertScore(baseId: "HTB-Z", expertId: "E1", scoreMilli: 1)],
      nationalHighTechOutput: nil, rubric: Fixture.smallRubric)
    #expect(r.bases.map(\.baseId) == ["HTB-M", "HTB-A", "HTB-Z"])
    #expect(r.bases.map(\.tier) == [.fail, .notReported, .notReported])
    #expect(r.bases.map(\.rank) == [1, 0, 0])
    #expect(r.base("HTB-Z").expertScores.count == 1)
    #expect(r.progress.basesReported == 1)
  }

  @Test("programme count compares amounts across units, strictly above 1000 亿元")
  func programmeUnits() throws {
    let inputs = [
      // 100 000 000 001 元 > 1000 亿元.
      AssessmentInput(base: Fixture.base("HTB-1"), report: Fixture.report(output: Amount(100_000_000_001, .cnyYuan))),
      // 10 000 000 万元 = 1000 亿元 exactly: not over.
      AssessmentInput(base: Fixture.base("HTB-2"), report: Fixture.report(output: Amount(10_000_000, .cnyTenThousand))),
      // 1001 亿元: over.
      AssessmentInput(base: Fixture.base("HTB-3"), report: Fixture.report(output: Fixture.yi(1001))),
      // USD cannot be compared: not counted, not summed.
      AssessmentInput(base: Fixture.base("HTB-4"), report: Fixture.report(output: Amount(500, .usdHundredMillion))),
      // Provincial and withdrawn bases are not counted even when over.
      AssessmentInput(base: Fixture.base("HTB-5", level: .provincial), report: Fixture.report(output: Fixture.yi(5000))),
      AssessmentInput(base: Fixture.base("HTB-6", withdrawn: true), report: Fixture.report(output: Fixture.yi(5000))),
      // Comprehensive bases are not counted.
      AssessmentInput(base: Fixture.base("HTB-7", .comprehensive, [.ocean, .biology]), report: Fixture.report(output: Fixture.yi(5000))),
    ]
    var rubric = Fixture.smallRubric
    rubric.targetCount = 30
    let p = try Assessor.assess(reportYear: 2025, inputs: inputs, expertScores: [], nationalHighTechOutput: nil, rubric: rubric).progress
    #expect(p.specializedBases == 4)
    #expect(p.specializedBasesOverThreshold == 2)
    #expect(p.comprehensiveBases == 1)
    #expect(p.targetCount == 30)
    #expect(p.shareOfNationalPPM == nil)
    #expect(p.nationalHighTechOutput == nil)
    // 100 000 000 001 + 100 000 000 000 + 100 100 000 000 + 3 × 500 000 000 000 元.
    #expect(p.basesTotalOutput == Amount(1_800_100_000_001, .cnyYuan))
  }

  @Test("share of national high-tech output, exact and toward zero")
  func share() throws {
    let inputs = [
      AssessmentInput(base: Fixture.base("HTB-1"), report: Fixture.report(output: Fixture.yi(1))),
      AssessmentInput(base: Fixture.base("HTB-2"), report: Fixture.report(output: Amount(10_000, .cnyTenThousand))),
    ]
    // (1 + 1) 亿元 / 30 000 000 万元 (3000 亿元) = 1 / 1500 = 666.67 ppm → 666.
    let p = try Assessor.assess(
      reportYear: 2025, inputs: inputs, expertScores: [], nationalHighTechOutput: Amount(30_000_000, .cnyTenThousand),
      rubric: Fixture.smallRubric
    ).progress
    #expect(p.basesTotalOutput == Amount(20_000, .cnyTenThousand))
    #expect(p.shareOfNationalPPM == 666)
    #expect(throws: AssessmentError.self) {
      try Assessor.assess(
        reportYear: 2025, inputs: inputs, expertScores: [], nationalHighTechOutput: Amount(1, .usd), rubric: Fixture.smallRubric)
    }
  }

  @Test("bad inputs are refused with a reason")
  func badInputs() {
    let inputs = Fixture.exampleInputs()
    func assess(_ inputs: [AssessmentInput], _ experts: [ExpertScore]) throws {
      _ = try Assessor.assess(reportYear: 2025, inputs: inputs, expertScores: experts, nationalHighTechOutput: nil, rubric: Fixture.smallRubric)
    }
    #expect(throws: AssessmentError.duplicateBase("HTB-110000-INF")) { try assess(inputs + [inputs[0]], []) }
    #expect(throws: AssessmentError.expertScoreForUnknownBase(baseId: "HTB-NOPE", expertId: "E1")) {
      try assess(inputs, [ExpertScore(baseId: "HTB-NOPE", expertId: "E1", scoreMilli: 1)])
    }
    #expect(throws: AssessmentError.duplicateExpertScore(baseId: "HTB-110000-INF", expertId: "E1")) {
      try assess(inputs, [
        ExpertScore(baseId: "HTB-110000-INF", expertId: "E1", scoreMilli: 1),
        ExpertScore(baseId: "HTB-110000-INF", expertId: "E1", scoreMilli: 2),
      ])
    }
    #expect(throws: AssessmentError.invalidExpertScore(baseId: "HTB-110000-INF", expertId: "E1", scoreMilli: 100_001)) {
      try assess(inputs, [ExpertScore(baseId: "HTB-110000-INF", expertId: "E1", scoreMilli: 100_001)])
    }
  }

  @Test("the input order does not change the result")
  func orderIndependent() throws {
    let a = try Fixture.example()
    let b = try Assessor.assess(
      reportYear: 2025, inputs: Fixture.exampleInputs().reversed(), expertScores: Fixture.exampleExperts.reversed(),
      nationalHighTechOutput: Fixture.yi(45_000), rubric: Fixture.smallRubric)
    #expect(a == b)
  }
}
