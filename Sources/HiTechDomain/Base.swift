/// A high-tech industrial base as registered: who reports it, what kind it is, and whether
/// it is recognised.
public struct Base: Sendable, Hashable, Codable {
  public var id: String
  public var nameZh: String
  /// The GB/T 2260 code of the reporter that reports this base.
  public var reporterCode: String
  public var kind: BaseKind
  public var fields: Set<Field>
  public var level: BaseLevel
  /// The recognition document, e.g. "发改高技[2009]3211号"; empty when not (yet) recognised.
  public var recognitionDocument: String
  /// Withdrawn bases are no longer recognised and report no more.
  public var withdrawn: Bool

  public init(
    id: String,
    nameZh: String,
    reporterCode: String,
    kind: BaseKind,
    fields: Set<Field>,
    level: BaseLevel,
    recognitionDocument: String = "",
    withdrawn: Bool = false
  ) {
    self.id = id
    self.nameZh = nameZh
    self.reporterCode = reporterCode
    self.kind = kind
    self.fields = fields
    self.level = level
    self.recognitionDocument = recognitionDocument
    self.withdrawn = withdrawn
  }

  /// Recognised and not withdrawn: expected to report.
  public var isRecognised: Bool { !withdrawn }
}
