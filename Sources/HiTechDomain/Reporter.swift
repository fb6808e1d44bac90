/// The kinds of addressee of the guiding opinion: 各省、自治区、直辖市及计划单列市、副省级省会城市、
/// 新疆生产建设兵团发展改革委.
public enum ReporterKind: String, Sendable, Hashable, CaseIterable, Codable {
  /// A provincial-level division (省、自治区、直辖市).
  case provincial
  /// A separately planned city (计划单列市): Dalian, Qingdao, Ningbo, Xiamen, Shenzhen.
  case separatelyPlannedCity = "separately_planned_city"
  /// A sub-provincial provincial capital (副省级省会城市).
  case subProvincialCapital = "sub_provincial_capital"
  /// The Xinjiang Production and Construction Corps (新疆生产建设兵团).
  case xpcc
}

/// A reporter: the development and reform commission of one addressee, identified by its
/// GB/T 2260 administrative division code.
public struct Reporter: Sendable, Hashable, Codable {
  public var code: String
  public var nameZh: String
  public var nameEn: String
  public var kind: ReporterKind
  /// The provincial-level division a city reporter lies in.
  public var parentCode: String?

  public init(code: String, nameZh: String, nameEn: String, kind: ReporterKind, parentCode: String? = nil) {
    self.code = code
    self.nameZh = nameZh
    self.nameEn = nameEn
    self.kind = kind
    self.parentCode = parentCode
  }
}
