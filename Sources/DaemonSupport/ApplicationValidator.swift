import Crypto
import Foundation
public import HiTechDomain
public import HiTechSchema

/// The checks of an application (proto-schemas/APPLICATIONS.md, "What is checked"), the same on
/// the province node (`hitech application check`) and at the aggregator. Pure: it returns every
/// finding, errors first, each naming its field from the `ApplicationSubmission` root and its
/// rule; it never stops at the first.
public enum ApplicationValidator {
  /// The limits of APPLICATIONS.md, "Limits".
  public static let maxAttachments = 8
  public static let maxAttachmentBytes = 1 << 20
  public static let maxAttachmentsTotalBytes = 3 << 20
  public static let maxLongTextBytes = 65_536

  /// What the validator knows beyond the message; the defaults skip the checks that need it.
  public struct Context: Sendable {
    /// What the registry says about the base an upgrade names.
    public enum UpgradeBase: Sendable, Hashable {
      /// Not looked up (a node's local check).
      case notChecked
      /// No such base.
      case missing
      /// The base: its reporter, whether it is provincial and active.
      case found(reporterCode: String, provincial: Bool, active: Bool)
    }

    /// The authenticated applicant (for the city's province); nil = the envelope's reporter.
    public var reporterCode: String?
    public var upgradeBase: UpgradeBase

    public init(reporterCode: String? = nil, upgradeBase: UpgradeBase = .notChecked) {
      self.reporterCode = reporterCode
      self.upgradeBase = upgradeBase
    }
  }

  public static func validate(_ submission: Ndrc_Hitech_V1_ApplicationSubmission, context: Context = Context()) -> [Finding] {
    var findings: [Finding] = []
    func error(_ rule: String, _ path: String, _ message: String) {
      findings.append(Finding(ruleCode: rule, severity: .error, fieldPath: path, message: "\(path): \(message)"))
    }
    func warning(_ rule: String, _ path: String, _ message: String) {
      findings.append(Finding(ruleCode: rule, severity: .warning, fieldPath: path, message: "\(path): \(message)"))
    }
    func text(_ value: String, _ path: String, required: Bool, maxCharacters: Int? = nil, maxBytes: Int? = nil) {
      if required && value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
        error("R-REQUIRED", path, "must not be empty")
        return
      }
      if let maxCharacters, value.count > maxCharacters {
        error("R-APP-TEXT-LENGTH", path, "\(value.count) characters; at most \(maxCharacters)")
      }
      if let maxBytes, value.utf8.count > maxBytes {
        error("R-APP-TEXT-LENGTH", path, "\(value.utf8.count) bytes; at most \(maxBytes)")
      }
    }

    let application = submission.application
    let reporter = context.reporterCode ?? submission.reporterCode
    if !submission.hasApplication {
      error("R-REQUIRED", "application", "the application is missing")
      return findings
    }

    // Kind and the upgraded base.
    switch application.kind {
    case .newNationalBase:
      if !application.upgradesBaseID.isEmpty {
        error("R-APP-UPGRADE-BASE", "application.upgrades_base_id", "a new base names no base to upgrade")
      }
    case .upgradeToNational:
      if application.upgradesBaseID.isEmpty {
        error("R-APP-UPGRADE-BASE", "application.upgrades_base_id", "an upgrade names the provincial base it upgrades")
      } else {
        switch context.upgradeBase {
        case .notChecked: break
        case .missing:
          error("R-APP-UPGRADE-BASE", "application.upgrades_base_id", "base \(application.upgradesBaseID) is not registered")
        case .found(let owner, let provincial, let active):
          if owner != reporter {
            error(
              "R-APP-UPGRADE-NOT-OWNED", "application.upgrades_base_id",
              "base \(application.upgradesBaseID) belongs to reporter \(owner), not to \(reporter)")
          } else if !active {
            error("R-APP-UPGRADE-BASE", "application.upgrades_base_id", "base \(application.upgradesBaseID) is withdrawn")
          } else if !provincial {
            error("R-APP-UPGRADE-BASE", "application.upgrades_base_id", "base \(application.upgradesBaseID) is national already")
          }
        }
      }
    case .unspecified, .UNRECOGNIZED:
      error("R-APP-KIND", "application.kind", "NEW_NATIONAL_BASE or UPGRADE_TO_NATIONAL")
    }

    // The proposed base.
    let base = application.base
    text(base.nameZh, "application.base.name_zh", required: true, maxCharacters: 200)
    text(base.nameEn, "application.base.name_en", required: false, maxCharacters: 200)
    text(base.cityNameZh, "application.base.city_name_zh", required: true, maxCharacters: 100)
    if base.level != .national {
      error("R-APP-LEVEL", "application.base.level", "the level applied for is BASE_LEVEL_NATIONAL")
    }
    let fields = base.fields.map { Field($0) }
    if fields.contains(nil) {
      error("R-APP-KIND-FIELDS", "application.base.fields", "a field is unspecified or unknown")
    } else if Set(fields.compactMap { $0 }).count != fields.count {
      error("R-APP-KIND-FIELDS", "application.base.fields", "a field is listed twice")
    }
    switch base.kind {
    case .specialized where fields.count != 1:
      error("R-APP-KIND-FIELDS", "application.base.fields", "a specialized base has exactly one field; \(fields.count) given")
    case .comprehensive where fields.count < 2:
      error("R-APP-KIND-FIELDS", "application.base.fields", "a comprehensive base has two fields or more; \(fields.count) given")
    case .unspecified, .UNRECOGNIZED:
      error("R-APP-KIND-FIELDS", "application.base.kind", "SPECIALIZED or COMPREHENSIVE")
    default: break
    }
    if ExpertConflict.province(of: base.cityCode) == nil {
      error("R-APP-CITY", "application.base.city_code", "\"\(base.cityCode)\" is not a 6-digit GB/T 2260 code")
    } else if let applicantProvince = ExpertConflict.province(of: reporter),
      ExpertConflict.province(of: base.cityCode) != applicantProvince
    {
      error("R-APP-CITY", "application.base.city_code", "city \(base.cityCode) is not in the province of applicant \(reporter)")
    }

    // The figures of the three years before the call.
    let years = Set((submission.callYear - 3)...(submission.callYear - 1))
    var seen: Set<Int32> = []
    for entry in application.figures {
      if !years.contains(entry.year) || !seen.insert(entry.year).inserted {
        error(
          "R-APP-FIGURES-YEARS", "application.figures",
          "year \(entry.year) is \(years.contains(entry.year) ? "given twice" : "not one of \(years.sorted().map(String.init).joined(separator: ", "))")")
      }
    }
    for year in years.sorted() where !seen.contains(year) {
      error("R-APP-FIGURES-YEARS", "application.figures", "no figures for \(year) (the three years before the call each need one)")
    }
    var outputs: [Int32: Amount] = [:]
    for entry in application.figures where years.contains(entry.year) {
      let prefix = "application.figures[\(entry.year)]"
      let amounts: [(String, Bool, Ndrc_Hitech_V1_Amount)] = [
        ("total_output_value", entry.hasTotalOutputValue, entry.totalOutputValue),
        ("value_added", entry.hasValueAdded, entry.valueAdded),
        ("rd_expenditure", entry.hasRdExpenditure, entry.rdExpenditure),
        ("exports", entry.hasExports, entry.exports),
      ]
      for (name, has, amount) in amounts {
        let path = "\(prefix).\(name)"
        guard has else {
          error("R-REQUIRED", path, "must be given (0 if there is none)")
          continue
        }
        if amount.value < 0 { error("R-AMOUNT-NON-NEGATIVE", path, "\(amount.value) is negative") }
        switch amount.unit {
        case .unspecified: error("R-AMOUNT-UNIT-PRESENT", "\(path).unit", "name a unit, e.g. MONEY_UNIT_CNY_TEN_THOUSAND")
        case .UNRECOGNIZED: error("R-AMOUNT-UNIT-KNOWN", "\(path).unit", "a unit this version does not know")
        default: break
        }
      }
      for (name, has, count) in [
        ("patents_applied", entry.hasPatentsApplied, entry.patentsApplied),
        ("patents_granted", entry.hasPatentsGranted, entry.patentsGranted),
      ] {
        let path = "\(prefix).\(name)"
        if !has { error("R-REQUIRED", path, "must be given (0 if there is none)") } else if count < 0 {
          error("R-COUNT-NON-NEGATIVE", path, "\(count) is negative")
        }
      }
      if entry.hasTotalOutputValue {
        let output = Amount(entry.totalOutputValue)
        outputs[entry.year] = output
        for (name, rule, has, amount) in [
          ("value_added", "R-VALUE-ADDED-LE-OUTPUT", entry.hasValueAdded, entry.valueAdded),
          ("rd_expenditure", "R-RD-LE-OUTPUT", entry.hasRdExpenditure, entry.rdExpenditure),
        ] where has {
          let part = Amount(amount)
          guard output.unit.isKnown, part.unit.isKnown else { continue }
          switch part.compare(to: output) {
          case nil:
            error("R-AMOUNT-CURRENCY", "\(prefix).\(name)", "\(part) and the total output \(output) are in different currencies")
          case .greater?:
            error(rule, "\(prefix).\(name)", "\(part) exceeds the total output \(output)")
          default: break
          }
        }
      }
    }
    for year in years.sorted() {
      guard let this = outputs[year], let last = outputs[year - 1], let a = this.exactBaseUnits, let b = last.exactBaseUnits,
        this.isComparable(with: last)
      else { continue }
      if (b == 0) != (a == 0) || (b > 0 && (a > b * 3 || a * 3 < b)) {
        warning(
          "R-APP-OUTPUT-YOY-JUMP", "application.figures[\(year)].total_output_value",
          "\(this) against \(last) in \(year - 1): more than ×3 up or down")
      }
    }

    // Plan, support measures, approval.
    text(application.planReference, "application.plan_reference", required: true, maxCharacters: 500)
    text(application.developmentPlan, "application.development_plan", required: true, maxBytes: maxLongTextBytes)
    text(application.localSupportMeasures, "application.local_support_measures", required: true, maxBytes: maxLongTextBytes)
    text(application.contact, "application.contact", required: false, maxCharacters: 200)
    let approval = application.provincialApproval
    if approval.documentNumber.trimmingCharacters(in: .whitespaces).isEmpty || approval.documentNumber.count > 100 {
      error("R-APP-APPROVAL", "application.provincial_approval.document_number", "the provincial government's document, 1..100 characters")
    }
    if !approval.hasDate
      || CalendarDate(iso: String(format: "%04d-%02d-%02d", approval.date.year, approval.date.month, approval.date.day)) == nil
    {
      error("R-APP-APPROVAL", "application.provincial_approval.date", "a valid date of the approval")
    }

    // Attachments.
    if application.attachments.count > maxAttachments {
      error("R-APP-ATTACHMENT-SIZE", "application.attachments", "\(application.attachments.count) attachments; at most \(maxAttachments)")
    }
    var names: Set<String> = []
    var total = 0
    for (i, attachment) in application.attachments.enumerated() {
      let path = "application.attachments[\(i)]"
      let name = attachment.name
      if name.isEmpty || name.count > 128 || name == "." || name == ".." || name.contains("/") || name.contains("\\")
        || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
      {
        error("R-APP-ATTACHMENT-NAME", "\(path).name", "1..128 characters, no \"/\", \"\\\" or control characters, not \".\" or \"..\"")
      } else if !names.insert(name).inserted {
        error("R-APP-ATTACHMENT-NAME", "\(path).name", "\"\(name)\" is attached twice")
      }
      if attachment.mediaType.count > 100 {
        error("R-APP-TEXT-LENGTH", "\(path).media_type", "at most 100 characters")
      }
      total += attachment.content.count
      if attachment.content.count > maxAttachmentBytes {
        error("R-APP-ATTACHMENT-SIZE", "\(path).content", "\(attachment.content.count) bytes; at most \(maxAttachmentBytes)")
      }
      if attachment.sha256.count != 32 || Data(SHA256.hash(data: attachment.content)) != attachment.sha256 {
        error("R-APP-ATTACHMENT-SHA256", "\(path).sha256", "not the SHA-256 of the content")
      }
    }
    if total > maxAttachmentsTotalBytes {
      error("R-APP-ATTACHMENT-SIZE", "application.attachments", "\(total) bytes in all; at most \(maxAttachmentsTotalBytes)")
    }

    return findings.sorted { a, b in
      if a.severity != b.severity { return a.severity == .error }
      if a.ruleCode != b.ruleCode { return a.ruleCode < b.ruleCode }
      return a.fieldPath < b.fieldPath
    }
  }
}

extension Ndrc_Hitech_V1_ApplicationSubmission {
  /// The SHA-256 of the application's deterministic binary encoding (`content_sha256`).
  public func computedContentHash() throws -> [UInt8] {
    let bytes: [UInt8] = try application.serializedBytes()
    return Array(SHA256.hash(data: bytes))
  }

  /// A copy with `content_sha256` set from the application.
  public func sealed() throws -> Ndrc_Hitech_V1_ApplicationSubmission {
    var copy = self
    copy.contentSha256 = Data(try computedContentHash())
    return copy
  }
}
