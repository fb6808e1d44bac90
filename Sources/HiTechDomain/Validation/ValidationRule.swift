/// The rule set shared by the province node (before sending) and the aggregator (before
/// storing). Each rule has a stable code that is never reused for another meaning.
///
/// | code | severity | field | meaning |
/// |---|---|---|---|
/// | R-REQUIRED | error | report.total_output_value, report.value_added, report.rd_expenditure | must be reported |
/// | R-AMOUNT-NON-NEGATIVE | error | any amount | amounts are ≥ 0 |
/// | R-COUNT-NON-NEGATIVE | error | any count | counts (patents, staff, enterprises) are ≥ 0 |
/// | R-AMOUNT-UNIT-PRESENT | error | any amount | a reported amount names its unit |
/// | R-AMOUNT-UNIT-KNOWN | error | any amount | the unit is one this version knows |
/// | R-AMOUNT-CURRENCY | error | compared amounts | amounts compared by a rule are in the same currency (output and value added in CNY) |
/// | R-VALUE-ADDED-LE-OUTPUT | error | report.value_added | value added ≤ total output |
/// | R-RD-LE-OUTPUT | error | report.rd_expenditure | R&D spending ≤ total output |
/// | R-PRODUCT-OUTPUT-LE-OUTPUT | error | report.total_product_output_value | all product output ≤ total output |
/// | R-HIGH-TECH-LE-PRODUCT-OUTPUT | error | report.high_tech_product_output_value | high-tech product output ≤ all product output |
/// | R-HIGH-TECH-LE-OUTPUT | error | report.high_tech_product_output_value | high-tech product output ≤ total output |
/// | R-RD-STAFF-LE-EMPLOYEES | error | report.rd_and_engineering_staff | R&D and engineering staff ≤ employees |
/// | R-ROUND-NOT-OPEN | error | report_year | no round accepts this year yet |
/// | R-ROUND-CLOSED | error | report_year | the round is closed and refuses late reports |
/// | R-BASE-EXISTS | error | base_id | the base is registered |
/// | R-BASE-WITHDRAWN | error | base_id | the base is recognised, not withdrawn |
/// | R-BASE-NOT-OWNED | error | base_id | the base belongs to the submitting reporter |
/// | R-BASE-KIND-FIELDS | error | base_id | a specialized base has one field, a comprehensive one several |
/// | R-OUTPUT-YOY-JUMP | warning | report.total_output_value | change from last year beyond the configured factor |
/// | R-VALUE-ADDED-YOY-JUMP | warning | report.value_added | likewise |
/// | R-RD-YOY-JUMP | warning | report.rd_expenditure | likewise |
/// | R-OVERRIDE-UNUSED | warning | warning_overrides | an explanation for a warning that did not fire, or for an error (which cannot be overridden) |
/// | R-OVERRIDE-EMPTY | error | warning_overrides | an override must carry an explanation |
public struct ValidationRule: Sendable, Hashable {
  public let code: String
  public let severity: Severity
  public let summary: String

  public static let required = ValidationRule(code: "R-REQUIRED", severity: .error, summary: "must be reported")
  public static let amountNonNegative = ValidationRule(code: "R-AMOUNT-NON-NEGATIVE", severity: .error, summary: "amounts are not negative")
  public static let countNonNegative = ValidationRule(code: "R-COUNT-NON-NEGATIVE", severity: .error, summary: "counts are not negative")
  public static let unitPresent = ValidationRule(code: "R-AMOUNT-UNIT-PRESENT", severity: .error, summary: "amounts name their unit")
  public static let unitKnown = ValidationRule(code: "R-AMOUNT-UNIT-KNOWN", severity: .error, summary: "units are known")
  public static let currency = ValidationRule(code: "R-AMOUNT-CURRENCY", severity: .error, summary: "compared amounts share a currency")
  public static let valueAddedLEOutput = ValidationRule(code: "R-VALUE-ADDED-LE-OUTPUT", severity: .error, summary: "value added ≤ total output")
  public static let rdLEOutput = ValidationRule(code: "R-RD-LE-OUTPUT", severity: .error, summary: "R&D spending ≤ total output")
  public static let productOutputLEOutput = ValidationRule(code: "R-PRODUCT-OUTPUT-LE-OUTPUT", severity: .error, summary: "all product output ≤ total output")
  public static let highTechLEProductOutput = ValidationRule(code: "R-HIGH-TECH-LE-PRODUCT-OUTPUT", severity: .error, summary: "high-tech product output ≤ all product output")
  public static let highTechLEOutput = ValidationRule(code: "R-HIGH-TECH-LE-OUTPUT", severity: .error, summary: "high-tech product output ≤ total output")
  public static let rdStaffLEEmployees = ValidationRule(code: "R-RD-STAFF-LE-EMPLOYEES", severity: .error, summary: "R&D and engineering staff ≤ employees")
  public static let roundNotOpen = ValidationRule(code: "R-ROUND-NOT-OPEN", severity: .error, summary: "the year's round is open")
  public static let roundClosed = ValidationRule(code: "R-ROUND-CLOSED", severity: .error, summary: "the year's round still accepts reports")
  public static let baseExists = ValidationRule(code: "R-BASE-EXISTS", severity: .error, summary: "the base is registered")
  public static let baseWithdrawn = ValidationRule(code: "R-BASE-WITHDRAWN", severity: .error, summary: "the base is recognised")
  public static let baseNotOwned = ValidationRule(code: "R-BASE-NOT-OWNED", severity: .error, summary: "the base belongs to the reporter")
  public static let baseKindFields = ValidationRule(code: "R-BASE-KIND-FIELDS", severity: .error, summary: "fields match the base kind")
  public static let outputJump = ValidationRule(code: "R-OUTPUT-YOY-JUMP", severity: .warning, summary: "plausible change of total output")
  public static let valueAddedJump = ValidationRule(code: "R-VALUE-ADDED-YOY-JUMP", severity: .warning, summary: "plausible change of value added")
  public static let rdJump = ValidationRule(code: "R-RD-YOY-JUMP", severity: .warning, summary: "plausible change of R&D spending")
  public static let overrideUnused = ValidationRule(code: "R-OVERRIDE-UNUSED", severity: .warning, summary: "overrides explain warnings that fired")
  public static let overrideEmpty = ValidationRule(code: "R-OVERRIDE-EMPTY", severity: .error, summary: "overrides carry an explanation")

  /// Every rule, for documentation and for checking override codes.
  public static let all: [ValidationRule] = [
    .required, .amountNonNegative, .countNonNegative, .unitPresent, .unitKnown, .currency,
    .valueAddedLEOutput, .rdLEOutput, .productOutputLEOutput, .highTechLEProductOutput, .highTechLEOutput,
    .rdStaffLEEmployees, .roundNotOpen, .roundClosed, .baseExists, .baseWithdrawn, .baseNotOwned,
    .baseKindFields, .outputJump, .valueAddedJump, .rdJump, .overrideUnused, .overrideEmpty,
  ]

  func finding(_ path: String, _ message: String) -> Finding {
    Finding(ruleCode: code, severity: severity, fieldPath: path, message: message)
  }
}
