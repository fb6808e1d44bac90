import HiTechDomain

/// Exact decimal text of integers scaled by a power of ten, with no floating point.
enum ExactDecimal {
  /// value / 10^scale, with trailing fractional zeros dropped: (123 450, 4) → "12.345",
  /// (-5, 3) → "-0.005", (10 000, 4) → "1".
  static func text(_ value: Int128, scale: Int) -> String {
    var divisor: Int128 = 1
    for _ in 0..<scale { divisor *= 10 }
    let magnitude = value < 0 ? -value : value
    let whole = magnitude / divisor
    var fraction = String(magnitude % divisor)
    fraction = String(repeating: "0", count: scale - fraction.count) + fraction
    while fraction.last == "0" { fraction.removeLast() }
    return (value < 0 ? "-" : "") + String(whole) + (fraction.isEmpty ? "" : "." + fraction)
  }

  /// An amount in 万元, exactly ("1.2345" for 12 345 元); `nil` when not in CNY.
  static func tenThousandYuan(_ amount: Amount?) -> String? {
    guard let amount, amount.unit.currency == .cny, let yuan = amount.exactBaseUnits else { return nil }
    return text(yuan, scale: 4)
  }

  /// ppm as a percentage: 150 000 → "15%", 1 → "0.0001%".
  static func percent(_ ppm: Int64) -> String { text(Int128(ppm), scale: 4) + "%" }

  /// milli-points as points: 72 500 → "72.5".
  static func points(_ milli: Int64) -> String { text(Int128(milli), scale: 3) }
}
