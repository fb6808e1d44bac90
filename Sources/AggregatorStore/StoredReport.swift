/// One stored revision of a (base, year) report, with its original bytes.
public struct StoredReport: Sendable, Hashable {
  public var baseId: String
  public var reportYear: Int
  public var revision: Int
  public var accessionNumber: String
  public var submissionId: String
  public var reporterCode: String
  public var status: ReceiptStatus
  public var late: Bool
  public var contentSHA256: [UInt8]
  /// Microseconds since 1970-01-01T00:00:00Z.
  public var receivedAtMicros: Int64
  /// The submission exactly as received.
  public var originalBytes: [UInt8]

  public init(
    baseId: String,
    reportYear: Int,
    revision: Int,
    accessionNumber: String,
    submissionId: String,
    reporterCode: String,
    status: ReceiptStatus,
    late: Bool,
    contentSHA256: [UInt8],
    receivedAtMicros: Int64,
    originalBytes: [UInt8]
  ) {
    self.baseId = baseId
    self.reportYear = reportYear
    self.revision = revision
    self.accessionNumber = accessionNumber
    self.submissionId = submissionId
    self.reporterCode = reporterCode
    self.status = status
    self.late = late
    self.contentSHA256 = contentSHA256
    self.receivedAtMicros = receivedAtMicros
    self.originalBytes = originalBytes
  }
}
