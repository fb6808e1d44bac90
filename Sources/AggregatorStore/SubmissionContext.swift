/// What the aggregator must know to check one submission, read in one snapshot.
public struct SubmissionContext: Sendable, Hashable {
  /// The base as registered, or `nil` when it is not.
  public var base: BaseRecord?
  /// The round of the report year, or `nil` when none was recorded.
  public var round: RoundRecord?
  /// The latest stored revision of the base's report for the year before.
  public var previousYearReport: StoredReport?

  public init(base: BaseRecord?, round: RoundRecord?, previousYearReport: StoredReport?) {
    self.base = base
    self.round = round
    self.previousYearReport = previousYearReport
  }
}
