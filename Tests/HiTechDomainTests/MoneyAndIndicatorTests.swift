import HiTechDomain
import Testing

@Suite("Money and derived indicators")
struct MoneyAndIndicatorTests {
  @Test("exact conversion and comparison across units")
  func conversion() {
    #expect(Amount(1, .cnyHundredMillion).compare(to: Amount(10_000, .cnyTenThousand)) == .equal)
    #expect(Amount(1, .cnyHundredMillion).converted(to: .cnyTenThousand) == Amount(10_000, .cnyTenThousand))
    #expect(Amount(12_345, .cnyYuan).converted(to: .cnyTenThousand) == nil)  // not exact
    #expect(Amount(1, .usd).compare(to: Amount(1, .cnyYuan)) == nil)
    #expect(Amount(1, .usdTenThousand).converted(to: .cnyYuan) == nil)
    // Beyond 64 bits in yuan, the comparison is still exact.
    let huge = Amount(Int64.max, .cnyHundredMillion)
    #expect(huge.inBaseUnits == nil)
    #expect(huge.compare(to: Amount(Int64.max, .cnyTenThousand)) == .greater)
    #expect(Amount(Int64.max - 1, .cnyHundredMillion).compare(to: huge) == .less)
  }

  @Test("the three ratios of 四(一), by hand")
  func ratios() {
    // R&D 50,000 / value added 300,000 = 0.1666… → 166,666 ppm (toward zero).
    // High-tech products 700,000 / all products 900,000 = 0.7777… → 777,777 ppm.
    // R&D staff 18,000 / employees 120,000 = 0.15 → 150,000 ppm.
    // R&D 50,000 / output 1,000,000 万元 = 0.05 → 50,000 ppm.
    let indicators = validReport().indicators
    #expect(indicators.rdIntensityPPM == 166_666)
    #expect(indicators.highTechProductSharePPM == 777_777)
    #expect(indicators.rdStaffSharePPM == 150_000)
    #expect(indicators.rdToOutputPPM == 50_000)
  }

  @Test("ratios are nil without inputs, with zero denominators or mixed currencies")
  func missingRatios() {
    var report = validReport()
    report.employees = 0
    report.valueAdded = nil
    report.totalProductOutput = Amount(900_000, .usd)
    let indicators = report.indicators
    #expect(indicators.rdStaffSharePPM == nil)
    #expect(indicators.rdIntensityPPM == nil)
    #expect(indicators.highTechProductSharePPM == nil)
  }

  @Test("ratios of large amounts use a wide intermediate")
  func wideRatio() {
    let report = AnnualReport(
      totalOutput: Amount(9_000_000_000_000, .cnyYuan),
      rdExpenditure: Amount(4_500_000_000_000, .cnyYuan)
    )
    #expect(report.indicators.rdToOutputPPM == 500_000)
  }
}
