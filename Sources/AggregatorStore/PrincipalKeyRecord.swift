/// A CurveZMQ public key of a central principal: the coordinator daemon or an NDRC operator.
/// Such a key is admitted by the aggregator's ZAP handler as `role:name` (e.g.
/// "coordinator:central"), never as a reporter: it can call RoundRelay (coordinator) or read
/// arrival status (both), and cannot submit reports.
public struct PrincipalKeyRecord: Sendable, Hashable {
  public enum Role: String, Sendable, Hashable, CaseIterable {
    /// The coordinator daemon: drives rounds over RoundRelay.
    case coordinator
    /// An NDRC operator: reads arrival status of every reporter.
    case `operator`
  }

  /// The 32-byte Curve25519 public key in Z85 text (40 characters).
  public var publicKeyZ85: String
  public var role: Role
  /// A short name without ":" (e.g. "central", "wang.li").
  public var name: String
  public var comment: String
  public var registeredAtMicros: Int64
  public var retiredAtMicros: Int64?

  public init(
    publicKeyZ85: String, role: Role, name: String, comment: String,
    registeredAtMicros: Int64, retiredAtMicros: Int64?
  ) {
    self.publicKeyZ85 = publicKeyZ85
    self.role = role
    self.name = name
    self.comment = comment
    self.registeredAtMicros = registeredAtMicros
    self.retiredAtMicros = retiredAtMicros
  }

  /// The identity the ZAP handler gives connections with this key: "role:name".
  public var identity: String { "\(role.rawValue):\(name)" }
  /// True while the key is not retired.
  public var isActive: Bool { retiredAtMicros == nil }
}
