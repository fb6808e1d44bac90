/// Ratios derived from a report (四(一), and the trade shares), in parts per million
/// (1 000 000 ppm = 100 %).
///
/// Rounding: **toward zero** (truncation). Every input is non-negative when a ratio is
/// computed, so this is also rounding down: 1/3 → 333 333 ppm, 2/3 → 666 666 ppm.
/// Arithmetic is integer only, with a 128-bit intermediate; amounts in different units of
/// one currency are compared exactly (100 亿元 / 1 000 000 万元 = 1 000 000 ppm).
///
/// A ratio is `nil` when an input is missing, negative or in an unknown unit, when the
/// denominator is zero, when the currencies differ (there is no exchange rate), or when the
/// ratio does not fit in 64 bits.
public struct DerivedIndicators: Sendable, Hashable, Codable {
  /// R&D intensity: rd_expenditure / value_added (四(一) "研究与开发投入占基地生产总值的比重";
  /// 生产总值 read as value added, see proto-schemas/README.md). `INDICATOR_RD_INTENSITY`.
  public var rdIntensityPPM: Int64?
  /// rd_expenditure / total_output_value, published as a second indicator
  /// (`INDICATOR_RD_TO_OUTPUT`).
  public var rdToOutputPPM: Int64?
  /// High-tech product share: high_tech_product_output_value / total_product_output_value
  /// (四(一)). `INDICATOR_HIGH_TECH_PRODUCT_SHARE`.
  public var highTechProductSharePPM: Int64?
  /// R&D staff share: rd_and_engineering_staff / employees (四(一)). `INDICATOR_RD_STAFF_SHARE`.
  public var rdStaffSharePPM: Int64?
  /// Export share of output: exports / total_output_value. Only when both are in the same
  /// currency — exports are usually in 万美元 and output in 万元, and then this is `nil`.
  public var exportSharePPM: Int64?
  /// Export share of trade: exports / (exports + imports), same currency required.
  public var exportShareOfTradePPM: Int64?

  public init(_ report: AnnualReport) {
    rdIntensityPPM = Self.ppm(report.rdExpenditure, report.valueAdded)
    rdToOutputPPM = Self.ppm(report.rdExpenditure, report.totalOutput)
    highTechProductSharePPM = Self.ppm(report.highTechProductOutput, report.totalProductOutput)
    rdStaffSharePPM = Self.ppm(report.rdAndEngineeringStaff.map { Int128($0) }, report.employees.map { Int128($0) })
    exportSharePPM = Self.ppm(report.exports, report.totalOutput)
    if let exports = report.exports, let imports = report.imports, exports.isComparable(with: imports),
      let sold = exports.exactBaseUnits, let bought = imports.exactBaseUnits, bought >= 0
    {
      exportShareOfTradePPM = Self.ppm(sold, sold + bought)
    } else {
      exportShareOfTradePPM = nil
    }
  }

  /// numerator / denominator in ppm, exact across units of one currency.
  static func ppm(_ numerator: Amount?, _ denominator: Amount?) -> Int64? {
    guard let numerator, let denominator, numerator.isComparable(with: denominator) else { return nil }
    return ppm(numerator.exactBaseUnits, denominator.exactBaseUnits)
  }

  /// numerator × 1 000 000 / denominator, toward zero; `nil` for a missing or negative input,
  /// a zero denominator, or a result beyond 64 bits.
  static func ppm(_ numerator: Int128?, _ denominator: Int128?) -> Int64? {
    guard let numerator, let denominator, numerator >= 0, denominator > 0 else { return nil }
    // |numerator| < 2^64 · 10^8 < 2^91, so × 10^6 < 2^111: no overflow in 128 bits.
    return Int64(exactly: numerator * 1_000_000 / denominator)
  }
}
