/// The rule set shared by the province node (before sending) and the aggregator (before
/// storing). Each rule has a stable code that is never reused for another meaning; codes named
/// in the protos (`R-AMOUNT-NON-NEGATIVE`, `R-AMOUNT-UNIT-PRESENT`, `R-VALUE-ADDED-LE-OUTPUT`,
/// `R-RD-LE-OUTPUT`, `R-HIGH-TECH-LE-PRODUCT-OUTPUT`, `R-PRODUCT-OUTPUT-LE-OUTPUT`,
/// `R-RD-STAFF-LE-EMPLOYEES`, `R-BASE-NOT-OWNED`, `R-OUTPUT-YOY-JUMP`, `R-OVERRIDE-UNUSED`)
/// are used as written there.
///
/// Field paths are proto field names from the `Submission` root joined by ".". Two
/// departures, because the domain keys these by value rather than by position:
/// `report.output_by_field[<field>]` names the entry by its `Field` raw value (e.g.
/// `report.output_by_field[new_materials]`), and `warning_overrides[<code>]` names an override
/// by its rule code (at most one per code).
///
/// | code | severity | field path | meaning |
/// |---|---|---|---|
/// | R-REQUIRED | error | report.total_output_value, report.value_added, report.exports, report.imports, report.rd_expenditure, report.patents_applied, report.patents_granted | the seed's 六(三) figures must be reported (0 is a report; absent is not) |
/// | R-AMOUNT-NON-NEGATIVE | error | report.<amount>, report.output_by_field[<field>] | amounts are ≥ 0 |
/// | R-COUNT-NON-NEGATIVE | error | report.<count> | counts (patents, persons, enterprises) are ≥ 0 |
/// | R-AMOUNT-UNIT-PRESENT | error | report.<amount>.unit | a reported amount names its unit (MONEY_UNIT_UNSPECIFIED is refused) |
/// | R-AMOUNT-UNIT-KNOWN | error | report.<amount>.unit | the unit is one this version knows |
/// | R-AMOUNT-CURRENCY | error | the compared part (report.value_added, …, report.imports, report.output_by_field[<field>]) | amounts a rule compares are in one currency; CNY and USD are never compared (no exchange rate) |
/// | R-VALUE-ADDED-LE-OUTPUT | error | report.value_added | value added ≤ total output |
/// | R-RD-LE-OUTPUT | error | report.rd_expenditure | R&D spending ≤ total output |
/// | R-PRODUCT-OUTPUT-LE-OUTPUT | error | report.total_product_output_value | all product output ≤ total output |
/// | R-HIGH-TECH-LE-PRODUCT-OUTPUT | error | report.high_tech_product_output_value | high-tech product output ≤ all product output |
/// | R-HIGH-TECH-LE-OUTPUT | error | report.high_tech_product_output_value | high-tech product output ≤ total output |
/// | R-RD-STAFF-LE-EMPLOYEES | error | report.rd_and_engineering_staff | R&D and engineering staff ≤ employees |
/// | R-INVENTION-PATENTS-LE-PATENTS | error | report.invention_patents_applied, report.invention_patents_granted | invention patents are a part of all patents |
/// | R-OUTPUT-BY-FIELD-LE-OUTPUT | error | report.output_by_field | the fields' outputs add up to at most the total output |
/// | R-OUTPUT-BY-FIELD-NOT-REGISTERED | error | report.output_by_field[<field>] | a field's output is reported only for a field the base is registered in (needs the base) |
/// | R-ROUND-NOT-OPEN | error | report_year | no round accepts this year yet (needs the round) |
/// | R-ROUND-CLOSED | error | report_year | the round is closed and refuses late reports (needs the round) |
/// | R-BASE-EXISTS | error | base_id | the base is registered (needs the registry) |
/// | R-BASE-WITHDRAWN | error | base_id | the base is recognised: its recognition is not withdrawn |
/// | R-BASE-NOT-OWNED | error | base_id | the base belongs to the submitting reporter (needs the reporter) |
/// | R-BASE-KIND-FIELDS | error | base_id | registry consistency: a specialized base has one field, a comprehensive one at least two |
/// | R-OUTPUT-YOY-JUMP | warning | report.total_output_value | more than the configured factor (default ×3) up or down from last year |
/// | R-VALUE-ADDED-YOY-JUMP | warning | report.value_added | likewise for value added |
/// | R-RD-YOY-JUMP | warning | report.rd_expenditure | likewise for R&D spending |
/// | R-OVERRIDE-UNUSED | warning | warning_overrides[<code>].rule_code | an explanation for a warning that did not fire, for an error (errors cannot be overridden), or for an unknown code |
/// | R-OVERRIDE-EMPTY | error | warning_overrides[<code>].explanation | an override carries a non-blank explanation |
///
/// A late report (round closed, late reports accepted) is not a finding: the outcome says so
/// with ``ValidationOutcome/isLate`` and the receipt with ACCEPTED_LATE.
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
  public static let inventionPatentsLEPatents = ValidationRule(code: "R-INVENTION-PATENTS-LE-PATENTS", severity: .error, summary: "invention patents ≤ all patents")
  public static let outputByFieldLEOutput = ValidationRule(code: "R-OUTPUT-BY-FIELD-LE-OUTPUT", severity: .error, summary: "output by field ≤ total output")
  public static let outputByFieldNotRegistered = ValidationRule(code: "R-OUTPUT-BY-FIELD-NOT-REGISTERED", severity: .error, summary: "output only for the base's fields")
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

  /// Every rule, in the order of the table above.
  public static let all: [ValidationRule] = [
    .required, .amountNonNegative, .countNonNegative, .unitPresent, .unitKnown, .currency,
    .valueAddedLEOutput, .rdLEOutput, .productOutputLEOutput, .highTechLEProductOutput, .highTechLEOutput,
    .rdStaffLEEmployees, .inventionPatentsLEPatents, .outputByFieldLEOutput, .outputByFieldNotRegistered,
    .roundNotOpen, .roundClosed, .baseExists, .baseWithdrawn, .baseNotOwned, .baseKindFields,
    .outputJump, .valueAddedJump, .rdJump, .overrideUnused, .overrideEmpty,
  ]

  /// The rule with a code, if this version has one.
  public static func rule(code: String) -> ValidationRule? {
    all.first { $0.code == code }
  }

  func finding(_ path: String, _ message: String) -> Finding {
    Finding(ruleCode: code, severity: severity, fieldPath: path, message: message)
  }
}
