/// An exact amount of money: an integer count of `unit` (common.proto `Amount`).
///
/// `==` and `hash` compare the representation (1 亿元 ≠ 10 000 万元 as values of this type);
/// use ``compare(to:)`` or ``isSameValue(as:)`` to compare what the amounts are worth.
/// All arithmetic is integer arithmetic with a 128-bit intermediate, so no comparison,
/// conversion or ratio ever loses precision or silently overflows.
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
    exactBaseUnits.flatMap { Int64(exactly: $0) }
  }

  /// The amount in the currency's base unit, exactly (|value| × 10^8 always fits in 128 bits);
  /// `nil` when the unit is not known.
  public var exactBaseUnits: Int128? {
    unit.baseUnits.map { Int128(value) * Int128($0) }
  }

  /// The amount expressed in `target`, or `nil` when that is not possible exactly: a different
  /// currency (there is no exchange rate: USD never converts to CNY), an unknown unit, a
  /// fraction (12 345 元 is not a whole number of 万元), or a result beyond 64 bits.
  public func converted(to target: MoneyUnit) -> Amount? {
    guard unit.currency != nil, unit.currency == target.currency,
      let base = exactBaseUnits, let factor = target.baseUnits.map({ Int128($0) })
    else { return nil }
    let (quotient, remainder) = base.quotientAndRemainder(dividingBy: factor)
    guard remainder == 0, let value = Int64(exactly: quotient) else { return nil }
    return Amount(value, target)
  }

  /// Like ``converted(to:)``, but says why a conversion is impossible.
  public func convertedOrThrow(to target: MoneyUnit) throws(ConversionError) -> Amount {
    guard unit.isKnown, target.isKnown else { throw .unknownUnit }
    guard unit.currency == target.currency else { throw .differentCurrencies }
    let base = exactBaseUnits!
    let factor = Int128(target.baseUnits!)
    guard base % factor == 0 else { throw .notExact }
    guard let value = Int64(exactly: base / factor) else { throw .overflow }
    return Amount(value, target)
  }

  /// Why an amount cannot be converted.
  public enum ConversionError: Error, Sendable, Hashable {
    /// One of the units is missing or not known.
    case unknownUnit
    /// CNY and USD: there is no exchange rate.
    case differentCurrencies
    /// The result would have a fraction of the target unit.
    case notExact
    /// The result does not fit in 64 bits.
    case overflow
  }

  /// Compares two amounts exactly, whatever their units; `nil` when they are in different
  /// currencies or a unit is not known. Works for any values (128-bit intermediate).
  public func compare(to other: Amount) -> ComparisonResult? {
    guard isComparable(with: other), let left = exactBaseUnits, let right = other.exactBaseUnits else { return nil }
    return left < right ? .less : left > right ? .greater : .equal
  }

  /// Whether both units are known and of the same currency.
  public func isComparable(with other: Amount) -> Bool {
    unit.currency != nil && unit.currency == other.unit.currency
  }

  /// Whether the two amounts are worth the same (1 亿元 and 10 000 万元 are); `nil` when they
  /// cannot be compared.
  public func isSameValue(as other: Amount) -> Bool? {
    compare(to: other).map { $0 == .equal }
  }

  public enum ComparisonResult: Sendable, Hashable {
    case less, equal, greater
  }

  public var description: String { "\(value) \(unit.symbol)" }
}
