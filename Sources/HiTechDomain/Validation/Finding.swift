/// How much a finding matters.
public enum Severity: String, Sendable, Hashable, Codable {
  /// Refuses the report until fixed. Cannot be overridden.
  case error
  /// Stored with the report. May be acknowledged with an explanation.
  case warning
}

/// One thing a rule found in a report: which rule (a stable code), where (a field path as in
/// the schema, e.g. `report.value_added`), and a message that names both.
public struct Finding: Sendable, Hashable, Codable, CustomStringConvertible {
  public var ruleCode: String
  public var severity: Severity
  public var fieldPath: String
  public var message: String
  /// A warning the submitter explained; it stays on record with the explanation.
  public var overridden: Bool
  public var explanation: String?

  public init(
    ruleCode: String,
    severity: Severity,
    fieldPath: String,
    message: String,
    overridden: Bool = false,
    explanation: String? = nil
  ) {
    self.ruleCode = ruleCode
    self.severity = severity
    self.fieldPath = fieldPath
    self.message = message
    self.overridden = overridden
    self.explanation = explanation
  }

  public var description: String { "\(severity) \(ruleCode) \(fieldPath): \(message)" }
}
