/// A point in time as the log encodes it: seconds and nanoseconds since 1970-01-01T00:00:00Z,
/// exactly a protobuf `Timestamp`.
public struct LogTimestamp: Hashable, Sendable, Comparable {
  public var seconds: Int64
  public var nanos: Int32

  public init(seconds: Int64, nanos: Int32) {
    self.seconds = seconds
    self.nanos = nanos
  }

  public static func < (lhs: Self, rhs: Self) -> Bool {
    (lhs.seconds, lhs.nanos) < (rhs.seconds, rhs.nanos)
  }
}
