/// The rule codes the aggregator answers with outside the shared rule set (``ValidationRule``):
/// checks of the submission's envelope and of what is already stored. A refusal names its code
/// at the start of the status message and stores nothing. The table in
/// `proto-schemas/README.md` §"Validation rules" lists them with their gRPC status; a test keeps
/// it equal to ``all``.
public struct EnvelopeRule: Sendable, Hashable {
  public let code: String
  /// The gRPC status name, e.g. `INVALID_ARGUMENT`.
  public let status: String
  public let summary: String

  public static let schemaVersion = EnvelopeRule(code: "R-SCHEMA-VERSION", status: "INVALID_ARGUMENT", summary: "a known envelope version")
  public static let submissionID = EnvelopeRule(code: "R-SUBMISSION-ID", status: "INVALID_ARGUMENT", summary: "1..64 characters of [A-Za-z0-9._-]")
  public static let contentHashMismatch = EnvelopeRule(code: "R-CONTENT-HASH-MISMATCH", status: "INVALID_ARGUMENT", summary: "the content hash matches the report")
  public static let requestInvalid = EnvelopeRule(code: "R-REQUEST-INVALID", status: "INVALID_ARGUMENT", summary: "a request the store can file")
  public static let reporterMismatch = EnvelopeRule(code: "R-REPORTER-MISMATCH", status: "PERMISSION_DENIED", summary: "the reporter is the authenticated one")
  public static let submissionIDReused = EnvelopeRule(code: "R-SUBMISSION-ID-REUSED", status: "ALREADY_EXISTS", summary: "an id names one content")
  public static let revisionConflict = EnvelopeRule(code: "R-REVISION-CONFLICT", status: "ALREADY_EXISTS", summary: "one first revision per base and year")
  public static let revisionStale = EnvelopeRule(code: "R-REVISION-STALE", status: "FAILED_PRECONDITION", summary: "a correction replaces the latest revision")
  public static let revisionGap = EnvelopeRule(code: "R-REVISION-GAP", status: "FAILED_PRECONDITION", summary: "revisions follow each other")
  public static let revisionInvalid = EnvelopeRule(code: "R-REVISION-INVALID", status: "FAILED_PRECONDITION", summary: "revisions start at 1")

  /// Every envelope rule, in the order of the README's table.
  public static let all: [EnvelopeRule] = [
    .schemaVersion, .submissionID, .contentHashMismatch, .requestInvalid, .reporterMismatch,
    .submissionIDReused, .revisionConflict, .revisionStale, .revisionGap, .revisionInvalid,
  ]

  /// Submission ids are 1..64 characters of [A-Za-z0-9._-] (`Submission.submission_id`).
  public static func isValidSubmissionID(_ id: String) -> Bool {
    (1...64).contains(id.utf8.count)
      && id.utf8.allSatisfy { byte in
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
          || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
      }
  }
}
