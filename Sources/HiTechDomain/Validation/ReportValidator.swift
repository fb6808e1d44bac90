/// Applies the rule set (see ``ValidationRule``) to a report. It returns its findings; it
/// never throws and never stops at the first problem, so a clerk sees every problem at once.
public enum ReportValidator {
  public static func validate(_ report: AnnualReport, context: ValidationContext) -> ValidationOutcome {
    var findings: [Finding] = []
    findings += requiredFigures(report)
    findings += amountsAndUnits(report)
    findings += counts(report)
    findings += consistency(report)
    findings += round(context)
    findings += base(context)
    findings += yearOnYear(report, context: context)
    findings = applyOverrides(findings, overrides: context.overrides)
    return ValidationOutcome(findings: findings)
  }

  // MARK: - Rules

  static func requiredFigures(_ report: AnnualReport) -> [Finding] {
    let required: [(String, Amount?, String)] = [
      ("report.total_output_value", report.totalOutput, "total output value (生产总产值)"),
      ("report.value_added", report.valueAdded, "value added (增加值)"),
      ("report.rd_expenditure", report.rdExpenditure, "R&D spending (研究与开发投入)"),
    ]
    return required.compactMap { path, amount, name in
      amount == nil ? ValidationRule.required.finding(path, "\(name) must be reported") : nil
    }
  }

  static func amountsAndUnits(_ report: AnnualReport) -> [Finding] {
    var findings: [Finding] = []
    for (path, amount) in report.amounts {
      guard let amount else { continue }
      if amount.value < 0 {
        findings.append(ValidationRule.amountNonNegative.finding(path, "\(path) is \(amount.value); amounts cannot be negative"))
      }
      if amount.unit == .unspecified {
        findings.append(ValidationRule.unitPresent.finding(path, "\(path) has no unit; name one, e.g. 万元 (MONEY_UNIT_CNY_TEN_THOUSAND)"))
      } else if amount.unit == .unrecognized {
        findings.append(ValidationRule.unitKnown.finding(path, "\(path) has a unit this version does not know"))
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

  static func consistency(_ report: AnnualReport) -> [Finding] {
    var findings: [Finding] = []
    func atMost(
      _ rule: ValidationRule, _ path: String, _ part: Amount?, _ partName: String,
      _ whole: Amount?, _ wholeName: String
    ) {
      guard let part, let whole, part.unit.baseUnits != nil, whole.unit.baseUnits != nil else { return }
      guard let order = part.compare(to: whole) else {
        findings.append(ValidationRule.currency.finding(
          path, "\(partName) (\(part.unit.symbol)) and \(wholeName) (\(whole.unit.symbol)) are in different currencies and cannot be compared"))
        return
      }
      if order == .greater {
        findings.append(rule.finding(path, "\(partName) \(part) exceeds \(wholeName) \(whole)"))
      }
    }
    atMost(.valueAddedLEOutput, "report.value_added", report.valueAdded, "value added", report.totalOutput, "total output")
    atMost(.rdLEOutput, "report.rd_expenditure", report.rdExpenditure, "R&D spending", report.totalOutput, "total output")
    atMost(.productOutputLEOutput, "report.total_product_output_value", report.totalProductOutput, "all product output", report.totalOutput, "total output")
    atMost(.highTechLEProductOutput, "report.high_tech_product_output_value", report.highTechProductOutput, "high-tech product output", report.totalProductOutput, "all product output")
    atMost(.highTechLEOutput, "report.high_tech_product_output_value", report.highTechProductOutput, "high-tech product output", report.totalOutput, "total output")
    if let staff = report.rdAndEngineeringStaff, let employees = report.employees, staff > employees {
      findings.append(ValidationRule.rdStaffLEEmployees.finding(
        "report.rd_and_engineering_staff", "R&D and engineering staff \(staff) exceed employees \(employees)"))
    }
    return findings
  }

  static func round(_ context: ValidationContext) -> [Finding] {
    switch context.round {
    case .notOpen:
      [ValidationRule.roundNotOpen.finding("report_year", "no round accepts reports for \(context.reportYear) yet")]
    case .closedRefused:
      [ValidationRule.roundClosed.finding("report_year", "the round for \(context.reportYear) is closed and refuses late reports")]
    case .open, .lateAccepted, nil:
      []
    }
  }

  static func base(_ context: ValidationContext) -> [Finding] {
    switch context.base {
    case .notChecked:
      return []
    case .unknown(let id):
      return [ValidationRule.baseExists.finding("base_id", "base \(id) is not in the registry")]
    case .registered(let base):
      var findings: [Finding] = []
      if !base.isRecognised {
        findings.append(ValidationRule.baseWithdrawn.finding("base_id", "base \(base.id) has been withdrawn and reports no more"))
      }
      if let reporter = context.reporterCode, reporter != base.reporterCode {
        findings.append(ValidationRule.baseNotOwned.finding(
          "base_id", "base \(base.id) is reported by \(base.reporterCode), not by \(reporter)"))
      }
      switch base.kind {
      case .specialized where base.fields.count != 1:
        findings.append(ValidationRule.baseKindFields.finding(
          "base_id", "base \(base.id) is specialized but registered with \(base.fields.count) fields; the registry must be corrected"))
      case .comprehensive where base.fields.count < 2:
        findings.append(ValidationRule.baseKindFields.finding(
          "base_id", "base \(base.id) is comprehensive but registered with \(base.fields.count) field(s); the registry must be corrected"))
      default:
        break
      }
      return findings
    }
  }

  static func yearOnYear(_ report: AnnualReport, context: ValidationContext) -> [Finding] {
    guard let previous = context.previousYear else { return [] }
    let percent = Int64(context.yearOnYearJumpPercent)
    let checks: [(ValidationRule, String, Amount?, Amount?, String)] = [
      (.outputJump, "report.total_output_value", report.totalOutput, previous.totalOutput, "total output"),
      (.valueAddedJump, "report.value_added", report.valueAdded, previous.valueAdded, "value added"),
      (.rdJump, "report.rd_expenditure", report.rdExpenditure, previous.rdExpenditure, "R&D spending"),
    ]
    return checks.compactMap { rule, path, current, last, name in
      guard let current, let last, current.unit.currency == last.unit.currency,
        let now = current.inBaseUnits, let before = last.inBaseUnits, now >= 0, before >= 0
      else { return nil }
      guard isJump(from: before, to: now, percent: percent) else { return nil }
      return rule.finding(
        path,
        "\(name) went from \(last) in \(context.reportYear - 1) to \(current), a change beyond ×\(Double(percent) / 100); explain it or correct it")
    }
  }

  /// Whether `now` is more than `percent`% of `before`, or `before` more than `percent`% of
  /// `now` (exact, 128-bit).
  static func isJump(from before: Int64, to now: Int64, percent: Int64) -> Bool {
    if before == 0 || now == 0 { return before != now }
    func greater(_ a: Int64, _ aFactor: Int64, _ b: Int64, _ bFactor: Int64) -> Bool {
      let left = a.multipliedFullWidth(by: aFactor)
      let right = b.multipliedFullWidth(by: bFactor)
      return left.high != right.high ? left.high > right.high : left.low > right.low
    }
    return greater(now, 100, before, percent) || greater(before, 100, now, percent)
  }

  /// Marks explained warnings as overridden; reports explanations that explain nothing.
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
      if explanation.trimmingSpaces.isEmpty {
        result.append(ValidationRule.overrideEmpty.finding(
          "warning_overrides[\(code)]", "the override of \(code) has no explanation; say why the figure is right"))
      } else if !used.contains(code) {
        let isError = findings.contains { $0.ruleCode == code && $0.severity == .error }
        result.append(ValidationRule.overrideUnused.finding(
          "warning_overrides[\(code)]",
          isError
            ? "\(code) is an error and cannot be overridden; correct the figure instead"
            : "\(code) did not fire for this report; the explanation is kept but explains nothing"))
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
