public import TransparencyLog

/// A receipt exactly as stored: every field of submission.proto `Receipt`. Built from rows that
/// are never updated, so asking again yields the same receipt, field for field.
public struct StoredReceipt: Sendable, Hashable {
  /// "HT-YYYY-NNNNNNNN"; empty for a rejected submission; the original's for a duplicate.
  public var accessionNumber: String
  /// The submission this receipt answers.
  public var submissionId: String
  /// When the submission was stored (for a duplicate: when the original was stored),
  /// microseconds since 1970-01-01T00:00:00Z.
  public var receivedAtMicros: Int64
  public var status: ReceiptStatus
  /// The revision stored (the original's for a duplicate; 0 for rejected).
  public var revision: Int
  public var findings: [StoredFinding]
  public var baseId: String
  public var reportYear: Int
  public var contentSHA256: [UInt8]
  public var reporterCode: String
  public var late: Bool
  /// For a duplicate: the submission id under which the content was stored first; else empty.
  public var duplicateOfSubmissionId: String
  /// What the centre attests and signs (RECEIPTS.md §2): for a stored revision its leaf of the
  /// submissions log, for a duplicate its original's, for a refusal one not logged (log index
  /// -1). Nil only for a revision stored before the log existed and not yet appended to it.
  public var attestation: ReceiptAttestation?

  public init(
    accessionNumber: String,
    submissionId: String,
    receivedAtMicros: Int64,
    status: ReceiptStatus,
    revision: Int,
    findings: [StoredFinding],
    baseId: String,
    reportYear: Int,
    contentSHA256: [UInt8],
    reporterCode: String,
    late: Bool,
    duplicateOfSubmissionId: String,
    attestation: ReceiptAttestation? = nil
  ) {
    self.accessionNumber = accessionNumber
    self.submissionId = submissionId
    self.receivedAtMicros = receivedAtMicros
    self.status = status
    self.revision = revision
    self.findings = findings
    self.baseId = baseId
    self.reportYear = reportYear
    self.contentSHA256 = contentSHA256
    self.reporterCode = reporterCode
    self.late = late
    self.duplicateOfSubmissionId = duplicateOfSubmissionId
    self.attestation = attestation
  }
}
