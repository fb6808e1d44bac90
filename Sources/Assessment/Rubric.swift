import HiTechDomain

/// The scoring method of an assessment round (assessment.proto `Rubric`, plus the programme
/// goal of 三(三)). The seed leaves the method open (六(三) "具体办法另行制订"), so this is
/// configuration, read from JSON; ``standard`` is the documented default
/// (proto-schemas/ASSESSMENT.md).
///
/// A rubric is used only after ``validated()``: the weights are scorable indicators, each once,
/// summing to exactly 1 000 000 ppm, and the tier thresholds descend.
public struct Rubric: Sendable, Hashable, Codable {
  /// Identifier and version, e.g. "default-2025.1".
  public var rubricId: String
  /// Free text: how each indicator is scored.
  public var description: String
  /// Indicator weights, ppm, summing to 1 000 000.
  public var weights: [IndicatorWeight]
  /// Minimum totals of the tiers.
  public var thresholds: TierThresholds
  /// 三(三): the output a specialized base must exceed (strictly) to count towards the goal.
  public var outputThreshold: Amount
  /// 三(三): the goal count of specialized bases over ``outputThreshold``.
  public var targetCount: Int64

  public init(
    rubricId: String,
    description: String = "",
    weights: [IndicatorWeight],
    thresholds: TierThresholds,
    outputThreshold: Amount = Rubric.defaultOutputThreshold,
    targetCount: Int64 = Rubric.defaultTargetCount
  ) {
    self.rubricId = rubricId
    self.description = description
    self.weights = weights
    self.thresholds = thresholds
    self.outputThreshold = outputThreshold
    self.targetCount = targetCount
  }

  /// 1000 亿元 (100 billion yuan): 三(三) "产值规模超过千亿元".
  public static let defaultOutputThreshold = Amount(1000, .cnyHundredMillion)

  /// 100. Seed 三(三): "力争经过10年左右的发展，……形成百个左右……产值规模超过千亿元的专业性国家高技术产业
  /// 基地" — within about ten years, about a hundred (百个左右) specialized national bases with
  /// output over 1000 亿元.
  public static let defaultTargetCount: Int64 = 100

  /// The default rubric, "default-2025.1":
  ///
  /// | indicator | weight |
  /// |---|---|
  /// | output growth | 15 % |
  /// | value-added growth | 10 % |
  /// | R&D / total output | 15 % |
  /// | high-tech product share | 15 % |
  /// | R&D and engineering staff share | 10 % |
  /// | patents granted | 10 % |
  /// | export share of output | 5 % |
  /// | expert judgement | 20 % |
  ///
  /// Tiers: excellent ≥ 75 points, good ≥ 60, pass ≥ 40, fail below.
  public static let standard = Rubric(
    rubricId: "default-2025.1",
    description: """
      Data indicators are normalised min-max to 0..100 points within the bases of the same \
      primary field and kind; a group where all values are equal (or of one base) scores 50; a \
      missing indicator scores 0. Expert judgement is the mean of the experts' scores (0..100), \
      not normalised; no expert score scores 0. Total = sum of score × weight.
      """,
    weights: [
      IndicatorWeight(.outputGrowth, 150_000),
      IndicatorWeight(.valueAddedGrowth, 100_000),
      IndicatorWeight(.rdToOutput, 150_000),
      IndicatorWeight(.highTechProductShare, 150_000),
      IndicatorWeight(.rdStaffShare, 100_000),
      IndicatorWeight(.patentsGranted, 100_000),
      IndicatorWeight(.exportShare, 50_000),
      IndicatorWeight(.expertJudgement, 200_000),
    ],
    thresholds: TierThresholds(excellentMilli: 75_000, goodMilli: 60_000, passMilli: 40_000)
  )

  private enum CodingKeys: String, CodingKey {
    case rubricId, description, weights, thresholds, outputThreshold, targetCount
  }

  /// Decodes a rubric; `description`, `outputThreshold` and `targetCount` may be left out
  /// (then: empty, 1000 亿元, 100).
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    rubricId = try container.decode(String.self, forKey: .rubricId)
    description = try container.decodeIfPresent(String.self, forKey: .description) ?? ""
    weights = try container.decode([IndicatorWeight].self, forKey: .weights)
    thresholds = try container.decode(TierThresholds.self, forKey: .thresholds)
    outputThreshold = try container.decodeIfPresent(Amount.self, forKey: .outputThreshold) ?? Self.defaultOutputThreshold
    targetCount = try container.decodeIfPresent(Int64.self, forKey: .targetCount) ?? Self.defaultTargetCount
  }

  /// The weight of `indicator`, 0 when the rubric does not weight it.
  public func weight(of indicator: Indicator) -> Int64 {
    weights.first { $0.indicator == indicator }?.weightPPM ?? 0
  }

  /// This rubric if it is usable; otherwise every problem, each naming its field.
  public func validated() throws(RubricError) -> Rubric {
    var issues: [RubricError.Issue] = []
    func issue(_ field: String, _ message: String) { issues.append(.init(field: field, message: message)) }

    if rubricId.trimmingSpaces.isEmpty { issue("rubricId", "must not be empty") }
    if weights.isEmpty { issue("weights", "must name at least one indicator") }
    var seen: Set<Indicator> = []
    var sum: Int128 = 0
    for weight in weights {
      let field = "weights[\(weight.indicator.rawValue)]"
      if !weight.indicator.isScorable {
        issue("\(field).indicator", "\(weight.indicator.rawValue) is shown, not scored; it cannot be weighted")
      }
      if !seen.insert(weight.indicator).inserted { issue(field, "appears more than once") }
      if weight.weightPPM < 0 || weight.weightPPM > 1_000_000 {
        issue("\(field).weightPPM", "is \(weight.weightPPM); must be in 0...1000000")
      }
      sum += Int128(weight.weightPPM)
    }
    if !weights.isEmpty, sum != 1_000_000 {
      issue("weights", "sum to \(sum) ppm; must sum to exactly 1000000 (100 %)")
    }
    let t = thresholds
    for (name, value) in [("excellentMilli", t.excellentMilli), ("goodMilli", t.goodMilli), ("passMilli", t.passMilli)]
    where value < 0 || value > 100_000 {
      issue("thresholds.\(name)", "is \(value); must be in 0...100000 milli-points")
    }
    if !(t.goodMilli < t.excellentMilli) {
      issue("thresholds.goodMilli", "is \(t.goodMilli); must be below thresholds.excellentMilli (\(t.excellentMilli)): thresholds must descend")
    }
    if !(t.passMilli < t.goodMilli) {
      issue("thresholds.passMilli", "is \(t.passMilli); must be below thresholds.goodMilli (\(t.goodMilli)): thresholds must descend")
    }
    if outputThreshold.unit.currency != .cny {
      issue("outputThreshold.unit", "is \(outputThreshold.unit.rawValue); must be a CNY unit (cny_yuan, cny_ten_thousand, cny_hundred_million)")
    }
    if outputThreshold.value < 0 { issue("outputThreshold.value", "is \(outputThreshold.value); must not be negative") }
    if targetCount < 0 { issue("targetCount", "is \(targetCount); must not be negative") }
    if !issues.isEmpty { throw RubricError(issues: issues) }
    return self
  }
}

/// The weight of one indicator (assessment.proto `IndicatorWeight`).
public struct IndicatorWeight: Sendable, Hashable, Codable {
  public var indicator: Indicator
  /// ppm; a rubric's weights sum to 1 000 000.
  public var weightPPM: Int64

  public init(_ indicator: Indicator, _ weightPPM: Int64) {
    self.indicator = indicator
    self.weightPPM = weightPPM
  }
}

/// Minimum total scores (inclusive, milli-points) of the tiers; below ``passMilli`` is FAIL.
/// As assessment.proto `TierThreshold` entries: EXCELLENT, GOOD, PASS in that order.
public struct TierThresholds: Sendable, Hashable, Codable {
  public var excellentMilli: Int64
  public var goodMilli: Int64
  public var passMilli: Int64

  public init(excellentMilli: Int64, goodMilli: Int64, passMilli: Int64) {
    self.excellentMilli = excellentMilli
    self.goodMilli = goodMilli
    self.passMilli = passMilli
  }

  /// The tier of a total score.
  public func tier(forTotal totalMilli: Int64) -> SupportTier {
    totalMilli >= excellentMilli ? .excellent : totalMilli >= goodMilli ? .good : totalMilli >= passMilli ? .pass : .fail
  }

  /// (tier, minimum) from EXCELLENT down, as the proto's repeated `TierThreshold`.
  public var entries: [(tier: SupportTier, minTotalScoreMilli: Int64)] {
    [(.excellent, excellentMilli), (.good, goodMilli), (.pass, passMilli)]
  }
}

/// Why a rubric cannot be used: every problem found, each naming the field.
public struct RubricError: Error, Sendable, Hashable, CustomStringConvertible {
  /// One problem: the field's path in the rubric JSON and what is wrong.
  public struct Issue: Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String
    public var description: String { "\(field): \(message)" }
  }

  public var issues: [Issue]

  /// The fields named, in the order found.
  public var fields: [String] { issues.map(\.field) }

  public var description: String { "invalid rubric: " + issues.map(\.description).joined(separator: "; ") }
}

extension String {
  var trimmingSpaces: Substring {
    let scalars = unicodeScalars
    guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
    let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
    return Substring(scalars[first...last])
  }
}
