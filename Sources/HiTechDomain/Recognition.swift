/// The official document that recognised a base at a level (六(二)) or upgraded it (五(八)),
/// as `Recognition` in registry.proto.
public struct Recognition: Sendable, Hashable, Codable {
  /// As printed, e.g. "发改高技[2009]3211号" (full-width 〔〕 are kept as written).
  public var documentNumber: String
  /// The document's date, when known.
  public var date: CalendarDate?
  /// The level the document grants, when known.
  public var level: BaseLevel?
  /// e.g. "国家发展改革委"; empty when not known.
  public var issuer: String

  public init(documentNumber: String, date: CalendarDate? = nil, level: BaseLevel? = nil, issuer: String = "") {
    self.documentNumber = documentNumber
    self.date = date
    self.level = level
    self.issuer = issuer
  }
}
