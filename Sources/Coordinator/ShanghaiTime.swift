import Foundation

/// Times of the calendar: ISO 8601 local times in Asia/Shanghai (UTC+8, no daylight saving).
///
/// `2026-03-31T17:00`, `2026-03-31T17:00:30` and `2026-03-31` (midnight) are read as +08:00;
/// an explicit offset (`2026-03-31T09:00Z`, `2026-03-31T17:00+08:00`) is honoured.
public enum ShanghaiTime {
  /// Asia/Shanghai's offset from UTC, in seconds.
  public static let offsetSeconds = 8 * 3_600

  /// The instant `text` names, or `nil` when it is not such a time.
  public static func parse(_ text: String) -> Date? {
    var rest = Substring(text.trimmingCharacters(in: .whitespaces))
    var offset = offsetSeconds
    if rest.hasSuffix("Z") || rest.hasSuffix("z") {
      offset = 0
      rest = rest.dropLast()
    } else if rest.count > 16, let sign = rest.dropFirst(16).lastIndex(where: { $0 == "+" || $0 == "-" }) {
      let zone = rest[rest.index(after: sign)...].filter { $0 != ":" }
      guard zone.count == 2 || zone.count == 4, zone.allSatisfy(\.isASCII),
        let hours = Int(zone.prefix(2)), let minutes = zone.count == 4 ? Int(zone.suffix(2)) : 0,
        hours <= 18, minutes < 60
      else { return nil }
      offset = (hours * 3_600 + minutes * 60) * (rest[sign] == "-" ? -1 : 1)
      rest = rest[..<sign]
    }
    let parts = rest.split(separator: "T", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count) else { return nil }
    let date = parts[0].split(separator: "-", omittingEmptySubsequences: false)
    guard date.count == 3, date[0].count == 4, date[1].count == 2, date[2].count == 2,
      let year = Int(date[0]), let month = Int(date[1]), let day = Int(date[2]),
      (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
    else { return nil }
    var hour = 0, minute = 0, second = 0
    if parts.count == 2 {
      let time = parts[1].split(separator: ":", omittingEmptySubsequences: false)
      guard (2...3).contains(time.count), time.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
        let h = Int(time[0]), let m = Int(time[1]), h < 24, m < 60
      else { return nil }
      hour = h
      minute = m
      if time.count == 3 {
        guard let s = Int(time[2]), s < 60 else { return nil }
        second = s
      }
    }
    let days = daysFromCivil(year: year, month: month, day: day)
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset
    return Date(timeIntervalSince1970: Double(seconds))
  }

  /// `2026-03-31T17:00:00+08:00` (whole seconds).
  public static func format(_ date: Date) -> String {
    let (year, month, day, seconds) = civil(date)
    return String(
      format: "%04d-%02d-%02dT%02d:%02d:%02d+08:00", year, month, day, seconds / 3_600, seconds / 60 % 60, seconds % 60)
  }

  /// `2026-03-31`, the date in Shanghai.
  public static func formatDate(_ date: Date) -> String {
    let (year, month, day, _) = civil(date)
    return String(format: "%04d-%02d-%02d", year, month, day)
  }

  private static func civil(_ date: Date) -> (Int, Int, Int, Int) {
    let local = Int(date.timeIntervalSince1970.rounded(.down)) + offsetSeconds
    let days = Int((Double(local) / 86_400).rounded(.down))
    let (year, month, day) = civilFromDays(days)
    return (year, month, day, local - days * 86_400)
  }

  private static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }

  // Howard Hinnant's days_from_civil / civil_from_days.
  private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  private static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }
}
