import Foundation

/// Times in the store are microseconds since 1970-01-01T00:00:00Z; operators read UTC.
enum TimeFormat {
  /// RFC 3339 in UTC as proto3 JSON writes a `google.protobuf.Timestamp`: "2025-03-31T12:00:00Z",
  /// with 6 fractional digits only when the time has a fraction of a second.
  static func rfc3339(_ micros: Int64) -> String {
    let (seconds, fraction) = split(micros)
    let base = dateTime(seconds, separator: "T")
    return fraction == 0 ? base + "Z" : base + "." + pad(Int64(fraction), 6) + "Z"
  }

  /// "2025-03-31 12:00:00 UTC" for tables and pages.
  static func display(_ micros: Int64) -> String {
    dateTime(split(micros).seconds, separator: " ") + " UTC"
  }

  /// "2025-03-31 12:00" (no zone), for the chart's axis.
  static func short(_ micros: Int64) -> String {
    String(dateTime(split(micros).seconds, separator: " ").prefix(16))
  }

  /// "2025-03-31" (the day, UTC).
  static func day(_ micros: Int64) -> String {
    String(dateTime(split(micros).seconds, separator: " ").prefix(10))
  }

  /// "03-31" (month and day), for labels that must be short.
  static func monthDay(_ micros: Int64) -> String {
    String(day(micros).suffix(5))
  }

  private static func split(_ micros: Int64) -> (seconds: Int64, fraction: Int64) {
    var seconds = micros / 1_000_000
    var fraction = micros % 1_000_000
    if fraction < 0 {
      seconds -= 1
      fraction += 1_000_000
    }
    return (seconds, fraction)
  }

  private static func dateTime(_ seconds: Int64, separator: String) -> String {
    var t = time_t(seconds)
    var parts = tm()
    gmtime_r(&t, &parts)
    return pad(Int64(parts.tm_year) + 1900, 4) + "-" + pad(Int64(parts.tm_mon) + 1, 2) + "-" + pad(Int64(parts.tm_mday), 2)
      + separator + pad(Int64(parts.tm_hour), 2) + ":" + pad(Int64(parts.tm_min), 2) + ":" + pad(Int64(parts.tm_sec), 2)
  }

  private static func pad(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
  }
}
