/// What a signed receipt attests: that the centre stored (or refused) one submission, with what
/// content, when, and where in the log (proto-schemas/RECEIPTS.md §2).
///
/// Its canonical encoding is both what the centre signs and, for a stored submission, the leaf
/// of the log: `MerkleTree.leafHash(attestation.encoded)`.
public struct ReceiptAttestation: Hashable, Sendable {
  /// The encoding's first field, naming the format and its version.
  public static let tag = "hitech-receipt-v1"

  /// The authenticated reporter that submitted (six digits).
  public var reporterCode: String
  public var baseID: String
  public var reportYear: Int32
  /// The revision stored (0 for a refusal).
  public var revision: Int32
  public var submissionID: String
  /// SHA-256 of the report's canonical content, as the aggregator recomputed it.
  public var contentSHA256: MerkleHash
  /// The stored outcome: `ACCEPTED`, `ACCEPTED_WITH_WARNINGS`, `ACCEPTED_LATE` or `REJECTED`
  /// (a DUPLICATE's receipt carries its original's attestation).
  public var status: String
  /// Empty for a refusal.
  public var accessionNumber: String
  /// When the aggregator durably stored it, on the aggregator's clock.
  public var receivedAt: LogTimestamp
  /// The same moment on the round's clock (the coordinator's; equal to `receivedAt` when the
  /// round runs on wall time).
  public var roundClockAt: LogTimestamp
  /// The leaf's index in the log; -1 for a refusal, which is not logged.
  public var logIndex: Int64

  public init(
    reporterCode: String, baseID: String, reportYear: Int32, revision: Int32,
    submissionID: String, contentSHA256: MerkleHash, status: String, accessionNumber: String,
    receivedAt: LogTimestamp, roundClockAt: LogTimestamp, logIndex: Int64
  ) {
    self.reporterCode = reporterCode
    self.baseID = baseID
    self.reportYear = reportYear
    self.revision = revision
    self.submissionID = submissionID
    self.contentSHA256 = contentSHA256
    self.status = status
    self.accessionNumber = accessionNumber
    self.receivedAt = receivedAt
    self.roundClockAt = roundClockAt
    self.logIndex = logIndex
  }

  /// Whether the attestation is a log entry (a stored submission).
  public var isLogged: Bool { logIndex >= 0 }

  /// The canonical encoding (RECEIPTS.md §2.1).
  public var encoded: [UInt8] {
    var writer = CanonicalWriter()
    writer.string(Self.tag)
    writer.string(reporterCode)
    writer.string(baseID)
    writer.int32(reportYear)
    writer.int32(revision)
    writer.string(submissionID)
    writer.hash(contentSHA256)
    writer.string(status)
    writer.string(accessionNumber)
    writer.int64(receivedAt.seconds)
    writer.int32(receivedAt.nanos)
    writer.int64(roundClockAt.seconds)
    writer.int32(roundClockAt.nanos)
    writer.int64(logIndex)
    return writer.bytes
  }

  /// The log's leaf hash of this attestation.
  public var leafHash: MerkleHash { MerkleTree.leafHash(encoded) }

  /// Reads a canonical encoding; throws `malformed` for anything that is not exactly one.
  public init(encoded bytes: [UInt8]) throws {
    var reader = CanonicalReader(bytes)
    let tag = try reader.string("tag")
    guard tag == Self.tag else {
      throw TransparencyLogError.malformed("tag: \"\(tag)\", expected \"\(Self.tag)\"")
    }
    reporterCode = try reader.string("reporter_code")
    baseID = try reader.string("base_id")
    reportYear = try reader.int32("report_year")
    revision = try reader.int32("revision")
    submissionID = try reader.string("submission_id")
    contentSHA256 = try reader.hash("content_sha256")
    status = try reader.string("status")
    accessionNumber = try reader.string("accession_number")
    receivedAt = LogTimestamp(seconds: try reader.int64("received_at.seconds"), nanos: try reader.int32("received_at.nanos"))
    roundClockAt = LogTimestamp(seconds: try reader.int64("round_clock_at.seconds"), nanos: try reader.int32("round_clock_at.nanos"))
    logIndex = try reader.int64("log_index")
    try reader.finish()
  }
}
