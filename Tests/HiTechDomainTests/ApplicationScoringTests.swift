import HiTechDomain
import Testing

@Suite("Applications: the scoring method and the conflict-of-interest rule")
struct ApplicationScoringTests {
  static func scores(_ expert: String, _ milli: Int64, growth: Int64? = nil) -> CriterionScores {
    var all = Dictionary(uniqueKeysWithValues: EvaluationCriterion.allCases.map { ($0, milli) })
    if let growth { all[.growthRate] = growth }
    return CriterionScores(expertId: expert, scoresMilli: all)
  }

  @Test("the default weighting is the documented one and is usable")
  func defaultWeighting() {
    let standard = ApplicationWeighting.standard
    #expect(standard.problems.isEmpty)
    #expect(standard.weightsPPM.values.reduce(0, +) == 1_000_000)
    #expect(standard.weightsPPM[.totalIndustryScale] == 150_000 && standard.weightsPPM[.developmentGoals] == 60_000)
    #expect(standard.thresholdMilli == 70_000 && standard.minExperts == 3)
    var broken = standard
    broken.weightsPPM[.growthRate] = nil
    broken.minExperts = 0
    #expect(broken.problems.contains { $0.hasPrefix("weights.growth_rate") })
    #expect(broken.problems.contains { $0.hasPrefix("weights: they sum to 900000") })
    #expect(broken.problems.contains { $0.hasPrefix("minExperts") })
  }

  @Test("means per criterion, the weighted score, rounding and the recommendation")
  func scoring() {
    // Growth: (70 + 71 + 71) / 3 = 70.666… → 70.667; the rest 60.
    let evaluations = [Self.scores("A", 60_000, growth: 70_000), Self.scores("B", 60_000, growth: 71_000), Self.scores("C", 60_000, growth: 71_000)]
    let result = ApplicationScoring.score(evaluations, weighting: .standard)
    #expect(result.experts == 3 && result.complete)
    #expect(result.meanByCriterionMilli[.growthRate] == 70_667)
    // 0.9 × 60 000 + 0.1 × 70 667 = 54 000 + 7 066.7 → 61 067.
    #expect(result.scoreMilli == 61_067)
    #expect(!result.recommended)

    let strong = ApplicationScoring.score([Self.scores("A", 70_000), Self.scores("B", 70_000), Self.scores("C", 70_000)], weighting: .standard)
    #expect(strong.scoreMilli == 70_000 && strong.recommended)  // at the threshold: recommended
    let few = ApplicationScoring.score([Self.scores("A", 90_000), Self.scores("B", 90_000)], weighting: .standard)
    #expect(few.scoreMilli == 90_000 && !few.complete && !few.recommended)
    var incomplete = Self.scores("D", 100_000)
    incomplete.scoresMilli[.internationalisation] = nil
    #expect(ApplicationScoring.score([incomplete], weighting: .standard).experts == 0)
  }

  @Test("an expert of the applicant's province conflicts; the XPCC counts as Xinjiang")
  func conflicts() {
    #expect(ExpertConflict.conflicts(expertProvince: "440000", applicantCode: "440300"))
    #expect(ExpertConflict.conflicts(expertProvince: "440000", applicantCode: "440000"))
    #expect(!ExpertConflict.conflicts(expertProvince: "110000", applicantCode: "440300"))
    #expect(ExpertConflict.conflicts(expertProvince: "650000", applicantCode: "660000"))
    #expect(ExpertConflict.conflicts(expertProvince: "bogus", applicantCode: "440000"))  // unknown: refused
    #expect(ExpertConflict.province(of: "660000") == "650000")
  }
}
