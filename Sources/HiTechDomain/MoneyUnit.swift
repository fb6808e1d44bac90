/// The unit of an amount of money, as `MoneyUnit` in common.proto. Amounts are exact integers
/// of a named unit; there is no exchange rate, so CNY and USD amounts are never compared,
/// added or converted into each other.
public enum MoneyUnit: String, Sendable, Hashable, CaseIterable, Codable {
  /// 元 (MONEY_UNIT_CNY_YUAN).
  case cnyYuan = "cny_yuan"
  /// 万元 (MONEY_UNIT_CNY_TEN_THOUSAND), the usual unit of output and value added.
  case cnyTenThousand = "cny_ten_thousand"
  /// 亿元 (MONEY_UNIT_CNY_HUNDRED_MILLION).
  case cnyHundredMillion = "cny_hundred_million"
  /// One US dollar (MONEY_UNIT_USD).
  case usd
  /// 万美元 (MONEY_UNIT_USD_TEN_THOUSAND), the usual unit of customs trade figures.
  case usdTenThousand = "usd_ten_thousand"
  /// 亿美元 (MONEY_UNIT_USD_HUNDRED_MILLION).
  case usdHundredMillion = "usd_hundred_million"
  /// The sender named no unit (MONEY_UNIT_UNSPECIFIED): rule R-AMOUNT-UNIT-PRESENT.
  case unspecified
  /// The sender named a unit this version does not know: rule R-AMOUNT-UNIT-KNOWN.
  case unrecognized

  public enum Currency: String, Sendable, Hashable, Codable {
    case cny, usd
  }

  /// The currency, or `nil` for a missing or unknown unit.
  public var currency: Currency? {
    switch self {
    case .cnyYuan, .cnyTenThousand, .cnyHundredMillion: .cny
    case .usd, .usdTenThousand, .usdHundredMillion: .usd
    case .unspecified, .unrecognized: nil
    }
  }

  /// Whether this is a real unit (not missing, not unknown).
  public var isKnown: Bool { currency != nil }

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
