/// One line of the append-only audit log.
public struct AuditEntry: Sendable, Hashable {
  /// Position in the log, strictly increasing, never reused.
  public var id: Int64
  /// When it was recorded, microseconds since 1970-01-01T00:00:00Z.
  public var atMicros: Int64
  /// Who did it: an operator name, "reporter:440300", "seed", ...
  public var actor: String
  /// What was done, dot-separated, e.g. "reporter.upsert", "key.retire", "submission.accepted".
  public var action: String
  /// What it was done to: a reporter code, a base id, a key, a submission id.
  public var subject: String
  /// Free text detail.
  public var detail: String

  public init(id: Int64, atMicros: Int64, actor: String, action: String, subject: String, detail: String) {
    self.id = id
    self.atMicros = atMicros
    self.actor = actor
    self.action = action
    self.subject = subject
    self.detail = detail
  }
}
