import Foundation

/// The decisions of ingest that need no database: the request's own checks, the revision rule,
/// the accession number's format and the receipt of a row just stored. Every backend decides
/// with these, so that a rule cannot differ between them.
package enum IngestRules {
  package static func accessionNumber(year: Int, sequence: Int64) -> String {
    let y = String(year)
    let s = String(sequence)
    return "HT-" + String(repeating: "0", count: max(0, 4 - y.count)) + y
      + "-" + String(repeating: "0", count: max(0, 8 - s.count)) + s
  }

  package static func malformed(_ request: IngestRequest) -> String? {
    if request.submissionId.isEmpty { return "the submission id is empty" }
    if request.baseId.isEmpty { return "the base id is empty" }
    if request.reporterCode.isEmpty { return "the reporter code is empty" }
    if request.contentSHA256.count != 32 {
      return "content_sha256 has \(request.contentSHA256.count) bytes; a SHA-256 has 32"
    }
    if !(0...9999).contains(request.reportYear) {
      return "report year \(request.reportYear) is not a 4-digit year"
    }
    if request.status == .duplicate {
      return "the status of a request is decided by the validator; duplicate is decided by the store"
    }
    return nil
  }

  package static func revisionConflict(_ request: IngestRequest, latest: (revision: Int, accessionNumber: String)?) -> IngestConflict? {
    let base = request.baseId
    let year = request.reportYear
    let k = request.revision
    let replaces = request.replacesRevision
    guard let latest else {
      if k == 1 && replaces == 0 { return nil }
      return IngestConflict(
        code: .failedPrecondition,
        ruleCode: k < 1 ? "R-REVISION-INVALID" : (k == 1 ? "R-REVISION-STALE" : "R-REVISION-GAP"),
        message: "base \(base) has no stored report for \(year), but this is revision \(k) replacing revision \(replaces); "
          + "send the first report as revision 1 with replaces_revision 0")
    }
    let n = latest.revision
    let accession = latest.accessionNumber
    if k == 1 {
      return IngestConflict(
        code: .alreadyExists,
        ruleCode: "R-REVISION-CONFLICT",
        message: "base \(base) already has a report for \(year) (revision \(n), accession \(accession)); "
          + "to correct it, submit revision \(n + 1) with replaces_revision \(n)")
    }
    if k < 1 || replaces != n || k != n + 1 {
      let rule = k < 1 ? "R-REVISION-INVALID" : (replaces != n ? "R-REVISION-STALE" : "R-REVISION-GAP")
      return IngestConflict(
        code: .failedPrecondition,
        ruleCode: rule,
        message: "revision \(k) replacing revision \(replaces) does not follow the latest stored revision of base \(base) "
          + "for \(year), which is revision \(n) (accession \(accession)); "
          + "send revision \(n + 1) with replaces_revision \(n)")
    }
    return nil
  }

  /// The receipt of a row just inserted, from the values inserted: the same fields
  /// a store reads back later (the tests compare the two).
  package static func newReceipt(
    _ request: IngestRequest, status: ReceiptStatus, accession: String, revision: Int
  ) -> StoredReceipt {
    StoredReceipt(
      accessionNumber: accession,
      submissionId: request.submissionId,
      receivedAtMicros: request.receivedAtMicros,
      status: status,
      revision: revision,
      findings: request.findings,
      baseId: request.baseId,
      reportYear: request.reportYear,
      contentSHA256: request.contentSHA256,
      reporterCode: request.reporterCode,
      late: request.late,
      duplicateOfSubmissionId: "")
  }

  /// The same submission id again with other content.
  package static func submissionIdReused(_ request: IngestRequest, stored receipt: StoredReceipt) -> IngestConflict {
    let stored = receipt.accessionNumber.isEmpty
      ? "stored as \(receipt.status.rawValue), no accession number"
      : "accession \(receipt.accessionNumber)"
    return IngestConflict(
      code: .alreadyExists,
      ruleCode: "R-SUBMISSION-ID-REUSED",
      message: "submission id \(request.submissionId) was already used for different content (\(stored)); use a new id")
  }

  /// The audit detail of a rejected submission (action `submission.rejected`).
  package static func rejectedDetail(_ request: IngestRequest) -> String {
    "base \(request.baseId) year \(request.reportYear) revision \(request.revision); "
      + "rules: \(request.findings.filter { $0.severity == .error }.map(\.ruleCode).joined(separator: ", "))"
  }

  /// The audit detail of a duplicate (action `submission.duplicate`).
  package static func duplicateDetail(of originalSubmissionId: String, accession: String) -> String {
    "duplicate of \(originalSubmissionId) (accession \(accession))"
  }

  /// The audit detail of an accepted submission (action `submission.accepted`).
  package static func acceptedDetail(_ request: IngestRequest, accession: String) -> String {
    "accession \(accession): base \(request.baseId) year \(request.reportYear) revision \(request.revision) "
      + "(\(request.status.rawValue)\(request.late ? ", late" : ""))"
  }

  /// The explanations column: JSON, `[]` when none.
  package static func explanationsJSON(_ request: IngestRequest) throws -> String {
    request.explanations.isEmpty
      ? "[]" : String(decoding: try JSONEncoder().encode(request.explanations), as: UTF8.self)
  }
}
