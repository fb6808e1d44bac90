import Foundation
public import HiTechDomain

/// What happens to a report that arrives after the deadline (round.proto `LatePolicy`).
public enum LatePolicy: String, Sendable, Hashable, Codable {
  /// Stored and marked late until the round is assessed.
  case acceptMarkLate
  /// Refused with FAILED_PRECONDITION (rule "R-ROUND-CLOSED").
  case refuse
}

/// The calendar of the round for one report year, as configured.
///
/// Order: `opensAt` < every reminder < `deadline` ≤ `assessmentAt` ≤ `publishAt`
/// (``validate()`` names the field that breaks it).
public struct RoundSchedule: Sendable, Hashable, Codable {
  /// The year the reports are about.
  public var reportYear: Int
  /// PLANNED → OPEN.
  public var opensAt: Date
  /// OPEN → CLOSED.
  public var deadline: Date
  /// Reminder offsets before the deadline, in seconds (e.g. 14 days = 1 209 600), sorted from
  /// the earliest reminder (largest offset) to the latest.
  public var reminderOffsets: [Int64]
  /// Treatment of reports after the deadline.
  public var latePolicy: LatePolicy
  /// CLOSED → ASSESSED: the assessment runs.
  public var assessmentAt: Date
  /// ASSESSED → PUBLISHED: results are published.
  public var publishAt: Date
  /// The national high-tech output of the year in 万元 (for the share of 三(三)); `nil` = unknown.
  public var nationalHighTechOutputTenThousandYuan: Int64?

  public init(
    reportYear: Int,
    opensAt: Date,
    deadline: Date,
    reminderOffsets: [Int64] = [],
    latePolicy: LatePolicy = .acceptMarkLate,
    assessmentAt: Date,
    publishAt: Date,
    nationalHighTechOutputTenThousandYuan: Int64? = nil
  ) {
    self.reportYear = reportYear
    self.opensAt = opensAt
    self.deadline = deadline
    self.reminderOffsets = Array(Set(reminderOffsets)).sorted(by: >)
    self.latePolicy = latePolicy
    self.assessmentAt = assessmentAt
    self.publishAt = publishAt
    self.nationalHighTechOutputTenThousandYuan = nationalHighTechOutputTenThousandYuan
  }

  /// When the reminder `offset` seconds before the deadline is due.
  public func reminderDue(_ offset: Int64) -> Date {
    deadline.addingTimeInterval(-Double(offset))
  }

  /// Why the schedule is out of order: the field at fault (relative to the round) and the rule.
  public func validate() throws(ScheduleProblem) {
    func fail(_ field: String, _ rule: String) -> ScheduleProblem {
      ScheduleProblem(reportYear: reportYear, field: field, rule: rule)
    }
    guard (2000...2999).contains(reportYear) else { throw fail("reportYear", "must be a year 2000..2999, got \(reportYear)") }
    guard opensAt < deadline else {
      throw fail("deadline", "must be after opensAt (\(ShanghaiTime.format(opensAt))), got \(ShanghaiTime.format(deadline))")
    }
    for offset in reminderOffsets {
      guard offset > 0 else { throw fail("reminders", "an offset must be positive, got \(offset) s") }
      let due = reminderDue(offset)
      guard due > opensAt else {
        throw fail(
          "reminders",
          "the reminder \(ReminderOffset.format(offset)) before the deadline falls at \(ShanghaiTime.format(due)), not after opensAt (\(ShanghaiTime.format(opensAt)))")
      }
    }
    guard deadline <= assessmentAt else {
      throw fail("assessmentAt", "must not be before the deadline (\(ShanghaiTime.format(deadline))), got \(ShanghaiTime.format(assessmentAt))")
    }
    guard assessmentAt <= publishAt else {
      throw fail("publishAt", "must not be before assessmentAt (\(ShanghaiTime.format(assessmentAt))), got \(ShanghaiTime.format(publishAt))")
    }
    if let output = nationalHighTechOutputTenThousandYuan, output < 0 {
      throw fail("nationalHighTechOutput", "must not be negative, got \(output)")
    }
  }
}

/// A round schedule out of order: which round, which field, which rule.
public struct ScheduleProblem: Error, Sendable, Hashable, CustomStringConvertible {
  public var reportYear: Int
  public var field: String
  public var rule: String
  public var description: String { "rounds.\(reportYear).\(field): \(rule)" }
}

/// Reminder offsets as written in configuration: "14d", "3d", "12h", "30m", "45s", or bare seconds.
public enum ReminderOffset {
  /// Seconds of `text`, or `nil` when it is not a positive duration.
  public static func parse(_ text: String) -> Int64? {
    let text = text.trimmingCharacters(in: .whitespaces)
    guard let last = text.last else { return nil }
    let units: [Character: Int64] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
    let (digits, unit) = units[last].map { (text.dropLast(), $0) } ?? (Substring(text), 1)
    guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int64(digits), value > 0 else { return nil }
    let (product, overflow) = value.multipliedReportingOverflow(by: unit)
    return overflow ? nil : product
  }

  /// The shortest exact spelling: "14d", "36h", "90m", "45s".
  public static func format(_ seconds: Int64) -> String {
    if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
    if seconds % 3_600 == 0 { return "\(seconds / 3_600)h" }
    if seconds % 60 == 0 { return "\(seconds / 60)m" }
    return "\(seconds)s"
  }
}
