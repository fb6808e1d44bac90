/// Applies the rule set (see ``ValidationRule``) to a report. It returns its findings; it
/// never throws and never stops at the first problem, so a clerk sees every problem at once.
/// Pure: no I/O, no clock; the same report and context give the same outcome on the node and
/// at the aggregator.
public enum ReportValidator {
  public static func validate(_ report: AnnualReport, context: ValidationContext) -> ValidationOutcome {
    var findings: [Finding] = []
    findings += requiredFigures(report)
    findings += amountsAndUnits(report)
    findings += counts(report)
    findings += consistency(report)
    findings += outputByField(report, context: context)
    findings += round(context)
    findings += base(context)
    findings += yearOnYear(report, context: context)
    findings = applyOverrides(findings, overrides: context.overrides)
    return ValidationOutcome(findings: findings, isLate: context.round == .lateAccepted)
  }

  // MARK: - Rules

  static func requiredFigures(_ report: AnnualReport) -> [Finding] {
    let amounts: [(String, Amount?, String)] = [
      ("report.total_output_value", report.totalOutput, "total output value (生产总产值)"),
      ("report.value_added", report.valueAdded, "value added (增加值)"),
      ("report.exports", report.exports, "exports (出口)"),
      ("report.imports", report.imports, "imports (进口)"),
      ("report.rd_expenditure", report.rdExpenditure, "R&D spending (研究与开发投入)"),
    ]
    let counts: [(String, Int64?, String)] = [
      ("report.patents_applied", report.patentsApplied, "patents applied for (申请的专利数量)"),
      ("report.patents_granted", report.patentsGranted, "patents granted (授权的专利数量)"),
    ]
    let missing = amounts.filter { $0.1 == nil }.map { ($0.0, $0.2) } + counts.filter { $0.1 == nil }.map { ($0.0, $0.2) }
    return missing.map { path, name in
      ValidationRule.required.finding(path, "\(path): \(name) must be reported every year (六(三)); report 0 if there is none")
    }
  }

  static func amountsAndUnits(_ report: AnnualReport) -> [Finding] {
    var findings: [Finding] = []
    for (path, amount) in report.amounts {
      guard let amount else { continue }
      if amount.value < 0 {
        findings.append(ValidationRule.amountNonNegative.finding(path, "\(path) is \(amount); amounts cannot be negative"))
      }
      if amount.unit == .unspecified {
        findings.append(ValidationRule.unitPresent.finding(
          path + ".unit", "\(path).unit: \(path) has no unit; name one, e.g. 万元 (MONEY_UNIT_CNY_TEN_THOUSAND)"))
      } else if amount.unit == .unrecognized {
        findings.append(ValidationRule.unitKnown.finding(path + ".unit", "\(path).unit: \(path) has a unit this version does not know"))
      }
    }
    return findings
  }

  static func counts(_ report: AnnualReport) -> [Finding] {
    report.counts.compactMap { path, count in
      guard let count, count < 0 else { return nil }
      return ValidationRule.countNonNegative.finding(path, "\(path) is \(count); counts cannot be negative")
    }
  }

  /// "part ≤ whole" for two amounts: compared exactly across units; different currencies are
  /// reported (R-AMOUNT-CURRENCY), never guessed; a missing or unknown unit is left to the unit
  /// rules.
  static func atMost(
    _ rule: ValidationRule, _ path: String, _ part: Amount?, _ partName: String, _ whole: Amount?, _ wholeName: String
  ) -> Finding? {
    guard let part, let whole, part.unit.isKnown, whole.unit.isKnown else { return nil }
    guard let order = part.compare(to: whole) else {
      return ValidationRule.currency.finding(
        path,
        "\(path): \(partName) (\(part.unit.symbol)) and \(wholeName) (\(whole.unit.symbol)) are in different currencies and cannot be compared (\(rule.code) not checked)")
    }
    guard order == .greater else { return nil }
    return rule.finding(path, "\(path): \(partName) \(part) exceeds \(wholeName) \(whole) (\(rule.summary))")
  }

  static func consistency(_ report: AnnualReport) -> [Finding] {
    var findings: [Finding?] = [
      atMost(.valueAddedLEOutput, "report.value_added", report.valueAdded, "value added", report.totalOutput, "total output"),
      atMost(.rdLEOutput, "report.rd_expenditure", report.rdExpenditure, "R&D spending", report.totalOutput, "total output"),
      atMost(
        .productOutputLEOutput, "report.total_product_output_value", report.totalProductOutput, "all product output",
        report.totalOutput, "total output"),
      atMost(
        .highTechLEProductOutput, "report.high_tech_product_output_value", report.highTechProductOutput,
        "high-tech product output", report.totalProductOutput, "all product output"),
      atMost(
        .highTechLEOutput, "report.high_tech_product_output_value", report.highTechProductOutput,
        "high-tech product output", report.totalOutput, "total output"),
    ]
    // Total trade = exports + imports needs one currency (report.proto).
    if let exports = report.exports, let imports = report.imports, exports.unit.isKnown, imports.unit.isKnown,
      !exports.isComparable(with: imports)
    {
      findings.append(ValidationRule.currency.finding(
        "report.imports",
        "report.imports: imports (\(imports.unit.symbol)) and exports (\(exports.unit.symbol)) are in different currencies; total trade cannot be added up"))
    }
    func countAtMost(_ rule: ValidationRule, _ path: String, _ part: Int64?, _ partName: String, _ whole: Int64?, _ wholeName: String) {
      if let part, let whole, part > whole {
        findings.append(rule.finding(path, "\(path): \(partName) \(part) exceed \(wholeName) \(whole) (\(rule.summary))"))
      }
    }
    countAtMost(
      .rdStaffLEEmployees, "report.rd_and_engineering_staff", report.rdAndEngineeringStaff, "R&D and engineering staff",
      report.employees, "employees")
    countAtMost(
      .inventionPatentsLEPatents, "report.invention_patents_applied", report.inventionPatentsApplied,
      "invention patents applied for", report.patentsApplied, "all patents applied for")
    countAtMost(
      .inventionPatentsLEPatents, "report.invention_patents_granted", report.inventionPatentsGranted,
      "invention patents granted", report.patentsGranted, "all patents granted")
    return findings.compactMap { $0 }
  }

  static func outputByField(_ report: AnnualReport, context: ValidationContext) -> [Finding] {
    guard !report.outputByField.isEmpty else { return [] }
    var findings: [Finding] = []
    let entries = report.outputByField.sorted { $0.key < $1.key }
    if case .registered(let base) = context.base {
      for (field, _) in entries where !base.fields.contains(field) {
        let registered = base.fields.sorted().map(\.rawValue).joined(separator: ", ")
        findings.append(ValidationRule.outputByFieldNotRegistered.finding(
          "report.output_by_field[\(field.rawValue)]",
          "report.output_by_field[\(field.rawValue)]: base \(base.id) is not registered in \(field.rawValue) (\(field.nameZh)); its fields are \(registered)"))
      }
    }
    // The sum, exactly, when every entry can be compared with the total output.
    guard let total = report.totalOutput, total.unit.isKnown, let whole = total.exactBaseUnits else { return findings }
    var sum: Int128 = 0
    var comparable = true
    for (field, amount) in entries where amount.unit.isKnown {
      let path = "report.output_by_field[\(field.rawValue)]"
      guard amount.isComparable(with: total), let part = amount.exactBaseUnits else {
        comparable = false
        findings.append(ValidationRule.currency.finding(
          path, "\(path): output of \(field.rawValue) (\(amount.unit.symbol)) and total output (\(total.unit.symbol)) are in different currencies and cannot be compared"))
        continue
      }
      sum += part  // at most 6 entries of < 2^91 each: no overflow
    }
    if comparable, sum > whole {
      findings.append(ValidationRule.outputByFieldLEOutput.finding(
        "report.output_by_field",
        "report.output_by_field: the fields' outputs add up to \(sum) \(total.unit.currency == .usd ? "USD" : "元"), more than total output \(total)"))
    }
    return findings
  }

  static func round(_ context: ValidationContext) -> [Finding] {
    switch context.round {
    case .notOpen:
      [ValidationRule.roundNotOpen.finding("report_year", "report_year: no round accepts reports for \(context.reportYear) yet")]
    case .closedRefused:
      [ValidationRule.roundClosed.finding("report_year", "report_year: the round for \(context.reportYear) is closed and refuses late reports")]
    case .open, .lateAccepted, nil:
      []
    }
  }

  static func base(_ context: ValidationContext) -> [Finding] {
    switch context.base {
    case .notChecked:
      return []
    case .unknown(let id):
      return [ValidationRule.baseExists.finding("base_id", "base_id: base \(id) is not in the registry")]
    case .registered(let base):
      var findings: [Finding] = []
      if !base.isRecognised {
        findings.append(ValidationRule.baseWithdrawn.finding("base_id", "base_id: the recognition of base \(base.id) has been withdrawn; it reports no more"))
      }
      if let reporter = context.reporterCode, reporter != base.reporterCode {
        findings.append(ValidationRule.baseNotOwned.finding(
          "base_id", "base_id: base \(base.id) is reported by \(base.reporterCode), not by \(reporter)"))
      }
      if !base.hasConsistentFields {
        let expected = base.kind == .specialized ? "exactly one field" : "at least two fields"
        findings.append(ValidationRule.baseKindFields.finding(
          "base_id",
          "base_id: base \(base.id) is \(base.kind.rawValue) but registered with \(base.fields.count) field(s), not \(expected); the registry must be corrected"))
      }
      return findings
    }
  }

  static func yearOnYear(_ report: AnnualReport, context: ValidationContext) -> [Finding] {
    guard let previous = context.previousYear else { return [] }
    let percent = Int128(max(100, context.yearOnYearJumpPercent))
    let checks: [(ValidationRule, String, Amount?, Amount?, String)] = [
      (.outputJump, "report.total_output_value", report.totalOutput, previous.totalOutput, "total output"),
      (.valueAddedJump, "report.value_added", report.valueAdded, previous.valueAdded, "value added"),
      (.rdJump, "report.rd_expenditure", report.rdExpenditure, previous.rdExpenditure, "R&D spending"),
    ]
    return checks.compactMap { rule, path, current, last, name in
      // Not comparable (currency, unit) or negative: other rules speak; no guess here.
      guard let current, let last, current.isComparable(with: last),
        let now = current.exactBaseUnits, let before = last.exactBaseUnits, now >= 0, before >= 0,
        isJump(from: before, to: now, percent: percent)
      else { return nil }
      return rule.finding(
        path,
        "\(path): \(name) went from \(last) in \(context.reportYear - 1) to \(current) in \(context.reportYear), beyond \(percent) % either way; correct it, or explain it with an override of \(rule.code)")
    }
  }

  /// Whether `now` is more than `percent` % of `before`, or `before` more than `percent` % of
  /// `now` — exactly, by cross-multiplication. From or to zero is a jump; zero to zero is not.
  /// Both amounts are at least 0 and below 2^91, `percent` at least 100 and as large as the
  /// configuration allows: a product with `percent` that overflows is beyond the other side
  /// (below 2^98), so that direction is no jump.
  static func isJump(from before: Int128, to now: Int128, percent: Int128) -> Bool {
    func beyond(_ value: Int128, _ other: Int128) -> Bool {
      let (limit, overflow) = other.multipliedReportingOverflow(by: percent)
      return !overflow && value * 100 > limit
    }
    return beyond(now, before) || beyond(before, now)
  }

  /// Marks explained warnings as overridden; reports overrides that explain nothing.
  ///
  /// - An override of a warning that fired: the finding stays, `overridden`, with the explanation.
  /// - A blank explanation: R-OVERRIDE-EMPTY (error), and the warning stays not overridden.
  /// - An override of a rule that did not fire, of an error (errors cannot be overridden), or of
  ///   an unknown code: R-OVERRIDE-UNUSED (warning; the report is still accepted if nothing
  ///   else is wrong).
  static func applyOverrides(_ findings: [Finding], overrides: [String: String]) -> [Finding] {
    var result = findings
    var used: Set<String> = []
    for index in result.indices where result[index].severity == .warning {
      guard let explanation = overrides[result[index].ruleCode] else { continue }
      used.insert(result[index].ruleCode)
      guard !explanation.trimmingSpaces.isEmpty else { continue }
      result[index].overridden = true
      result[index].explanation = explanation
    }
    for (code, explanation) in overrides.sorted(by: { $0.key < $1.key }) {
      let path = "warning_overrides[\(code)]"
      if explanation.trimmingSpaces.isEmpty {
        result.append(ValidationRule.overrideEmpty.finding(
          path + ".explanation", "\(path).explanation: the override of \(code) has no explanation; say why the figure is right"))
      } else if !used.contains(code) {
        let message: String
        if findings.contains(where: { $0.ruleCode == code && $0.severity == .error }) {
          message = "\(code) is an error and cannot be overridden; correct the figure instead"
        } else if ValidationRule.rule(code: code) == nil {
          message = "\(code) is not a rule of this version; the explanation explains nothing"
        } else {
          message = "\(code) did not fire for this report; the explanation explains nothing"
        }
        result.append(ValidationRule.overrideUnused.finding(path + ".rule_code", "\(path).rule_code: \(message)"))
      }
    }
    return result
  }
}

extension String {
  var trimmingSpaces: Substring {
    let scalars = unicodeScalars
    guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
    let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
    return Substring(scalars[first...last])
  }
}
