/// A reporter as stored: a development and reform commission identified by its GB/T 2260 code
/// (registry.proto `Reporter`, without its keys: see ``ReporterKeyRecord``).
public struct ReporterRecord: Sendable, Hashable {
  /// Which group of the seed's addressees a reporter belongs to. Stored by raw value.
  public enum Kind: String, Sendable, Hashable, CaseIterable {
    case provincial = "provincial"
    case separatelyPlannedCity = "separately_planned_city"
    case subProvincialCapital = "sub_provincial_capital"
    case xpcc = "xpcc"
  }

  /// GB/T 2260 code, e.g. "440300"; "660000" for the XPCC. Never changes.
  public var code: String
  public var nameZh: String
  public var nameEn: String
  public var kind: Kind
  /// The province of a city reporter (e.g. "440000"); nil for a provincial reporter.
  public var parentCode: String?
  /// False when the reporter may no longer connect or report.
  public var active: Bool

  public init(
    code: String,
    nameZh: String,
    nameEn: String,
    kind: Kind,
    parentCode: String? = nil,
    active: Bool = true
  ) {
    self.code = code
    self.nameZh = nameZh
    self.nameEn = nameEn
    self.kind = kind
    self.parentCode = parentCode
    self.active = active
  }
}
