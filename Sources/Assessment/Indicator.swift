import HiTechDomain

/// An indicator of a base for one year (assessment.proto `Indicator`): a reported figure
/// (六(三)), a derived ratio (四(一)), a growth rate, or the experts' judgement.
///
/// The raw value is the proto name without the `INDICATOR_` prefix, in lower case; it is the
/// text used in rubric JSON, published JSON and CSV headers.
public enum Indicator: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
  /// 生产总产值. Amount.
  case totalOutputValue = "total_output_value"
  /// 增加值. Amount.
  case valueAdded = "value_added"
  /// 出口. Amount.
  case exports
  /// 进口. Amount.
  case imports
  /// 研究与开发投入. Amount.
  case rdExpenditure = "rd_expenditure"
  /// 申请专利数. Count.
  case patentsApplied = "patents_applied"
  /// 授权专利数. Count.
  case patentsGranted = "patents_granted"
  /// R&D / value added (四(一) as read by ``DerivedIndicators/rdIntensityPPM``). ppm.
  case rdIntensity = "rd_intensity"
  /// R&D / total output. ppm.
  case rdToOutput = "rd_to_output"
  /// High-tech product output / all product output (四(一)). ppm.
  case highTechProductShare = "high_tech_product_share"
  /// R&D and engineering staff / employees (四(一)). ppm.
  case rdStaffShare = "rd_staff_share"
  /// (this year's output − last year's) / last year's. ppm, may be negative.
  case outputGrowth = "output_growth"
  /// Growth of value added, like ``outputGrowth``. ppm, may be negative.
  case valueAddedGrowth = "value_added_growth"
  /// Exports + imports, same currency. Amount.
  case totalTrade = "total_trade"
  /// The mean of the experts' scores. Milli-points, 0...100 000.
  case expertJudgement = "expert_judgement"
  /// Exports / total output, same currency only (``DerivedIndicators/exportSharePPM``). ppm.
  /// **Not yet in assessment.proto**: proposed as `INDICATOR_EXPORT_SHARE = 16`.
  case exportShare = "export_share"

  /// The number of the `INDICATOR_…` value in assessment.proto (16 for ``exportShare`` is
  /// proposed, not yet in the schema; protobuf enums are open, so it still round-trips).
  public var protoNumber: Int {
    switch self {
    case .totalOutputValue: 1
    case .valueAdded: 2
    case .exports: 3
    case .imports: 4
    case .rdExpenditure: 5
    case .patentsApplied: 6
    case .patentsGranted: 7
    case .rdIntensity: 8
    case .rdToOutput: 9
    case .highTechProductShare: 10
    case .rdStaffShare: 11
    case .outputGrowth: 12
    case .valueAddedGrowth: 13
    case .totalTrade: 14
    case .expertJudgement: 15
    case .exportShare: 16
    }
  }

  /// Whether a rubric may weight this indicator: ratios, growth rates, patent counts and the
  /// expert judgement. Absolute money figures are shown, not scored (they would only reward size).
  public var isScorable: Bool {
    switch self {
    case .totalOutputValue, .valueAdded, .exports, .imports, .rdExpenditure, .totalTrade: false
    default: true
    }
  }

  /// Chinese name, for the published page.
  public var nameZh: String {
    switch self {
    case .totalOutputValue: "生产总产值"
    case .valueAdded: "增加值"
    case .exports: "出口额"
    case .imports: "进口额"
    case .rdExpenditure: "研究与开发投入"
    case .patentsApplied: "申请专利数"
    case .patentsGranted: "授权专利数"
    case .rdIntensity: "研发投入占增加值比重"
    case .rdToOutput: "研发投入占总产值比重"
    case .highTechProductShare: "高新技术产品产值比重"
    case .rdStaffShare: "研发与工程技术人员比重"
    case .outputGrowth: "总产值增长率"
    case .valueAddedGrowth: "增加值增长率"
    case .totalTrade: "进出口总额"
    case .expertJudgement: "专家评议"
    case .exportShare: "出口占总产值比重"
    }
  }

  /// English name, for the published page.
  public var nameEn: String {
    switch self {
    case .totalOutputValue: "Total output"
    case .valueAdded: "Value added"
    case .exports: "Exports"
    case .imports: "Imports"
    case .rdExpenditure: "R&D expenditure"
    case .patentsApplied: "Patents applied for"
    case .patentsGranted: "Patents granted"
    case .rdIntensity: "R&D / value added"
    case .rdToOutput: "R&D / total output"
    case .highTechProductShare: "High-tech product share"
    case .rdStaffShare: "R&D and engineering staff share"
    case .outputGrowth: "Output growth"
    case .valueAddedGrowth: "Value-added growth"
    case .totalTrade: "Total trade"
    case .expertJudgement: "Expert judgement"
    case .exportShare: "Export share of output"
    }
  }

  /// Schema order (proto number).
  public static func < (lhs: Indicator, rhs: Indicator) -> Bool { lhs.protoNumber < rhs.protoNumber }
}

/// The value of one indicator (assessment.proto `IndicatorValue`): at most one of the four
/// representations is set, the one the indicator's comment names; none when not computable
/// (e.g. growth without last year's report, a ratio with a zero denominator).
public struct IndicatorValue: Sendable, Hashable, Codable {
  public var indicator: Indicator
  /// For money indicators.
  public var amount: Amount?
  /// For count indicators.
  public var count: Int64?
  /// For ratio and growth indicators, parts per million.
  public var ratioPPM: Int64?
  /// For score indicators, thousandths of a point.
  public var scoreMilli: Int64?

  public init(indicator: Indicator, amount: Amount? = nil, count: Int64? = nil, ratioPPM: Int64? = nil, scoreMilli: Int64? = nil) {
    self.indicator = indicator
    self.amount = amount
    self.count = count
    self.ratioPPM = ratioPPM
    self.scoreMilli = scoreMilli
  }

  /// Whether a value is present.
  public var isPresent: Bool { amount != nil || count != nil || ratioPPM != nil || scoreMilli != nil }
}

/// The score a base earned on one weighted indicator (assessment.proto `IndicatorScore`).
public struct IndicatorScore: Sendable, Hashable, Codable {
  public var indicator: Indicator
  /// Score before weighting, milli-points, 0...100 000.
  public var scoreMilli: Int64
  /// The rubric's weight, ppm.
  public var weightPPM: Int64
  /// scoreMilli × weightPPM / 1 000 000, rounded half away from zero.
  public var weightedScoreMilli: Int64

  public init(indicator: Indicator, scoreMilli: Int64, weightPPM: Int64, weightedScoreMilli: Int64) {
    self.indicator = indicator
    self.scoreMilli = scoreMilli
    self.weightPPM = weightPPM
    self.weightedScoreMilli = weightedScoreMilli
  }
}

/// The support tier of a base (assessment.proto `SupportTier`); 六(三): "考核结果将和国家对基地的
/// 扶持力度挂钩".
public enum SupportTier: String, Sendable, Hashable, Codable, CaseIterable {
  /// 优秀.
  case excellent
  /// 良好.
  case good
  /// 合格.
  case pass
  /// 不合格.
  case fail
  /// No accepted report for the year: not scored, not ranked, still listed.
  case notReported = "not_reported"

  /// The number of the `SUPPORT_TIER_…` value in assessment.proto.
  public var protoNumber: Int {
    switch self {
    case .excellent: 1
    case .good: 2
    case .pass: 3
    case .fail: 4
    case .notReported: 5
    }
  }

  public var nameZh: String {
    switch self {
    case .excellent: "优秀"
    case .good: "良好"
    case .pass: "合格"
    case .fail: "不合格"
    case .notReported: "未报送"
    }
  }

  public var nameEn: String {
    switch self {
    case .excellent: "Excellent"
    case .good: "Good"
    case .pass: "Pass"
    case .fail: "Fail"
    case .notReported: "Not reported"
    }
  }
}
