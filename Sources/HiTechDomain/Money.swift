/// The unit of an amount of money. Amounts are exact integers of a named unit; there is no
/// exchange rate, so CNY and USD amounts are never compared or added.
public enum MoneyUnit: String, Sendable, Hashable, CaseIterable, Codable {
  case cnyYuan = "cny_yuan"
  /// 万元, the usual unit of output and value added.
  case cnyTenThousand = "cny_ten_thousand"
  /// 亿元.
  case cnyHundredMillion = "cny_hundred_million"
  case usd
  /// 万美元, the usual unit of customs trade figures.
  case usdTenThousand = "usd_ten_thousand"
  case usdHundredMillion = "usd_hundred_million"
  /// The sender named no unit.
  case unspecified
  /// The sender named a unit this version does not know.
  case unrecognized

  public enum Currency: String, Sendable, Hashable {
    case cny, usd
  }

  public var currency: Currency? {
    switch self {
    case .cnyYuan, .cnyTenThousand, .cnyHundredMillion: .cny
    case .usd, .usdTenThousand, .usdHundredMillion: .usd
    case .unspecified, .unrecognized: nil
    }
  }

  /// How many of the currency's base unit (元 or dollar) one of this unit is.
  public var baseUnits: Int64? {
    switch self {
    case .cnyYuan, .usd: 1
    case .cnyTenThousand, .usdTenThousand: 10_000
    case .cnyHundredMillion, .usdHundredMillion: 100_000_000
    case .unspecified, .unrecognized: nil
    }
  }

  public var symbol: String {
    switch self {
    case .cnyYuan: "元"
    case .cnyTenThousand: "万元"
    case .cnyHundredMillion: "亿元"
    case .usd: "USD"
    case .usdTenThousand: "万美元"
    case .usdHundredMillion: "亿美元"
    case .unspecified: "(no unit)"
    case .unrecognized: "(unknown unit)"
    }
  }
}

/// An exact amount of money: an integer count of `unit`.
public struct Amount: Sendable, Hashable, Codable, CustomStringConvertible {
  public var value: Int64
  public var unit: MoneyUnit

  public init(_ value: Int64, _ unit: MoneyUnit) {
    self.value = value
    self.unit = unit
  }

  /// The amount in the currency's base unit (元 or dollars), or `nil` when the unit is not
  /// known or the result does not fit in 64 bits.
  public var inBaseUnits: Int64? {
    guard let factor = unit.baseUnits else { return nil }
    let (product, overflow) = value.multipliedReportingOverflow(by: factor)
    return overflow ? nil : product
  }

  /// The amount expressed in `target`, when that is exact (no fraction, no overflow) and in
  /// the same currency.
  public func converted(to target: MoneyUnit) -> Amount? {
    guard unit.currency != nil, unit.currency == target.currency,
      let base = inBaseUnits, let factor = target.baseUnits, base % factor == 0
    else { return nil }
    return Amount(base / factor, target)
  }

  /// Compares two amounts exactly, whatever their units; `nil` when they are in different
  /// currencies or a unit is not known. Works for any values (128-bit intermediate).
  public func compare(to other: Amount) -> ComparisonResult? {
    guard let currency = unit.currency, currency == other.unit.currency,
      let left = unit.baseUnits, let right = other.unit.baseUnits
    else { return nil }
    let a = value.multipliedFullWidth(by: left)
    let b = other.value.multipliedFullWidth(by: right)
    if a.high != b.high { return a.high < b.high ? .less : .greater }
    if a.low != b.low { return a.low < b.low ? .less : .greater }
    return .equal
  }

  public enum ComparisonResult: Sendable, Hashable {
    case less, equal, greater
  }

  public var description: String { "\(value) \(unit.symbol)" }
}
