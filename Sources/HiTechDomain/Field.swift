/// The six high-tech fields of the guiding opinion, 一(一): 信息, 生物, 航空航天, 新材料, 新能源, 海洋.
public enum Field: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
  case information
  case biology
  case aerospace
  case newMaterials = "new_materials"
  case newEnergy = "new_energy"
  case ocean

  public var nameZh: String {
    switch self {
    case .information: "信息"
    case .biology: "生物"
    case .aerospace: "航空航天"
    case .newMaterials: "新材料"
    case .newEnergy: "新能源"
    case .ocean: "海洋"
    }
  }

  /// The English name, as the published pages print it beside ``nameZh``.
  public var nameEn: String {
    switch self {
    case .information: "Information"
    case .biology: "Biology"
    case .aerospace: "Aerospace"
    case .newMaterials: "New materials"
    case .newEnergy: "New energy"
    case .ocean: "Ocean"
    }
  }

  public static func < (lhs: Field, rhs: Field) -> Bool {
    allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
  }
}

/// 一(二): a specialized base (专业性) concentrates on one field; a comprehensive base (综合性)
/// gathers several fields in which it leads the country.
public enum BaseKind: String, Sendable, Hashable, CaseIterable, Codable {
  case specialized
  case comprehensive
}

/// 五(八): provincial bases may be upgraded to national level after evaluation.
public enum BaseLevel: String, Sendable, Hashable, CaseIterable, Codable {
  case provincial
  case national
}
