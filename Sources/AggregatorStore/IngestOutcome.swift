/// What the store did with an ``IngestRequest``. Every case except `.conflict` carries the receipt
/// to answer with; a storage failure is thrown as a retryable ``StoreError`` instead.
public enum IngestOutcome: Sendable, Hashable {
  /// A new report revision was stored, with a new accession number.
  case accepted(StoredReceipt)
  /// The submission was recorded as rejected (findings kept); it is not a report revision.
  case rejected(StoredReceipt)
  /// The content is already the latest stored revision of (base, year) under another submission
  /// id. A DUPLICATE receipt was stored for the new id (it names the original accession), so
  /// the new id replays too.
  case duplicate(StoredReceipt)
  /// The submission id was seen before with the same content: the receipt stored then.
  case replayed(StoredReceipt)
  /// Refused; nothing was stored.
  case conflict(IngestConflict)

  /// The receipt to answer with, or nil for a conflict.
  public var receipt: StoredReceipt? {
    switch self {
    case .accepted(let r), .rejected(let r), .duplicate(let r), .replayed(let r): r
    case .conflict: nil
    }
  }
}

/// Why a submission was refused by the store (nothing was stored).
public struct IngestConflict: Sendable, Hashable, CustomStringConvertible {
  /// The gRPC status code the service should answer with.
  public enum Code: String, Sendable, Hashable {
    /// ALREADY_EXISTS: the id was used for other content, or a first report already exists.
    case alreadyExists
    /// FAILED_PRECONDITION: the revision does not follow the latest stored revision.
    case failedPrecondition
    /// INVALID_ARGUMENT: the request itself is malformed (e.g. a hash that is not 32 bytes).
    case invalidArgument
  }

  public var code: Code
  /// A stable rule code for a finding: "R-SUBMISSION-ID-REUSED", "R-REVISION-CONFLICT",
  /// "R-REVISION-STALE", "R-REVISION-GAP", "R-REVISION-INVALID", "R-REQUEST-INVALID".
  public var ruleCode: String
  /// What is wrong and what to send instead.
  public var message: String

  public init(code: Code, ruleCode: String, message: String) {
    self.code = code
    self.ruleCode = ruleCode
    self.message = message
  }

  public var description: String { "\(code) \(ruleCode): \(message)" }
}
