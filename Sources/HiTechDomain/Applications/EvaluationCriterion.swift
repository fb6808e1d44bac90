/// The ten criteria of 六(二) an application for recognition is evaluated against, numbered as
/// `EvaluationCriterion` in assessment.proto.
public enum EvaluationCriterion: Int, Sendable, Hashable, Codable, CaseIterable, Comparable {
  /// 功能定位
  case functionalPositioning = 1
  /// 产业总规模
  case totalIndustryScale = 2
  /// 集聚程度
  case degreeOfClustering = 3
  /// 增长速度
  case growthRate = 4
  /// 创新能力
  case innovationCapacity = 5
  /// 国际化程度
  case internationalisation = 6
  /// 发展环境
  case developmentEnvironment = 7
  /// 发展目标
  case developmentGoals = 8
  /// 发展潜力
  case developmentPotential = 9
  /// 地方政府扶持措施
  case localGovernmentSupport = 10

  /// The stable lower-case name used in configuration files and CSV columns, e.g.
  /// `functional_positioning`.
  public var name: String {
    switch self {
    case .functionalPositioning: "functional_positioning"
    case .totalIndustryScale: "total_industry_scale"
    case .degreeOfClustering: "degree_of_clustering"
    case .growthRate: "growth_rate"
    case .innovationCapacity: "innovation_capacity"
    case .internationalisation: "internationalisation"
    case .developmentEnvironment: "development_environment"
    case .developmentGoals: "development_goals"
    case .developmentPotential: "development_potential"
    case .localGovernmentSupport: "local_government_support"
    }
  }

  /// The seed's words.
  public var nameZh: String {
    switch self {
    case .functionalPositioning: "功能定位"
    case .totalIndustryScale: "产业总规模"
    case .degreeOfClustering: "集聚程度"
    case .growthRate: "增长速度"
    case .innovationCapacity: "创新能力"
    case .internationalisation: "国际化程度"
    case .developmentEnvironment: "发展环境"
    case .developmentGoals: "发展目标"
    case .developmentPotential: "发展潜力"
    case .localGovernmentSupport: "地方政府扶持措施"
    }
  }

  public init?(name: String) {
    guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
    self = found
  }

  public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
