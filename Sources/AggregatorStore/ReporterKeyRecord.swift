/// A CurveZMQ public key registered for a reporter's node.
public struct ReporterKeyRecord: Sendable, Hashable {
  /// The 32-byte Curve25519 public key in Z85 text (40 characters). Unique across reporters.
  public var publicKeyZ85: String
  public var reporterCode: String
  /// Free text for operators, e.g. "node host gz-drc-01, issued 2025-01".
  public var comment: String
  /// When the key was registered, microseconds since 1970-01-01T00:00:00Z.
  public var registeredAtMicros: Int64
  /// When the key was retired (refused from then on); nil while it is valid.
  public var retiredAtMicros: Int64?

  public init(
    publicKeyZ85: String,
    reporterCode: String,
    comment: String,
    registeredAtMicros: Int64,
    retiredAtMicros: Int64?
  ) {
    self.publicKeyZ85 = publicKeyZ85
    self.reporterCode = reporterCode
    self.comment = comment
    self.registeredAtMicros = registeredAtMicros
    self.retiredAtMicros = retiredAtMicros
  }

  /// True while the key is not retired.
  public var isActive: Bool { retiredAtMicros == nil }
}

extension ReporterKeyRecord {
  /// True for 40 characters of the Z85 alphabet (a CurveZMQ public key).
  package static func isZ85Key(_ text: String) -> Bool {
    let alphabet = Set(
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
    return text.utf8.count == 40 && text.utf8.allSatisfy(alphabet.contains)
  }
}
