/// One validation finding as stored with a submission (common.proto `Finding`).
public struct StoredFinding: Sendable, Hashable {
  public enum Severity: String, Sendable, Hashable, CaseIterable {
    case error = "error"
    case warning = "warning"
  }

  /// Stable rule code, e.g. "R-VALUE-ADDED-LE-OUTPUT".
  public var ruleCode: String
  public var severity: Severity
  /// Path of the offending field from the `Submission` root, e.g. "report.value_added"; may be empty.
  public var fieldPath: String
  public var message: String
  /// True when the submission carried an override for this (warning) rule.
  public var overridden: Bool
  /// The override's explanation; empty when not overridden.
  public var overrideExplanation: String

  public init(
    ruleCode: String,
    severity: Severity,
    fieldPath: String = "",
    message: String,
    overridden: Bool = false,
    overrideExplanation: String = ""
  ) {
    self.ruleCode = ruleCode
    self.severity = severity
    self.fieldPath = fieldPath
    self.message = message
    self.overridden = overridden
    self.overrideExplanation = overrideExplanation
  }
}
