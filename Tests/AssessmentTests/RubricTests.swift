import Assessment
import Foundation
import HiTechDomain
import Testing

@Suite("Rubric")
struct RubricTests {
  @Test("the standard rubric is valid and sums to 100 %")
  func standard() throws {
    let rubric = try Rubric.standard.validated()
    #expect(rubric.weights.reduce(0) { $0 + $1.weightPPM } == 1_000_000)
    #expect(rubric.targetCount == 100)
    #expect(rubric.outputThreshold == Amount(1000, .cnyHundredMillion))
  }

  @Test("weights not summing to 1 000 000 name the field")
  func sum() {
    var rubric = Fixture.smallRubric
    rubric.weights[0].weightPPM = 200_000
    let error = #expect(throws: RubricError.self) { try rubric.validated() }
    #expect(error?.fields == ["weights"])
    #expect(error?.description.contains("sum to 900000 ppm") == true)
  }

  @Test("thresholds that do not descend name the field")
  func thresholds() {
    var rubric = Fixture.smallRubric
    rubric.thresholds = TierThresholds(excellentMilli: 70_000, goodMilli: 80_000, passMilli: 30_000)
    #expect(throws: RubricError.self) { try rubric.validated() }
    do {
      _ = try rubric.validated()
    } catch {
      #expect(error.fields == ["thresholds.goodMilli"])
      #expect(error.description.contains("thresholds.goodMilli"))
    }
    rubric.thresholds = TierThresholds(excellentMilli: 70_000, goodMilli: 50_000, passMilli: 50_000)
    do {
      _ = try rubric.validated()
      Issue.record("equal thresholds accepted")
    } catch {
      #expect(error.fields == ["thresholds.passMilli"])
    }
  }

  @Test("every problem is reported, each with its field")
  func several() {
    let rubric = Rubric(
      rubricId: " ",
      weights: [
        IndicatorWeight(.totalOutputValue, 500_000), IndicatorWeight(.patentsGranted, 250_000),
        IndicatorWeight(.patentsGranted, 250_000),
      ],
      thresholds: TierThresholds(excellentMilli: 200_000, goodMilli: 50_000, passMilli: 30_000),
      outputThreshold: Amount(1000, .usdHundredMillion), targetCount: -1)
    do {
      _ = try rubric.validated()
      Issue.record("accepted")
    } catch {
      #expect(
        error.fields == [
          "rubricId", "weights[total_output_value].indicator", "weights[patents_granted]",
          "thresholds.excellentMilli", "outputThreshold.unit", "targetCount",
        ])
    }
  }

  @Test("the assessor refuses an invalid rubric")
  func assessorRefuses() {
    var rubric = Fixture.smallRubric
    rubric.weights.removeLast()
    let error = #expect(throws: AssessmentError.self) {
      try Assessor.assess(
        reportYear: 2025, inputs: Fixture.exampleInputs(), expertScores: [], nationalHighTechOutput: nil, rubric: rubric)
    }
    guard case .invalidRubric(let inner) = error else {
      Issue.record("not an invalid rubric: \(String(describing: error))")
      return
    }
    #expect(inner.fields == ["weights"])
  }

  @Test("a rubric reads from JSON; programme fields default")
  func json() throws {
    let text = """
      {"rubricId": "province-pilot", "weights": [
        {"indicator": "rd_intensity", "weightPPM": 600000},
        {"indicator": "expert_judgement", "weightPPM": 400000}],
       "thresholds": {"excellentMilli": 80000, "goodMilli": 65000, "passMilli": 50000}}
      """
    let rubric = try JSONDecoder().decode(Rubric.self, from: Data(text.utf8)).validated()
    #expect(rubric.weight(of: .rdIntensity) == 600_000)
    #expect(rubric.weight(of: .outputGrowth) == 0)
    #expect(rubric.targetCount == 100)
    #expect(rubric.outputThreshold == Rubric.defaultOutputThreshold)
    let again = try JSONDecoder().decode(Rubric.self, from: JSONEncoder().encode(Rubric.standard))
    #expect(again == Rubric.standard)
  }
}
