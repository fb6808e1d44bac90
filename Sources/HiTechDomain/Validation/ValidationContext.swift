/// What a validator knows beyond the report itself. The aggregator knows everything; a
/// province node checking a spreadsheet row may know only the report (leave the rest at
/// their "not checked" defaults and those rules are skipped).
public struct ValidationContext: Sendable, Hashable {
  /// Whether the round of the report year takes reports now.
  public enum RoundAcceptance: Sendable, Hashable {
    /// The round is open.
    case open
    /// The deadline has passed and the policy accepts late reports (marked late).
    case lateAccepted
    /// The round is closed and refuses late reports, or it has been assessed.
    case closedRefused
    /// No round accepts this year yet.
    case notOpen
  }

  /// What is known of the base reported on.
  public enum BaseKnowledge: Sendable, Hashable {
    /// Not checked here (e.g. offline, on the node).
    case notChecked
    /// The registry has no such base.
    case unknown(id: String)
    /// The base as registered.
    case registered(Base)
  }

  /// The reporter that submits (its authenticated identity), or `nil` when not checked.
  public var reporterCode: String?
  public var reportYear: Int
  public var base: BaseKnowledge
  /// The round of `reportYear`, or `nil` when not checked.
  public var round: RoundAcceptance?
  /// The base's stored report for the previous year, if any.
  public var previousYear: AnnualReport?
  /// Year-on-year changes beyond this percentage (e.g. 300: more than ×3 or less than ÷3)
  /// are warnings.
  public var yearOnYearJumpPercent: Int
  /// Explanations for warnings, by rule code.
  public var overrides: [String: String]

  public init(
    reporterCode: String? = nil,
    reportYear: Int,
    base: BaseKnowledge = .notChecked,
    round: RoundAcceptance? = nil,
    previousYear: AnnualReport? = nil,
    yearOnYearJumpPercent: Int = 300,
    overrides: [String: String] = [:]
  ) {
    self.reporterCode = reporterCode
    self.reportYear = reportYear
    self.base = base
    self.round = round
    self.previousYear = previousYear
    self.yearOnYearJumpPercent = yearOnYearJumpPercent
    self.overrides = overrides
  }
}

/// The verdict on one report.
public struct ValidationOutcome: Sendable, Hashable {
  /// Every finding, errors and warnings, in rule order.
  public var findings: [Finding]

  public var errors: [Finding] { findings.filter { $0.severity == .error } }
  public var warnings: [Finding] { findings.filter { $0.severity == .warning } }
  /// No errors: the report may be stored (warnings never block).
  public var isAccepted: Bool { errors.isEmpty }
  /// Warnings that no explanation acknowledged.
  public var hasUnoverriddenWarnings: Bool { warnings.contains { !$0.overridden } }
}
