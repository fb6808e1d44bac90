import DaemonSupport
import Foundation
import HiTechDomain
import HiTechSchema
import SwiftProtobuf

/// What the spool decides about a claimed file before it may be sent: unreadable (quarantine),
/// refused by the local checks (rejected, never sent), or a submission ready to send.
package enum Admission {
  case quarantine(reason: String)
  case reject(report: String)
  case accept(Ndrc_Hitech_V1_Submission)

  /// Files larger than this are quarantined (the aggregator refuses large messages anyway).
  static let maximumFileSize: Int64 = 16 << 20

  /// Reads a message file (`.pb` binary, `.json` proto3 JSON), checks its envelope as the
  /// aggregator would, and validates its report with the shared rule set, knowing only the
  /// report year (no round, no registry: those are the aggregator's).
  package static func judge(bytes: [UInt8], name: String) -> Admission {
    if bytes.isEmpty {
      return .quarantine(reason: "the file is empty (0 bytes); was it written in place instead of renamed when complete?")
    }
    if Int64(bytes.count) > maximumFileSize {
      return .quarantine(reason: "the file has \(bytes.count) bytes, more than the \(maximumFileSize) a report may have")
    }
    var submission: Ndrc_Hitech_V1_Submission
    do {
      if name.hasSuffix(".pb") {
        submission = try Ndrc_Hitech_V1_Submission(serializedBytes: bytes)
        if !submission.unknownFields.data.isEmpty || !submission.report.unknownFields.data.isEmpty {
          return .quarantine(reason: "binary protobuf with fields a ndrc.hitech.v1.Submission does not have: not a report message file (or truncated, or of another schema)")
        }
      } else {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = false
        submission = try Ndrc_Hitech_V1_Submission(jsonUTF8Bytes: bytes, options: options)
      }
    } catch {
      let format = name.hasSuffix(".pb") ? "binary protobuf" : "proto3 JSON"
      return .quarantine(reason: "not a ndrc.hitech.v1.Submission in \(format) (\(error)); truncated, damaged, or not a report message file")
    }
    if !submission.hasReport && submission.baseID.isEmpty && submission.reportYear == 0 {
      return .quarantine(reason: "the file decodes to an empty submission (no report, no base_id, no report_year): not a report message file")
    }

    var problems: [String] = []
    if submission.schemaVersion != .v1 {
      problems.append("ERROR R-SCHEMA-VERSION schema_version: must be SCHEMA_VERSION_V1, got \(submission.schemaVersion)")
    }
    if !submission.submissionID.isEmpty && !isValidSubmissionID(submission.submissionID) {
      problems.append("ERROR R-SUBMISSION-ID submission_id: 1 to 64 characters of letters, digits, '-', '_' or '.' (or leave it empty and the node chooses one)")
    }
    if !submission.hasReport {
      problems.append("ERROR R-REQUIRED report: the submission carries no report")
    }
    if let hash = try? submission.computedContentHash(), !submission.contentSha256.isEmpty, Array(submission.contentSha256) != hash {
      problems.append("ERROR R-CONTENT-HASH-MISMATCH content_sha256: does not match the SHA-256 of the report; the file may be damaged (or leave it empty and the node computes it)")
    }
    var overrides: [String: String] = [:]
    for override in submission.warningOverrides { overrides[override.ruleCode] = override.explanation }
    let context = ValidationContext(reportYear: Int(submission.reportYear), overrides: overrides)
    let outcome = ReportValidator.validate(AnnualReport(submission.report), context: context)
    problems += outcome.findings.filter { $0.severity == .error }.map { "ERROR \($0.ruleCode) \($0.fieldPath): \($0.message)" }
    if !problems.isEmpty {
      let warnings = outcome.findings.filter { $0.severity == .warning }.map {
        "WARNING \($0.ruleCode) \($0.fieldPath): \($0.message)\($0.overridden ? " (overridden: \($0.explanation ?? ""))" : "")"
      }
      let report =
        "Refused by the province node's local checks (the shared rule set); never sent.\n"
        + "base_id: \(submission.baseID)\nreport_year: \(submission.reportYear)\n\n"
        + (problems + warnings).joined(separator: "\n") + "\n"
      return .reject(report: report)
    }
    return .accept(submission)
  }

  static func isValidSubmissionID(_ id: String) -> Bool {
    EnvelopeRule.isValidSubmissionID(id)
  }

  /// The submission as sent: the id from the journal, the content hash, and `created_at` set
  /// to the claim time when the file has none. Deterministic: the same file and journal record
  /// give the same message on every retry and after every restart.
  package static func outgoing(_ submission: Ndrc_Hitech_V1_Submission, id: String, claimedAtMillis: Int64) throws -> Ndrc_Hitech_V1_Submission {
    var message = submission
    message.submissionID = id
    if !message.hasCreatedAt {
      message.createdAt = Google_Protobuf_Timestamp(
        seconds: claimedAtMillis / 1000, nanos: Int32(claimedAtMillis % 1000) * 1_000_000)
    }
    return try message.sealed()
  }
}

extension [UInt8] {
  var hexString: String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(count * 2)
    for byte in self {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
  }
}
