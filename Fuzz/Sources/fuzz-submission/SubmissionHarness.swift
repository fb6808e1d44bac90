import DaemonSupport
import FuzzSupport
import HiTechDomain
import HiTechSchema
import SwiftProtobuf

/// A Submission from bytes, as the aggregator receives it in a MESSAGE frame, through the
/// envelope checks and the shared rule set, in every context the aggregator can be in.
///
/// Input: a 12-byte context header, then the Submission (binary protobuf), then the previous
/// year's stored AnnualReport (binary protobuf, optional):
///
///     byte 0       bits 0-2 round: none, open, late accepted, closed refused, not open
///                  bits 3-4 base: not checked, unknown, registered specialized, comprehensive
///                  bit 5 the base is withdrawn; bit 6 the reporter is known (110000)
///                  bit 7 a previous year is given (the bytes after the submission)
///     byte 1       the registered base's fields (bits 0-5, Field.allCases order)
///     bytes 2-9    year-on-year jump percent, Int64 big-endian (0: the default, 300)
///     bytes 10-11  the submission's length, UInt16 big-endian (the rest when it is longer)
///
/// Properties: nothing traps; the content hash is stable across a binary round trip; every
/// finding names a rule of the rule set with that rule's severity, and only warnings are
/// marked overridden.
@main
enum SubmissionHarness {
  static func main() {
    FuzzMain.run("fuzz-submission", check)
  }

  static func check(_ input: [UInt8]) {
    let header = input.prefix(12) + [UInt8](repeating: 0, count: max(0, 12 - input.count))
    let flags = header[0]
    let length = Int(header[10]) << 8 | Int(header[11])
    let body = input.dropFirst(12)
    let submissionBytes = body.prefix(length)
    let previousBytes = body.dropFirst(length)

    guard let submission = try? Ndrc_Hitech_V1_Submission(serializedBytes: Array(submissionBytes)) else { return }

    // The envelope, as ReportIngestService.check and the spool do.
    if let hash = try? submission.computedContentHash() {
      let sealed = try? submission.sealed()
      fuzzRequire(sealed.map { Array($0.contentSha256) == hash } ?? false, "sealing does not store the computed hash")
      if let bytes: [UInt8] = try? submission.serializedBytes(),
        let again = try? Ndrc_Hitech_V1_Submission(serializedBytes: bytes)
      {
        fuzzRequire(again == submission, "a binary round trip changes the submission")
        fuzzRequire((try? again.computedContentHash()) == hash, "a binary round trip changes the content hash")
      }
    }

    var overrides: [String: String] = [:]
    for override in submission.warningOverrides { overrides[override.ruleCode] = override.explanation }
    let reporter: String? = flags & 0x40 != 0 ? "110000" : nil
    let context = ValidationContext(
      reporterCode: reporter,
      reportYear: Int(submission.reportYear),
      base: base(flags: flags, fields: header[1], id: submission.baseID),
      round: round(flags & 0x07),
      previousYear: flags & 0x80 != 0
        ? (try? Ndrc_Hitech_V1_AnnualReport(serializedBytes: Array(previousBytes))).map(AnnualReport.init)
        : nil,
      yearOnYearJumpPercent: percent(header[2..<10]),
      overrides: overrides
    )
    let outcome = ReportValidator.validate(AnnualReport(submission.report), context: context)
    for finding in outcome.findings {
      guard let rule = ValidationRule.rule(code: finding.ruleCode) else {
        fuzzRequire(false, "finding \(finding) names no rule of the rule set")
        return
      }
      fuzzRequire(rule.severity == finding.severity, "finding \(finding) has another severity than its rule")
      fuzzRequire(!finding.overridden || finding.severity == .warning, "an error is marked overridden: \(finding)")
      fuzzRequire(!finding.fieldPath.isEmpty, "finding \(finding) has no field path")
    }
  }

  static func round(_ bits: UInt8) -> ValidationContext.RoundAcceptance? {
    switch bits {
    case 1: .open
    case 2: .lateAccepted
    case 3: .closedRefused
    case 4: .notOpen
    default: nil
    }
  }

  static func base(flags: UInt8, fields bits: UInt8, id: String) -> ValidationContext.BaseKnowledge {
    let fields = Set(Field.allCases.enumerated().filter { bits & (1 << $0.offset) != 0 }.map(\.element))
    switch (flags >> 3) & 0x03 {
    case 0: return .notChecked
    case 1: return .unknown(id: id)
    default:
      return .registered(Base(
        id: id, nameZh: "基地", reporterCode: "110000",
        kind: (flags >> 3) & 0x03 == 2 ? .specialized : .comprehensive,
        fields: fields, level: .national, recognitionDocument: "国科发〔2020〕1号",
        withdrawn: flags & 0x20 != 0
      ))
    }
  }

  static func percent(_ bytes: ArraySlice<UInt8>) -> Int {
    let value = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    return value == 0 ? 300 : Int(truncatingIfNeeded: value)
  }
}
