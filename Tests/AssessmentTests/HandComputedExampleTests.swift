import Assessment
import HiTechDomain
import Testing

/// Five bases, 2025, rubric "test-small": output growth 30 %, R&D / output 30 %, patents
/// granted 20 %, expert judgement 20 %; tiers 70 / 50 / 30 points.
///
/// | base | kind, field | output | last year | R&D | patents | experts |
/// |---|---|---|---|---|---|---|
/// | A HTB-110000-INF | spec., information, national | 1200 亿元 | 1000 亿元 | 60 亿元 | 300 | 80, 90 |
/// | B HTB-440300-INF | spec., information, national | 8 000 000 万元 | 800 亿元 | 80 亿元 | 100 | 70 |
/// | C HTB-320100-INF | spec., information, provincial | 50 000 000 000 元 | — | 20 亿元 | 200 | — |
/// | D HTB-310000-CMP | comp., biology 1500 + new energy 500 亿元 | 2000 亿元 | 1600 亿元 | 100 亿元 | 500 | — |
/// | E HTB-510100-BIO | spec., biology, national | not reported | | | | |
@Suite("Hand-computed example")
struct HandComputedExampleTests {
  @Test("indicator values")
  func values() throws {
    let r = try Fixture.example()
    // Growth: A (1200 − 1000) / 1000 = 200 000 ppm; B (800 − 800) / 800 = 0; C no last year;
    // D (2000 − 1600) / 1600 = 250 000.
    #expect(r.base("HTB-110000-INF").value(of: .outputGrowth)?.ratioPPM == 200_000)
    #expect(r.base("HTB-440300-INF").value(of: .outputGrowth)?.ratioPPM == 0)
    #expect(r.base("HTB-320100-INF").value(of: .outputGrowth) == nil)
    #expect(r.base("HTB-310000-CMP").value(of: .outputGrowth)?.ratioPPM == 250_000)
    // R&D / output: A 60/1200 = 50 000; B 80/800 = 100 000; C 20/500 = 40 000; D 100/2000 = 50 000.
    #expect(r.base("HTB-110000-INF").value(of: .rdToOutput)?.ratioPPM == 50_000)
    #expect(r.base("HTB-440300-INF").value(of: .rdToOutput)?.ratioPPM == 100_000)
    #expect(r.base("HTB-320100-INF").value(of: .rdToOutput)?.ratioPPM == 40_000)
    #expect(r.base("HTB-310000-CMP").value(of: .rdToOutput)?.ratioPPM == 50_000)
    // Expert judgement: A (80 000 + 90 000) / 2 = 85 000; B 70 000; C, D none.
    #expect(r.base("HTB-110000-INF").value(of: .expertJudgement)?.scoreMilli == 85_000)
    #expect(r.base("HTB-440300-INF").value(of: .expertJudgement)?.scoreMilli == 70_000)
    #expect(r.base("HTB-320100-INF").value(of: .expertJudgement) == nil)
    // D's primary field is biology (1500 亿元 > 500 亿元 of new energy): a group of one.
    #expect(r.base("HTB-310000-CMP").primaryField == .biology)
    // Every indicator is listed for a reported base, none for E.
    #expect(r.base("HTB-110000-INF").indicators.count == Indicator.allCases.count)
    #expect(r.base("HTB-510100-BIO").indicators.isEmpty)
  }

  @Test("normalised and weighted scores, totals")
  func scores() throws {
    let r = try Fixture.example()
    func scores(_ id: String) -> [Int64] { r.base(id).indicatorScores.map(\.scoreMilli) }
    func weighted(_ id: String) -> [Int64] { r.base(id).indicatorScores.map(\.weightedScoreMilli) }
    // Group (information, specialized) = A, B, C. Scores in schema order: patents granted (7),
    // R&D/output (9), output growth (12), expert judgement (15).
    // growth: present A 200 000, B 0 → min 0, max 200 000: A 100 000, B 0; C missing → 0.
    // R&D/output: min 40 000 (C), max 100 000 (B): A (50 000 − 40 000) × 100 000 / 60 000
    //   = 16 666.67 → 16 667; B 100 000; C 0.
    // patents: min 100 (B), max 300 (A): A 100 000, B 0, C (200 − 100) / 200 → 50 000.
    #expect(scores("HTB-110000-INF") == [100_000, 16_667, 100_000, 85_000])
    #expect(scores("HTB-440300-INF") == [0, 100_000, 0, 70_000])
    #expect(scores("HTB-320100-INF") == [50_000, 0, 0, 0])
    // Group (biology, comprehensive) = D alone: midpoint 50 000 on each data indicator.
    #expect(scores("HTB-310000-CMP") == [50_000, 50_000, 50_000, 0])
    // Weighted (patents × 0.2, R&D/output × 0.3, growth × 0.3, experts × 0.2, half up):
    // A 20 000 + 5 000 (16 667 × 0.3 = 5 000.1) + 30 000 + 17 000 = 72 000
    // B 0 + 30 000 + 0 + 14 000 = 44 000
    // C 10 000 + 0 + 0 + 0 = 10 000
    // D 10 000 + 15 000 + 15 000 + 0 = 40 000
    #expect(weighted("HTB-110000-INF") == [20_000, 5_000, 30_000, 17_000])
    #expect(weighted("HTB-440300-INF") == [0, 30_000, 0, 14_000])
    #expect(r.base("HTB-110000-INF").totalScoreMilli == 72_000)
    #expect(r.base("HTB-440300-INF").totalScoreMilli == 44_000)
    #expect(r.base("HTB-320100-INF").totalScoreMilli == 10_000)
    #expect(r.base("HTB-310000-CMP").totalScoreMilli == 40_000)
    #expect(r.base("HTB-510100-BIO").totalScoreMilli == 0)
  }

  @Test("ranks, field ranks, tiers and order")
  func ranks() throws {
    let r = try Fixture.example()
    // 72 000 > 44 000 > 40 000 > 10 000; E unranked and last.
    #expect(r.bases.map(\.baseId) == ["HTB-110000-INF", "HTB-440300-INF", "HTB-310000-CMP", "HTB-320100-INF", "HTB-510100-BIO"])
    #expect(r.bases.map(\.rank) == [1, 2, 3, 4, 0])
    #expect(r.bases.map(\.rankedCount) == [4, 4, 4, 4, 4])
    // Information: A 1, B 2, C 3 of 3; biology: D 1 of 1, E unranked.
    #expect(r.bases.map(\.fieldRank) == [1, 2, 1, 3, 0])
    #expect(r.bases.map(\.fieldRankedCount) == [3, 3, 1, 3, 1])
    // 72 000 ≥ 70 000 excellent; 44 000 and 40 000 ≥ 30 000 pass; 10 000 fail.
    #expect(r.bases.map(\.tier) == [.excellent, .pass, .pass, .fail, .notReported])
    #expect(r.base("HTB-440300-INF").late)
    #expect(r.base("HTB-440300-INF").revision == 2)
    #expect(r.base("HTB-510100-BIO").accessionNumber == "")
  }

  @Test("programme progress")
  func progress() throws {
    let p = try Fixture.example().progress
    // Specialized national active: A, B, E (C is provincial). Over 1000 亿元: A only (1200).
    #expect(p.specializedBases == 3)
    #expect(p.specializedBasesOverThreshold == 1)
    #expect(p.comprehensiveBases == 1)
    #expect(p.basesReported == 4)
    #expect(p.targetCount == 100)
    // 1200 亿 + 800 亿 + 500 亿 + 2000 亿 = 4500 亿元, in 元 (the smallest unit used, by C).
    #expect(p.basesTotalOutput == Amount(450_000_000_000, .cnyYuan))
    // 4500 / 45 000 = 10 % = 100 000 ppm.
    #expect(p.shareOfNationalPPM == 100_000)
  }
}
