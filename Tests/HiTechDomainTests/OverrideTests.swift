import HiTechDomain
import Testing

@Suite("Warning overrides")
struct OverrideTests {
  /// The valid report against a previous year a tenth its size: all three jumps fire.
  func jumpContext(_ overrides: [String: String]) -> ValidationContext {
    var context = fullContext()
    context.previousYear = AnnualReport(
      totalOutput: Amount(100_000, .cnyTenThousand), valueAdded: Amount(30_000, .cnyTenThousand),
      rdExpenditure: Amount(5_000, .cnyTenThousand))
    context.overrides = overrides
    return context
  }

  @Test("an explained warning stays on record, overridden, with its explanation")
  func overridden() throws {
    let outcome = ReportValidator.validate(validReport(), context: jumpContext(["R-OUTPUT-YOY-JUMP": "two parks merged in 2025"]))
    let warning = try #require(outcome.findings.first { $0.ruleCode == "R-OUTPUT-YOY-JUMP" })
    #expect(warning.overridden)
    #expect(warning.explanation == "two parks merged in 2025")
    #expect(warning.fieldPath == "report.total_output_value")
    #expect(outcome.isAccepted)
    // The other two jumps are not explained.
    #expect(outcome.findings.filter { !$0.overridden }.map(\.ruleCode) == ["R-RD-YOY-JUMP", "R-VALUE-ADDED-YOY-JUMP"])
    #expect(outcome.hasUnoverriddenWarnings)
  }

  @Test("every warning explained: accepted without unexplained warnings")
  func allExplained() {
    let outcome = ReportValidator.validate(validReport(), context: jumpContext([
      "R-OUTPUT-YOY-JUMP": "merger", "R-VALUE-ADDED-YOY-JUMP": "merger", "R-RD-YOY-JUMP": "merger",
    ]))
    #expect(outcome.findings.count == 3)
    #expect(outcome.findings.allSatisfy { $0.overridden && $0.explanation == "merger" })
    #expect(outcome.isAccepted)
    #expect(!outcome.hasUnoverriddenWarnings)
  }

  @Test("an override for a warning that did not fire is itself a warning")
  func unused() throws {
    let outcome = ReportValidator.validate(validReport(), context: jumpContext([:]).with(overrides: ["R-RD-YOY-JUMP": "x"], previous: validReport()))
    let finding = try #require(outcome.findings.only)
    #expect(finding.ruleCode == "R-OVERRIDE-UNUSED")
    #expect(finding.severity == .warning)
    #expect(finding.fieldPath == "warning_overrides[R-RD-YOY-JUMP].rule_code")
    #expect(finding.message.contains("did not fire"))
    #expect(outcome.isAccepted)
    #expect(outcome.hasUnoverriddenWarnings)
  }

  @Test("an error cannot be overridden; the attempt is reported and the report still refused")
  func error() {
    var report = validReport()
    report.valueAdded = Amount(2_000_000, .cnyTenThousand)
    let outcome = ReportValidator.validate(report, context: fullContext().with(overrides: ["R-VALUE-ADDED-LE-OUTPUT": "trust me"], previous: nil))
    #expect(!outcome.isAccepted)
    let error = outcome.findings.first { $0.ruleCode == "R-VALUE-ADDED-LE-OUTPUT" }
    #expect(error?.overridden == false)
    #expect(error?.explanation == nil)
    #expect(outcome.findings.contains {
      $0.ruleCode == "R-OVERRIDE-UNUSED" && $0.severity == .warning
        && $0.fieldPath == "warning_overrides[R-VALUE-ADDED-LE-OUTPUT].rule_code" && $0.message.contains("cannot be overridden")
    })
  }

  @Test("an override for an unknown code is reported")
  func unknownCode() {
    let outcome = ReportValidator.validate(validReport(), context: fullContext().with(overrides: ["R-NO-SUCH-RULE": "x"], previous: nil))
    #expect(outcome.findings.map(\.ruleCode) == ["R-OVERRIDE-UNUSED"])
    #expect(outcome.findings.first?.message.contains("not a rule") == true)
  }

  @Test("a blank explanation is an error and overrides nothing")
  func blank() {
    let outcome = ReportValidator.validate(validReport(), context: jumpContext(["R-OUTPUT-YOY-JUMP": "  "]))
    #expect(outcome.errors.map(\.fieldPath) == ["warning_overrides[R-OUTPUT-YOY-JUMP].explanation"])
    #expect(outcome.errors.map(\.ruleCode) == ["R-OVERRIDE-EMPTY"])
    #expect(outcome.findings.first { $0.ruleCode == "R-OUTPUT-YOY-JUMP" }?.overridden == false)
    #expect(!outcome.isAccepted)
  }
}

extension ValidationContext {
  func with(overrides: [String: String], previous: AnnualReport?) -> ValidationContext {
    var context = self
    context.overrides = overrides
    context.previousYear = previous
    return context
  }
}

extension Array {
  var only: Element? { count == 1 ? first : nil }
}
