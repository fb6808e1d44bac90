/// One expert's scores of an application: all ten criteria, 0…100 000 milli-points each.
public struct CriterionScores: Sendable, Hashable, Codable {
  public var expertId: String
  public var scoresMilli: [EvaluationCriterion: Int64]

  public init(expertId: String, scoresMilli: [EvaluationCriterion: Int64]) {
    self.expertId = expertId
    self.scoresMilli = scoresMilli
  }

  /// True when every criterion has a score in range.
  public var isComplete: Bool {
    EvaluationCriterion.allCases.allSatisfy { scoresMilli[$0].map { (0...100_000).contains($0) } ?? false }
  }
}

/// The score of an application under a weighting (`ApplicationScore` in applications.proto).
public struct ApplicationScoreResult: Sendable, Hashable, Codable {
  public var weightingId: String
  /// Complete evaluations counted.
  public var experts: Int
  /// Mean per criterion over the experts, rounded half away from zero.
  public var meanByCriterionMilli: [EvaluationCriterion: Int64]
  /// Σ weight × mean / 1 000 000, rounded half away from zero.
  public var scoreMilli: Int64
  public var thresholdMilli: Int64
  /// At least `minExperts` complete evaluations.
  public var complete: Bool
  /// Complete and at or above the threshold.
  public var recommended: Bool
}

/// The scoring method of APPLICATIONS.md, with no I/O.
public enum ApplicationScoring {
  /// Scores the complete evaluations (incomplete ones are not counted).
  public static func score(_ evaluations: [CriterionScores], weighting: ApplicationWeighting) -> ApplicationScoreResult {
    let complete = evaluations.filter(\.isComplete)
    var means: [EvaluationCriterion: Int64] = [:]
    var total: Int64 = 0
    if !complete.isEmpty {
      for criterion in EvaluationCriterion.allCases {
        let sum = complete.reduce(Int64(0)) { $0 + ($1.scoresMilli[criterion] ?? 0) }
        let mean = divideRounded(sum, Int64(complete.count))
        means[criterion] = mean
        total += mean * (weighting.weightsPPM[criterion] ?? 0)
      }
    }
    let score = divideRounded(total, 1_000_000)
    let isComplete = complete.count >= weighting.minExperts
    return ApplicationScoreResult(
      weightingId: weighting.weightingId, experts: complete.count, meanByCriterionMilli: means, scoreMilli: score,
      thresholdMilli: weighting.thresholdMilli, complete: isComplete,
      recommended: isComplete && score >= weighting.thresholdMilli)
  }

  /// a / b rounded half away from zero (b > 0).
  static func divideRounded(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    let r = a % b
    if 2 * abs(r) >= b { return q + (a < 0 ? -1 : 1) }
    return q
  }
}

/// The conflict-of-interest rule of APPLICATIONS.md: an expert from the applicant's province
/// may not evaluate its application.
public enum ExpertConflict {
  /// The provincial-level division of a GB/T 2260 code: its first two digits and `0000`; the
  /// XPCC (660000) counts as Xinjiang (650000). Nil for a code that is not six digits.
  public static func province(of code: String) -> String? {
    guard code.utf8.count == 6, code.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    let prefix = String(code.prefix(2))
    return (prefix == "66" ? "65" : prefix) + "0000"
  }

  /// True when the expert may not evaluate an application of `applicantCode`.
  public static func conflicts(expertProvince: String, applicantCode: String) -> Bool {
    guard let expert = province(of: expertProvince), let applicant = province(of: applicantCode) else { return true }
    return expert == applicant
  }
}
