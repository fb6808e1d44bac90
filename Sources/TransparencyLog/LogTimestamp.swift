/// A point in time as the log encodes it: seconds and nanoseconds since 1970-01-01T00:00:00Z,
/// exactly a protobuf `Timestamp`.
public struct LogTimestamp: Hashable, Sendable, Comparable {
  public var seconds: Int64
  public var nanos: Int32

  public init(seconds: Int64, nanos: Int32) {
    self.seconds = seconds
    self.nanos = nanos
  }

  /// Microseconds since 1970, split as a protobuf `Timestamp` does: nanos in 0..<1e9, also
  /// before 1970.
  public init(microsecondsSince1970 micros: Int64) {
    let (seconds, remainder) = micros.quotientAndRemainder(dividingBy: 1_000_000)
    if remainder < 0 {
      self.init(seconds: seconds - 1, nanos: Int32((remainder + 1_000_000) * 1000))
    } else {
      self.init(seconds: seconds, nanos: Int32(remainder * 1000))
    }
  }

  public static func < (lhs: Self, rhs: Self) -> Bool {
    (lhs.seconds, lhs.nanos) < (rhs.seconds, rhs.nanos)
  }
}
