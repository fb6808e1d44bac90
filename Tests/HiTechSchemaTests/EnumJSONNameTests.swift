import HiTechSchema
import SwiftProtobuf
import Testing

/// The JSON names of enum values are the proto names, prefixed with the enum's name (buf style),
/// as documented in proto-schemas/README.md. These names are part of the file format of a node's
/// outbox (.json report files): they must never change.
@Suite("Enum JSON names")
struct EnumJSONNameTests {
  @Test("MoneyUnit", arguments: [
    (Ndrc_Hitech_V1_MoneyUnit.cnyYuan, "MONEY_UNIT_CNY_YUAN"),
    (.cnyTenThousand, "MONEY_UNIT_CNY_TEN_THOUSAND"),
    (.cnyHundredMillion, "MONEY_UNIT_CNY_HUNDRED_MILLION"),
    (.usd, "MONEY_UNIT_USD"),
    (.usdTenThousand, "MONEY_UNIT_USD_TEN_THOUSAND"),
    (.usdHundredMillion, "MONEY_UNIT_USD_HUNDRED_MILLION"),
  ])
  func moneyUnit(value: Ndrc_Hitech_V1_MoneyUnit, name: String) throws {
    var a = Ndrc_Hitech_V1_Amount()
    a.value = 1
    a.unit = value
    let json = try a.jsonString()
    #expect(json == #"{"value":"1","unit":"\#(name)"}"#)
    #expect(try Ndrc_Hitech_V1_Amount(jsonString: json).unit == value)
  }

  @Test("UNSPECIFIED is the proto3 default: omitted from JSON, but its name parses")
  func unspecifiedOmitted() throws {
    var a = Ndrc_Hitech_V1_Amount()
    a.value = 1
    #expect(try a.jsonString() == #"{"value":"1"}"#)
    let parsed = try Ndrc_Hitech_V1_Amount(jsonString: #"{"value":"1","unit":"MONEY_UNIT_UNSPECIFIED"}"#)
    #expect(parsed.unit == .unspecified)
    #expect(throws: (any Error).self) {
      _ = try Ndrc_Hitech_V1_Amount(jsonString: #"{"unit":"CNY_YUAN"}"#)  // prefix is required
    }
  }

  @Test("Field: the six fields of 一(一)", arguments: [
    (Ndrc_Hitech_V1_Field.information, "FIELD_INFORMATION", 1),
    (.biology, "FIELD_BIOLOGY", 2),
    (.aerospace, "FIELD_AEROSPACE", 3),
    (.newMaterials, "FIELD_NEW_MATERIALS", 4),
    (.newEnergy, "FIELD_NEW_ENERGY", 5),
    (.ocean, "FIELD_OCEAN", 6),
  ])
  func field(value: Ndrc_Hitech_V1_Field, name: String, number: Int) throws {
    var b = Ndrc_Hitech_V1_Base()
    b.fields = [value]
    #expect(try b.jsonString() == #"{"fields":["\#(name)"]}"#)
    #expect(value.rawValue == number)
  }

  @Test("Field has exactly the six fields plus UNSPECIFIED")
  func fieldCases() {
    #expect(Ndrc_Hitech_V1_Field.allCases.count == 7)
  }

  @Test("ReceiptStatus", arguments: [
    (Ndrc_Hitech_V1_ReceiptStatus.accepted, "RECEIPT_STATUS_ACCEPTED"),
    (.acceptedWithWarnings, "RECEIPT_STATUS_ACCEPTED_WITH_WARNINGS"),
    (.acceptedLate, "RECEIPT_STATUS_ACCEPTED_LATE"),
    (.duplicate, "RECEIPT_STATUS_DUPLICATE"),
    (.rejected, "RECEIPT_STATUS_REJECTED"),
  ])
  func receiptStatus(value: Ndrc_Hitech_V1_ReceiptStatus, name: String) throws {
    var r = Ndrc_Hitech_V1_Receipt()
    r.status = value
    #expect(try r.jsonString() == #"{"status":"\#(name)"}"#)
    #expect(try Ndrc_Hitech_V1_Receipt(jsonString: #"{"status":"\#(name)"}"#).status == value)
  }

  @Test("ReporterKind", arguments: [
    (Ndrc_Hitech_V1_ReporterKind.provincial, "REPORTER_KIND_PROVINCIAL"),
    (.separatelyPlannedCity, "REPORTER_KIND_SEPARATELY_PLANNED_CITY"),
    (.subProvincialCapital, "REPORTER_KIND_SUB_PROVINCIAL_CAPITAL"),
    (.xpcc, "REPORTER_KIND_XPCC"),
  ])
  func reporterKind(value: Ndrc_Hitech_V1_ReporterKind, name: String) throws {
    var r = Ndrc_Hitech_V1_Reporter()
    r.kind = value
    #expect(try r.jsonString() == #"{"kind":"\#(name)"}"#)
  }

  @Test("RoundState and LatePolicy", arguments: [
    (Ndrc_Hitech_V1_RoundState.planned, Ndrc_Hitech_V1_LatePolicy.acceptMarkLate,
     #"{"state":"ROUND_STATE_PLANNED","latePolicy":"LATE_POLICY_ACCEPT_MARK_LATE"}"#),
    (.open, .refuse, #"{"state":"ROUND_STATE_OPEN","latePolicy":"LATE_POLICY_REFUSE"}"#),
    (.closed, .refuse, #"{"state":"ROUND_STATE_CLOSED","latePolicy":"LATE_POLICY_REFUSE"}"#),
    (.assessed, .refuse, #"{"state":"ROUND_STATE_ASSESSED","latePolicy":"LATE_POLICY_REFUSE"}"#),
    (.published, .refuse, #"{"state":"ROUND_STATE_PUBLISHED","latePolicy":"LATE_POLICY_REFUSE"}"#),
  ])
  func roundState(state: Ndrc_Hitech_V1_RoundState, policy: Ndrc_Hitech_V1_LatePolicy, json: String)
    throws
  {
    var r = Ndrc_Hitech_V1_Round()
    r.state = state
    r.latePolicy = policy
    #expect(try r.jsonString() == json)
  }

  @Test("SupportTier: four tiers and NOT_REPORTED", arguments: [
    (Ndrc_Hitech_V1_SupportTier.excellent, "SUPPORT_TIER_EXCELLENT"),
    (.good, "SUPPORT_TIER_GOOD"),
    (.pass, "SUPPORT_TIER_PASS"),
    (.fail, "SUPPORT_TIER_FAIL"),
    (.notReported, "SUPPORT_TIER_NOT_REPORTED"),
  ])
  func supportTier(value: Ndrc_Hitech_V1_SupportTier, name: String) throws {
    var a = Ndrc_Hitech_V1_BaseAssessment()
    a.tier = value
    #expect(try a.jsonString() == #"{"tier":"\#(name)"}"#)
  }

  @Test("EvaluationCriterion: the ten criteria of 六(二), in the seed's order")
  func evaluationCriteria() throws {
    let expected = [
      "EVALUATION_CRITERION_FUNCTIONAL_POSITIONING",  // 功能定位
      "EVALUATION_CRITERION_TOTAL_INDUSTRY_SCALE",  // 产业总规模
      "EVALUATION_CRITERION_DEGREE_OF_CLUSTERING",  // 集聚程度
      "EVALUATION_CRITERION_GROWTH_RATE",  // 增长速度
      "EVALUATION_CRITERION_INNOVATION_CAPACITY",  // 创新能力
      "EVALUATION_CRITERION_INTERNATIONALISATION",  // 国际化程度
      "EVALUATION_CRITERION_DEVELOPMENT_ENVIRONMENT",  // 发展环境
      "EVALUATION_CRITERION_DEVELOPMENT_GOALS",  // 发展目标
      "EVALUATION_CRITERION_DEVELOPMENT_POTENTIAL",  // 发展潜力
      "EVALUATION_CRITERION_LOCAL_GOVERNMENT_SUPPORT",  // 地方政府扶持措施
    ]
    let criteria = Ndrc_Hitech_V1_EvaluationCriterion.allCases.filter { $0 != .unspecified }
    #expect(criteria.map(\.rawValue) == Array(1...10))
    var e = Ndrc_Hitech_V1_ExpertEvaluation()
    e.scores = criteria.map { c in
      var s = Ndrc_Hitech_V1_CriterionScore()
      s.criterion = c
      return s
    }
    let json = try e.jsonString()
    let names = expected.map { #"{"criterion":"\#($0)"}"# }.joined(separator: ",")
    #expect(json == #"{"scores":[\#(names)]}"#)
  }
}
