import HiTechDomain

/// Runs the yearly assessment (六(三)): indicators from the stored reports, scores normalised
/// within comparable bases, weighted totals, ranks, tiers and the programme progress of 三(三).
///
/// The method, in full in proto-schemas/ASSESSMENT.md:
/// - **Primary field**: a specialized base's one field; for a comprehensive base the field with
///   the largest reported `outputByField` (CNY, ties and no data → the first of its fields in
///   ``Field`` order).
/// - **Groups**: reported bases with the same primary field and the same ``BaseKind``.
/// - **Data indicators** are normalised min-max within the group over the bases that have a
///   value: (v − min) × 100 000 / (max − min) milli-points, rounded half up. When max = min
///   (a group of one, or all equal) every base with a value scores the **midpoint, 50 000**.
///   A base without a value (no previous year for growth, a zero denominator, exports in
///   another currency) scores **0** on that indicator.
/// - **Expert judgement** is the mean of the experts' scores (milli-points, half up), not
///   normalised; no expert score → 0.
/// - weighted = score × weight / 1 000 000, half up; total = sum of the weighted scores.
/// - **Ranks**: competition ranking ("1224") by total, in the round and within the primary
///   field; NOT_REPORTED bases are listed with rank 0 and tier NOT_REPORTED.
///
/// Integer arithmetic only; the result depends on nothing but the arguments, and not on their
/// order: every list is sorted explicitly.
public enum Assessor {
  /// Assesses one round. `inputs` are every base expected to report for `reportYear`
  /// (none is dropped); `expertScores` may be empty; `nationalHighTechOutput` is the national
  /// total for the share of 三(三), when known.
  public static func assess(
    reportYear: Int,
    inputs: [AssessmentInput],
    expertScores: [ExpertScore],
    nationalHighTechOutput: Amount?,
    rubric proposed: Rubric
  ) throws(AssessmentError) -> RoundAssessment {
    let rubric: Rubric
    do { rubric = try proposed.validated() } catch { throw .invalidRubric(error) }

    // Inputs: one per base, sorted by id.
    let inputs = inputs.sorted { $0.base.id < $1.base.id }
    for (left, right) in zip(inputs, inputs.dropFirst()) where left.base.id == right.base.id {
      throw .duplicateBase(left.base.id)
    }
    for input in inputs where input.base.fields.isEmpty { throw .baseWithoutFields(input.base.id) }

    // Expert scores: known base, valid score, one per expert and base.
    let ids = Set(inputs.map(\.base.id))
    var expertsByBase: [String: [ExpertScore]] = [:]
    for score in expertScores {
      guard ids.contains(score.baseId) else {
        throw .expertScoreForUnknownBase(baseId: score.baseId, expertId: score.expertId)
      }
      guard (0...100_000).contains(score.scoreMilli), !score.expertId.isEmpty else {
        throw .invalidExpertScore(baseId: score.baseId, expertId: score.expertId, scoreMilli: score.scoreMilli)
      }
      if expertsByBase[score.baseId, default: []].contains(where: { $0.expertId == score.expertId }) {
        throw .duplicateExpertScore(baseId: score.baseId, expertId: score.expertId)
      }
      expertsByBase[score.baseId, default: []].append(score)
    }

    // Indicator values of every reported base.
    var values: [String: [Indicator: IndicatorValue]] = [:]
    var primary: [String: Field] = [:]
    for input in inputs {
      primary[input.base.id] = primaryField(of: input.base, report: input.report)
      if let report = input.report {
        values[input.base.id] = indicatorValues(
          report: report, previous: input.previousYearReport, experts: expertsByBase[input.base.id] ?? [])
      }
    }

    // Min and max per (group, indicator) over the bases with a value.
    struct GroupKey: Hashable { var field: Field; var kind: BaseKind }
    var ranges: [GroupKey: [Indicator: (min: Int128, max: Int128)]] = [:]
    for input in inputs {
      guard let baseValues = values[input.base.id] else { continue }
      let key = GroupKey(field: primary[input.base.id]!, kind: input.base.kind)
      for weight in rubric.weights where weight.indicator != .expertJudgement {
        guard let v = baseValues[weight.indicator].flatMap(numeric) else { continue }
        let old = ranges[key, default: [:]][weight.indicator]
        ranges[key, default: [:]][weight.indicator] = (Swift.min(old?.min ?? v, v), Swift.max(old?.max ?? v, v))
      }
    }

    let scoredIndicators = rubric.weights.sorted { $0.indicator < $1.indicator }
    var results: [BaseAssessment] = []
    for input in inputs {
      let base = input.base
      let experts = (expertsByBase[base.id] ?? []).sorted { $0.expertId < $1.expertId }
      var result = BaseAssessment(
        baseId: base.id, nameZh: base.nameZh, reportYear: reportYear, reporterCode: base.reporterCode,
        kind: base.kind, level: base.level, fields: base.fields.sorted(), primaryField: primary[base.id]!,
        indicators: [], indicatorScores: [], expertScores: experts, totalScoreMilli: 0,
        rank: 0, rankedCount: 0, fieldRank: 0, fieldRankedCount: 0, tier: .notReported,
        accessionNumber: "", revision: 0, late: false)
      if let baseValues = values[base.id] {
        let key = GroupKey(field: result.primaryField, kind: base.kind)
        result.indicators = Indicator.allCases.sorted().map { baseValues[$0] ?? IndicatorValue(indicator: $0) }
        var total: Int64 = 0
        for weight in scoredIndicators {
          let score: Int64
          if weight.indicator == .expertJudgement {
            score = baseValues[.expertJudgement]?.scoreMilli ?? 0
          } else if let v = baseValues[weight.indicator].flatMap(numeric), let range = ranges[key]?[weight.indicator] {
            score = normalised(v, range.min, range.max)
          } else {
            score = 0
          }
          let weighted = Int64(divideHalfUp(Int128(score) * Int128(weight.weightPPM), 1_000_000))
          result.indicatorScores.append(
            IndicatorScore(indicator: weight.indicator, scoreMilli: score, weightPPM: weight.weightPPM, weightedScoreMilli: weighted))
          total += weighted
        }
        result.totalScoreMilli = total
        result.tier = rubric.thresholds.tier(forTotal: total)
        result.accessionNumber = input.accessionNumber
        result.revision = input.revision
        result.late = input.late
        result.logLeaf = input.logLeaf
      }
      results.append(result)
    }

    // Ranks: in the round, then within each primary field.
    rank(&results, indices: Array(results.indices)) { $0.rank = $1; $0.rankedCount = $2 }
    for field in Field.allCases {
      let members = results.indices.filter { results[$0].primaryField == field }
      rank(&results, indices: members) { $0.fieldRank = $1; $0.fieldRankedCount = $2 }
    }
    results.sort { a, b in
      switch (a.rank, b.rank) {
      case (0, 0): a.baseId < b.baseId
      case (0, _): false
      case (_, 0): true
      default: a.rank != b.rank ? a.rank < b.rank : a.baseId < b.baseId
      }
    }

    let progress = try programmeProgress(
      reportYear: reportYear, inputs: inputs, national: nationalHighTechOutput, rubric: rubric)
    return RoundAssessment(reportYear: reportYear, rubric: rubric, bases: results, progress: progress)
  }

  // MARK: - Method

  /// The field a base is grouped and ranked in.
  static func primaryField(of base: Base, report: AnnualReport?) -> Field {
    let fields = base.fields.sorted()
    guard base.kind == .comprehensive, let report else { return fields[0] }
    var best: (field: Field, output: Int128)?
    for field in fields {
      guard let amount = report.outputByField[field], amount.unit.currency == .cny,
        let output = amount.exactBaseUnits
      else { continue }
      if best == nil || output > best!.output { best = (field, output) }
    }
    return best?.field ?? fields[0]
  }

  /// Every computable indicator of a report.
  static func indicatorValues(report: AnnualReport, previous: AnnualReport?, experts: [ExpertScore]) -> [Indicator: IndicatorValue] {
    let derived = report.indicators
    var values: [Indicator: IndicatorValue] = [:]
    func set(_ indicator: Indicator, amount: Amount? = nil, count: Int64? = nil, ratio: Int64? = nil, score: Int64? = nil) {
      let value = IndicatorValue(indicator: indicator, amount: amount, count: count, ratioPPM: ratio, scoreMilli: score)
      if value.isPresent { values[indicator] = value }
    }
    set(.totalOutputValue, amount: report.totalOutput)
    set(.valueAdded, amount: report.valueAdded)
    set(.exports, amount: report.exports)
    set(.imports, amount: report.imports)
    set(.rdExpenditure, amount: report.rdExpenditure)
    set(.patentsApplied, count: report.patentsApplied)
    set(.patentsGranted, count: report.patentsGranted)
    set(.rdIntensity, ratio: derived.rdIntensityPPM)
    set(.rdToOutput, ratio: derived.rdToOutputPPM)
    set(.highTechProductShare, ratio: derived.highTechProductSharePPM)
    set(.rdStaffShare, ratio: derived.rdStaffSharePPM)
    set(.outputGrowth, ratio: growth(report.totalOutput, previous?.totalOutput))
    set(.valueAddedGrowth, ratio: growth(report.valueAdded, previous?.valueAdded))
    set(.totalTrade, amount: sum(report.exports, report.imports))
    set(.exportShare, ratio: derived.exportSharePPM)
    if !experts.isEmpty {
      let total = experts.reduce(Int128(0)) { $0 + Int128($1.scoreMilli) }
      set(.expertJudgement, score: Int64(divideHalfUp(total, Int128(experts.count))))
    }
    return values
  }

  /// (current − previous) × 1 000 000 / previous, toward zero; `nil` without both, across
  /// currencies, or when previous ≤ 0.
  static func growth(_ current: Amount?, _ previous: Amount?) -> Int64? {
    guard let current, let previous, current.isComparable(with: previous),
      let now = current.exactBaseUnits, let then = previous.exactBaseUnits, then > 0, now >= 0
    else { return nil }
    return Int64(exactly: (now - then) * 1_000_000 / then)
  }

  /// a + b in the finer of the two units, same currency only.
  static func sum(_ a: Amount?, _ b: Amount?) -> Amount? {
    guard let a, let b, a.isComparable(with: b), let x = a.exactBaseUnits, let y = b.exactBaseUnits else { return nil }
    let unit = a.unit.baseUnits! <= b.unit.baseUnits! ? a.unit : b.unit
    return Int64(exactly: (x + y) / Int128(unit.baseUnits!)).map { Amount($0, unit) }
  }

  /// The number min-max normalisation works on.
  static func numeric(_ value: IndicatorValue) -> Int128? {
    (value.ratioPPM ?? value.count ?? value.scoreMilli).map { Int128($0) }
  }

  /// (v − min) × 100 000 / (max − min), half up; 50 000 when max = min.
  static func normalised(_ v: Int128, _ min: Int128, _ max: Int128) -> Int64 {
    guard max > min else { return 50_000 }
    return Int64(divideHalfUp((v - min) * 100_000, max - min))
  }

  /// n / d rounded half up, for n ≥ 0, d > 0.
  static func divideHalfUp(_ n: Int128, _ d: Int128) -> Int128 { (2 * n + d) / (2 * d) }

  /// Competition ranking of the reported bases among `indices`, by total descending; the
  /// unreported get rank 0 and the same count.
  private static func rank(_ results: inout [BaseAssessment], indices: [Int], set: (inout BaseAssessment, Int, Int) -> Void) {
    let ranked = indices.filter { results[$0].reported }
      .sorted { (results[$0].totalScoreMilli, results[$1].baseId) > (results[$1].totalScoreMilli, results[$0].baseId) }
    for index in indices where !results[index].reported { set(&results[index], 0, ranked.count) }
    var rank = 0
    for (position, index) in ranked.enumerated() {
      if position == 0 || results[ranked[position - 1]].totalScoreMilli != results[index].totalScoreMilli {
        rank = position + 1
      }
      set(&results[index], rank, ranked.count)
    }
  }

  /// 三(三): specialized bases over the threshold, and the share of national output.
  static func programmeProgress(reportYear: Int, inputs: [AssessmentInput], national: Amount?, rubric: Rubric) throws(AssessmentError) -> ProgrammeProgress {
    let active = inputs.filter { !$0.base.withdrawn && $0.base.level == .national }
    let specialized = active.filter { $0.base.kind == .specialized }
    let over = specialized.filter { $0.report?.totalOutput?.compare(to: rubric.outputThreshold) == .greater }
    let outputs = inputs.compactMap { $0.report?.totalOutput }.filter { $0.unit.currency == .cny }
    let unit = outputs.map(\.unit).min { $0.baseUnits! < $1.baseUnits! } ?? .cnyTenThousand
    let totalBase = outputs.reduce(Int128(0)) { $0 + $1.exactBaseUnits! }
    guard let totalValue = Int64(exactly: totalBase / Int128(unit.baseUnits!)) else {
      throw .overflow("progress.basesTotalOutput")
    }
    var share: Int64?
    if let national {
      guard national.unit.currency == .cny, national.value >= 0 else { throw .invalidNationalOutput(national) }
      let denominator = national.exactBaseUnits!
      if denominator > 0 { share = Int64(exactly: totalBase * 1_000_000 / denominator) }
    }
    return ProgrammeProgress(
      reportYear: reportYear,
      specializedBases: Int64(specialized.count),
      specializedBasesOverThreshold: Int64(over.count),
      outputThreshold: rubric.outputThreshold,
      targetCount: rubric.targetCount,
      comprehensiveBases: Int64(active.count - specialized.count),
      basesReported: Int64(inputs.count { $0.report != nil }),
      basesTotalOutput: Amount(totalValue, unit),
      nationalHighTechOutput: national,
      shareOfNationalPPM: share
    )
  }
}
