import HiTechDomain
import Testing

@Suite("Derived indicators (四(一)), in ppm")
struct DerivedIndicatorTests {
  @Test("the ratios of the sample report, computed by hand")
  func byHand() {
    // R&D 50 000 / value added 300 000 万元 = 0.1666… → 166 666 ppm (toward zero, not 166 667).
    // High-tech products 700 000 / all products 900 000 = 0.7777… → 777 777 ppm.
    // R&D staff 18 000 / employees 120 000 = 0.15 → 150 000 ppm.
    // R&D 50 000 / output 1 000 000 万元 = 0.05 → 50 000 ppm.
    // Exports 80 000 万美元 / output in 万元: no exchange rate → nil.
    // Exports 80 000 / (80 000 + 60 000) 万美元 = 0.571428… → 571 428 ppm.
    let indicators = validReport().indicators
    #expect(indicators.rdIntensityPPM == 166_666)
    #expect(indicators.highTechProductSharePPM == 777_777)
    #expect(indicators.rdStaffSharePPM == 150_000)
    #expect(indicators.rdToOutputPPM == 50_000)
    #expect(indicators.exportSharePPM == nil)
    #expect(indicators.exportShareOfTradePPM == 571_428)
  }

  @Test("rounding is toward zero", arguments: [
    (Int64(1), Int64(3), Int64(333_333)),
    (2, 3, 666_666),  // half-up would give 666 667
    (1, 7, 142_857),  // 142 857.14…
    (5, 7, 714_285),  // 714 285.71…
    (1, 2_000_000, 0),  // 0.5 ppm → 0
    (3, 2_000_000, 1),  // 1.5 ppm → 1
    (7, 7, 1_000_000),
  ])
  func rounding(numerator: Int64, denominator: Int64, expected: Int64) {
    let report = AnnualReport(employees: denominator, rdAndEngineeringStaff: numerator)
    #expect(report.indicators.rdStaffSharePPM == expected)
  }

  @Test("ratios across units of one currency are exact")
  func mixedUnits() {
    var report = validReport()
    report.rdExpenditure = Amount(5, .cnyHundredMillion)  // = 50 000 万元
    report.exports = Amount(8_000_000, .cnyYuan)  // = 800 万元 of 1 000 000 万元 → 800 ppm
    #expect(report.indicators.rdIntensityPPM == 166_666)
    #expect(report.indicators.exportSharePPM == 800)
    #expect(report.indicators.exportShareOfTradePPM == nil)  // exports CNY, imports USD
  }

  @Test("nil without inputs, with zero denominators, negative inputs or mixed currencies")
  func missing() {
    var report = validReport()
    report.employees = 0
    report.valueAdded = nil
    report.totalProductOutput = Amount(900_000, .usd)
    report.totalOutput = Amount(1_000_000, .unspecified)
    let indicators = report.indicators
    #expect(indicators.rdStaffSharePPM == nil)
    #expect(indicators.rdIntensityPPM == nil)
    #expect(indicators.highTechProductSharePPM == nil)
    #expect(indicators.rdToOutputPPM == nil)
    #expect(AnnualReport(employees: 10, rdAndEngineeringStaff: -1).indicators.rdStaffSharePPM == nil)
    #expect(AnnualReport().indicators == AnnualReport().indicators)
    #expect(AnnualReport().indicators.exportShareOfTradePPM == nil)
  }

  @Test("large amounts use a wide intermediate; a ratio beyond 64 bits is nil")
  func wide() {
    let report = AnnualReport(
      totalOutput: Amount(Int64.max, .cnyYuan),
      rdExpenditure: Amount(Int64.max / 2, .cnyYuan)
    )
    #expect(report.indicators.rdToOutputPPM == 499_999)  // (2^62 - 1) / (2^63 - 1) just under ½
    let huge = AnnualReport(totalOutput: Amount(1, .cnyYuan), rdExpenditure: Amount(Int64.max, .cnyHundredMillion))
    #expect(huge.indicators.rdToOutputPPM == nil)
    let big = AnnualReport(totalOutput: Amount(Int64.max, .cnyHundredMillion), rdExpenditure: Amount(Int64.max, .cnyTenThousand))
    #expect(big.indicators.rdToOutputPPM == 100)
  }
}
