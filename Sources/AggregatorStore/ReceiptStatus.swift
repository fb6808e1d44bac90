/// The outcome recorded for a submission (submission.proto `ReceiptStatus`). Stored by raw value.
public enum ReceiptStatus: String, Sendable, Hashable, CaseIterable {
  /// Stored; no findings, or only overridden warnings.
  case accepted = "accepted"
  /// Stored with at least one warning that was not overridden.
  case acceptedWithWarnings = "accepted_with_warnings"
  /// Stored after the round's deadline.
  case acceptedLate = "accepted_late"
  /// Not stored again: identical content is the latest stored revision under another id.
  case duplicate = "duplicate"
  /// Recorded as refused (error findings or policy); never a report revision.
  case rejected = "rejected"

  /// True for the statuses that make a new report revision.
  public var isAccepted: Bool {
    switch self {
    case .accepted, .acceptedWithWarnings, .acceptedLate: true
    case .duplicate, .rejected: false
    }
  }
}
