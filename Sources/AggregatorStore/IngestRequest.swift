/// A validated submission handed to the store, with the status the validator decided.
public struct IngestRequest: Sendable, Hashable {
  /// A warning override as sent by the reporter: rule code and explanation.
  public struct Explanation: Sendable, Hashable, Codable {
    public var ruleCode: String
    public var explanation: String

    public init(ruleCode: String, explanation: String) {
      self.ruleCode = ruleCode
      self.explanation = explanation
    }
  }

  /// Chosen by the node, stable across retries.
  public var submissionId: String
  /// The authenticated reporter (from the transport identity).
  public var reporterCode: String
  public var baseId: String
  public var reportYear: Int
  /// 1 for a first report, n + 1 for a correction of revision n.
  public var revision: Int
  /// 0 for a first report; for a correction, the revision it replaces.
  public var replacesRevision: Int
  /// SHA-256 of the canonical report bytes, 32 bytes.
  public var contentSHA256: [UInt8]
  /// The submission exactly as received (kept for ever for accepted and rejected submissions).
  public var originalBytes: [UInt8]
  /// What the validator decided: `.accepted`, `.acceptedWithWarnings`, `.acceptedLate` or
  /// `.rejected`. (`.duplicate` is decided by the store; passing it is refused.)
  public var status: ReceiptStatus
  /// True when the submission arrived after the round's deadline (whatever the policy did).
  public var late: Bool
  /// Every finding of validation, in the order the receipt should list them.
  public var findings: [StoredFinding]
  /// The reporter's warning overrides.
  public var explanations: [Explanation]
  /// When the aggregator received it, microseconds since 1970-01-01T00:00:00Z (UTC).
  public var receivedAtMicros: Int64

  public init(
    submissionId: String,
    reporterCode: String,
    baseId: String,
    reportYear: Int,
    revision: Int,
    replacesRevision: Int,
    contentSHA256: [UInt8],
    originalBytes: [UInt8],
    status: ReceiptStatus,
    late: Bool = false,
    findings: [StoredFinding] = [],
    explanations: [Explanation] = [],
    receivedAtMicros: Int64
  ) {
    self.submissionId = submissionId
    self.reporterCode = reporterCode
    self.baseId = baseId
    self.reportYear = reportYear
    self.revision = revision
    self.replacesRevision = replacesRevision
    self.contentSHA256 = contentSHA256
    self.originalBytes = originalBytes
    self.status = status
    self.late = late
    self.findings = findings
    self.explanations = explanations
    self.receivedAtMicros = receivedAtMicros
  }
}
