import HiTechDomain

/// What the assessment needs about one base for the year: the base as registered, its latest
/// accepted report (or `nil`: not reported), last year's report for the growth rates, and which
/// revision was assessed.
public struct AssessmentInput: Sendable, Hashable {
  public var base: Base
  /// The latest accepted revision for the year; `nil` when the base did not report.
  public var report: AnnualReport?
  /// The latest accepted revision for the year before; `nil` when none (growth is then absent).
  public var previousYearReport: AnnualReport?
  /// Accession number of the assessed revision; empty when not reported.
  public var accessionNumber: String
  public var revision: Int
  /// The assessed report was accepted late.
  public var late: Bool
  /// The assessed revision's leaf in the submissions log; nil when not reported (or not logged).
  public var logLeaf: SubmissionsLogLeaf?

  public init(
    base: Base,
    report: AnnualReport?,
    previousYearReport: AnnualReport? = nil,
    accessionNumber: String = "",
    revision: Int = 0,
    late: Bool = false,
    logLeaf: SubmissionsLogLeaf? = nil
  ) {
    self.base = base
    self.report = report
    self.previousYearReport = previousYearReport
    self.accessionNumber = accessionNumber
    self.revision = revision
    self.late = late
    self.logLeaf = logLeaf
  }
}

/// Where an assessed report is in the submissions log (proto-schemas/RECEIPTS.md): its leaf's
/// index and the leaf hash (SHA-256 of 0x00 and the receipt's attestation), which the province's
/// signed receipt for that revision gives too.
public struct SubmissionsLogLeaf: Sendable, Hashable, Codable {
  public var index: Int64
  /// Lowercase hex, 64 digits.
  public var leafHash: String

  public init(index: Int64, leafHash: String) {
    self.index = index
    self.leafHash = leafHash
  }
}

/// The signed tree head of the submissions log (proto-schemas/RECEIPTS.md §3) the results were
/// computed from: every assessed report is a leaf below ``treeSize``, so anyone holding the
/// centre's public key can check that the ranking used exactly logged reports.
public struct SubmissionsLogHead: Sendable, Hashable, Codable {
  public var treeSize: UInt64
  /// The RFC 9162 root hash, lowercase hex.
  public var rootHash: String
  /// When it was signed: RFC 3339, UTC, with the nanoseconds of the signed timestamp.
  public var signedAt: String
  public var signingKeyId: String
  /// The signed bytes (the canonical tree-head encoding), base64.
  public var encoded: String
  /// The Ed25519 signature over ``encoded``, base64.
  public var signature: String

  public init(treeSize: UInt64, rootHash: String, signedAt: String, signingKeyId: String, encoded: String, signature: String) {
    self.treeSize = treeSize
    self.rootHash = rootHash
    self.signedAt = signedAt
    self.signingKeyId = signingKeyId
    self.encoded = encoded
    self.signature = signature
  }
}

/// One expert's overall score of one base (assessment.proto `ExpertScore`, plus the base).
/// Several experts may score a base; their scores are averaged.
public struct ExpertScore: Sendable, Hashable, Codable {
  public var baseId: String
  /// The expert's identifier in the pool (never a personal name: it is published).
  public var expertId: String
  /// Thousandths of a point, 0...100 000 (87.5 points = 87 500), as in assessment.proto.
  public var scoreMilli: Int64
  public var comment: String

  public init(baseId: String, expertId: String, scoreMilli: Int64, comment: String = "") {
    self.baseId = baseId
    self.expertId = expertId
    self.scoreMilli = scoreMilli
    self.comment = comment
  }
}

/// The assessment of one base for one year (assessment.proto `BaseAssessment`, plus what the
/// published page shows: name, kind, level, fields and the rank within the primary field).
public struct BaseAssessment: Sendable, Hashable, Codable {
  public var baseId: String
  public var nameZh: String
  public var reportYear: Int
  public var reporterCode: String
  public var kind: BaseKind
  public var level: BaseLevel
  /// The base's fields, in ``Field`` order.
  public var fields: [Field]
  /// The field the base is compared and ranked in (see ``Assessor``).
  public var primaryField: Field
  /// Every indicator in schema order, with its value when computable; empty when not reported.
  public var indicators: [IndicatorValue]
  /// One per weighted indicator, in schema order; empty when not reported.
  public var indicatorScores: [IndicatorScore]
  /// The experts' scores of this base, by expert id.
  public var expertScores: [ExpertScore]
  /// Sum of the weighted scores, milli-points, 0...100 000; 0 when not reported.
  public var totalScoreMilli: Int64
  /// Rank in the round, 1 = best, competition ranking ("1224"); 0 = not ranked.
  public var rank: Int
  /// Number of ranked bases in the round.
  public var rankedCount: Int
  /// Rank among the ranked bases of ``primaryField`` (both kinds); 0 = not ranked.
  public var fieldRank: Int
  /// Number of ranked bases in ``primaryField``.
  public var fieldRankedCount: Int
  public var tier: SupportTier
  /// Empty when not reported.
  public var accessionNumber: String
  public var revision: Int
  public var late: Bool
  /// The assessed revision's leaf in the submissions log; nil when not reported.
  public var logLeaf: SubmissionsLogLeaf? = nil

  /// Whether the base had an accepted report for the year.
  public var reported: Bool { tier != .notReported }

  /// The value of `indicator`, if computed.
  public func value(of indicator: Indicator) -> IndicatorValue? {
    indicators.first { $0.indicator == indicator && $0.isPresent }
  }

  /// The score on `indicator`, if weighted.
  public func score(of indicator: Indicator) -> IndicatorScore? {
    indicatorScores.first { $0.indicator == indicator }
  }
}

/// Progress against the programme goal of 三(三) (assessment.proto `ProgrammeProgress`).
public struct ProgrammeProgress: Sendable, Hashable, Codable {
  public var reportYear: Int
  /// Active (not withdrawn) specialized national bases.
  public var specializedBases: Int64
  /// Of those, bases whose reported total output is strictly above ``outputThreshold``.
  public var specializedBasesOverThreshold: Int64
  public var outputThreshold: Amount
  public var targetCount: Int64
  /// Active comprehensive national bases.
  public var comprehensiveBases: Int64
  /// Bases (any kind and level) with an accepted report for the year.
  public var basesReported: Int64
  /// Sum of the reported CNY total outputs, exactly, in the smallest unit any of them uses.
  public var basesTotalOutput: Amount
  /// 全国高技术产业总产值 for the year, an input; `nil` when not given.
  public var nationalHighTechOutput: Amount?
  /// basesTotalOutput / nationalHighTechOutput, ppm toward zero; `nil` without the national
  /// total (or when it is 0).
  public var shareOfNationalPPM: Int64?
}

/// The assessment of a whole round (assessment.proto `RoundAssessment` without the two
/// timestamps, which the coordinator adds: this module has no clock).
public struct RoundAssessment: Sendable, Hashable, Codable {
  public var reportYear: Int
  public var rubric: Rubric
  /// Every base given, NOT_REPORTED included: by rank, ties by base id, unranked last by base id.
  public var bases: [BaseAssessment]
  public var progress: ProgrammeProgress
  /// The submissions log's signed tree head the inputs were read under (set by the
  /// coordinator); nil when no base reported.
  public var submissionsLog: SubmissionsLogHead? = nil
}

/// Why an assessment cannot be run on the inputs given.
public enum AssessmentError: Error, Sendable, Hashable, CustomStringConvertible {
  case invalidRubric(RubricError)
  /// Two inputs for one base id.
  case duplicateBase(String)
  /// A base with no field: it cannot be compared with anything.
  case baseWithoutFields(String)
  /// An expert score for a base that is not among the inputs.
  case expertScoreForUnknownBase(baseId: String, expertId: String)
  /// One expert scored one base twice.
  case duplicateExpertScore(baseId: String, expertId: String)
  /// A score outside 0...100 000 milli-points, or an empty expert id.
  case invalidExpertScore(baseId: String, expertId: String, scoreMilli: Int64)
  /// The national high-tech output is not in CNY, or is negative.
  case invalidNationalOutput(Amount)
  /// A sum beyond 64 bits (the field named).
  case overflow(String)

  public var description: String {
    switch self {
    case .invalidRubric(let error): error.description
    case .duplicateBase(let id): "inputs: base \(id) appears more than once"
    case .baseWithoutFields(let id): "inputs: base \(id) has no field"
    case .expertScoreForUnknownBase(let base, let expert): "expertScores: expert \(expert) scored base \(base), which is not assessed this round"
    case .duplicateExpertScore(let base, let expert): "expertScores: expert \(expert) scored base \(base) more than once"
    case .invalidExpertScore(let base, let expert, let score):
      "expertScores: expert '\(expert)' on base \(base): score \(score) must be in 0...100000 milli-points and the expert id non-empty"
    case .invalidNationalOutput(let amount): "nationalHighTechOutput: \(amount) must be a non-negative CNY amount"
    case .overflow(let field): "\(field): the sum does not fit in 64 bits"
    }
  }
}
