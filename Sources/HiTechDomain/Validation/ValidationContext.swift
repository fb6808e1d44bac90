/// What a validator knows beyond the report itself. The aggregator knows everything; a
/// province node checking a spreadsheet row may know only the report year (leave the rest at
/// their "not checked" defaults — `nil` reporter, `.notChecked` base, `nil` round, no previous
/// year — and the rules that need them are skipped).
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

    /// `.registered(base)` when the registry has it, `.unknown(id:)` when it does not.
    public init(id: String, registered base: Base?) {
      self = base.map { .registered($0) } ?? .unknown(id: id)
    }
  }

  /// The reporter that submits (its authenticated identity), or `nil` when not checked.
  public var reporterCode: String?
  public var reportYear: Int
  public var base: BaseKnowledge
  /// The round of `reportYear`, or `nil` when not checked.
  public var round: RoundAcceptance?
  /// The base's stored report for the previous year, if any.
  public var previousYear: AnnualReport?
  /// Year-on-year changes beyond this percentage are warnings: with 300 (the default, ×3),
  /// a figure more than 3 times last year's, or less than a third of it. Exactly ×3 is not
  /// beyond. Values below 100 are read as 100 (any change warns).
  public var yearOnYearJumpPercent: Int
  /// Explanations for warnings, by rule code (`Submission.warning_overrides`). An explained
  /// warning stays a finding, marked overridden with the explanation.
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
