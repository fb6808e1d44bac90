public import HiTechSchema

/// A claimed message ready to send, as ``Spool/next()`` hands it to the sender.
public struct OutgoingMessage: Sendable {
  /// The submission id: stable across every retry and restart (recorded in the journal
  /// before the message was ever handed out).
  public var id: String
  /// The arrival sequence number (order of claiming; lower first).
  public var sequence: UInt64
  /// The file's name in claimed/ (`0000000042_x.json`).
  public var fileName: String
  /// The submission to send: the file's, with `submission_id`, `content_sha256` and (when the
  /// file had none) `created_at` filled in.
  public var submission: Ndrc_Hitech_V1_Submission
  /// `submission` in binary protobuf.
  public var bytes: [UInt8]
  /// Failed attempts so far (``Spool/recordAttempt(id:error:)``), and the last error.
  public var attempts: Int
  public var lastError: String?
}

/// What the spool holds, for the node's status command.
public struct SpoolStatus: Sendable, Hashable, Codable {
  /// Eligible files waiting in outbox/ (not yet claimed).
  public var outbox: Int
  /// Claimed, accepted and not yet sent (includes in flight).
  public var claimed: Int
  /// Handed out by ``Spool/next()`` and not yet marked.
  public var inFlight: Int
  public var sent: Int
  public var rejected: Int
  public var quarantined: Int
  /// Waiting to be sent and not in flight: outbox/ plus claimed/, less what is in flight.
  public var queued: Int { outbox + claimed - inFlight }
  /// The receipt (JSON) of the last message marked sent.
  public var lastReceipt: String?
  /// The last error recorded (a failed attempt, a refusal, a lost file).
  public var lastError: String?
}

/// What one claim pass did, by original file name.
public struct ClaimSummary: Sendable, Hashable {
  public struct Claimed: Sendable, Hashable {
    /// The name the file had in outbox/ (or in claimed/, when recovered).
    public var name: String
    public var id: String
  }

  /// Accepted for sending, in arrival order.
  public var claimed: [Claimed] = []
  /// Refused by the local checks (now in rejected/).
  public var rejected: [String] = []
  /// Unreadable (now in quarantine/).
  public var quarantined: [String] = []

  public init() {}
}
