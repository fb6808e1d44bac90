/// The verdict on one report: every finding, and what they mean for storing it.
public struct ValidationOutcome: Sendable, Hashable {
  /// Every finding, errors and warnings: errors first, then warnings, each group ordered by
  /// rule code, then field path (then message). This is the order of
  /// `ValidationResult.findings` in submission.proto, so node and aggregator list the same
  /// findings in the same order.
  public var findings: [Finding]
  /// The round had closed but takes late reports: store and mark late (ACCEPTED_LATE).
  public var isLate: Bool

  public init(findings: [Finding], isLate: Bool = false) {
    self.findings = findings.sorted(by: Self.precedes)
    self.isLate = isLate
  }

  public var errors: [Finding] { findings.filter { $0.severity == .error } }
  public var warnings: [Finding] { findings.filter { $0.severity == .warning } }
  /// No errors: the report may be stored. Warnings never block, overridden or not.
  public var isAccepted: Bool { !findings.contains { $0.severity == .error } }
  /// Warnings that no explanation acknowledged (→ ACCEPTED_WITH_WARNINGS).
  public var hasUnoverriddenWarnings: Bool { findings.contains { $0.severity == .warning && !$0.overridden } }

  static func precedes(_ a: Finding, _ b: Finding) -> Bool {
    func rank(_ severity: Severity) -> Int { severity == .error ? 0 : 1 }
    return (rank(a.severity), a.ruleCode, a.fieldPath, a.message) < (rank(b.severity), b.ruleCode, b.fieldPath, b.message)
  }
}
