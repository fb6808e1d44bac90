/// The scoring method of an application's evaluation (proto-schemas/APPLICATIONS.md, "The
/// scoring method"): a weight per criterion, the recommendation threshold and the fewest
/// experts. Configuration, with ``standard`` as the documented default.
public struct ApplicationWeighting: Sendable, Hashable, Codable {
  /// e.g. "default-2026.1".
  public var weightingId: String
  /// Parts per million per criterion; all ten, each ≥ 0, summing to 1 000 000.
  public var weightsPPM: [EvaluationCriterion: Int64]
  /// Recognition is recommended at this score or above, milli-points.
  public var thresholdMilli: Int64
  /// The fewest complete evaluations a score (and a decision) needs.
  public var minExperts: Int

  public init(weightingId: String, weightsPPM: [EvaluationCriterion: Int64], thresholdMilli: Int64, minExperts: Int) {
    self.weightingId = weightingId
    self.weightsPPM = weightsPPM
    self.thresholdMilli = thresholdMilli
    self.minExperts = minExperts
  }

  /// The default of APPLICATIONS.md: 10/15/10/10/15/8/8/6/10/8 %, threshold 70 points, 3 experts.
  public static let standard = ApplicationWeighting(
    weightingId: "default-2026.1",
    weightsPPM: [
      .functionalPositioning: 100_000,
      .totalIndustryScale: 150_000,
      .degreeOfClustering: 100_000,
      .growthRate: 100_000,
      .innovationCapacity: 150_000,
      .internationalisation: 80_000,
      .developmentEnvironment: 80_000,
      .developmentGoals: 60_000,
      .developmentPotential: 100_000,
      .localGovernmentSupport: 80_000,
    ],
    thresholdMilli: 70_000,
    minExperts: 3)

  /// What is wrong with this weighting, each naming its key (empty when it is usable).
  public var problems: [String] {
    var problems: [String] = []
    if weightingId.isEmpty { problems.append("weightingId: must not be empty") }
    for criterion in EvaluationCriterion.allCases {
      guard let weight = weightsPPM[criterion] else {
        problems.append("weights.\(criterion.name): missing (all ten criteria need a weight)")
        continue
      }
      if weight < 0 { problems.append("weights.\(criterion.name): \(weight) is negative") }
    }
    let sum = weightsPPM.values.reduce(0, +)
    if sum != 1_000_000 { problems.append("weights: they sum to \(sum) ppm; they must sum to 1000000") }
    if !(0...100_000).contains(thresholdMilli) {
      problems.append("thresholdMilli: \(thresholdMilli) is outside 0...100000")
    }
    if minExperts < 1 { problems.append("minExperts: \(minExperts) is below 1") }
    return problems
  }
}
