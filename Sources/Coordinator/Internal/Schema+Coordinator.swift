import Assessment
import DaemonSupport
import Foundation
import HiTechDomain
public import HiTechSchema
import SwiftProtobuf
import TransparencyLog

// Mapping between the coordinator's records, the assessment and the wire messages.

extension Google_Protobuf_Timestamp {
  init(_ date: Date) {
    let micros = StoreCodec.micros(date)
    self.init(seconds: micros.floorDiv(1_000_000), nanos: Int32(micros.floorMod(1_000_000) * 1_000))
  }
}

extension Int64 {
  fileprivate func floorDiv(_ d: Int64) -> Int64 { (self >= 0 ? self : self - d + 1) / d }
  fileprivate func floorMod(_ d: Int64) -> Int64 { self - floorDiv(d) * d }
}

extension Ndrc_Hitech_V1_Round {
  /// The round as the aggregator and operators see it: schedule, state, reminders (with
  /// `sent_at` for those applied) and the whole history.
  init(_ round: CoordinatorRound) {
    self.init()
    let schedule = round.schedule
    reportYear = Int32(clamping: round.reportYear)
    opensAt = Google_Protobuf_Timestamp(schedule.opensAt)
    deadline = Google_Protobuf_Timestamp(schedule.deadline)
    state = Ndrc_Hitech_V1_RoundState(round.state)
    latePolicy = schedule.latePolicy == .acceptMarkLate ? .acceptMarkLate : .refuse
    assessmentAt = Google_Protobuf_Timestamp(schedule.assessmentAt)
    publishAt = Google_Protobuf_Timestamp(schedule.publishAt)
    reminders = schedule.reminderOffsets.map { offset in
      var reminder = Ndrc_Hitech_V1_Reminder()
      reminder.beforeDeadline = Google_Protobuf_Duration(seconds: offset)
      reminder.dueAt = Google_Protobuf_Timestamp(schedule.reminderDue(offset))
      let id = RoundStep.id(reportYear: round.reportYear, kind: .reminder, reminderOffset: offset)
      if let step = round.step(id), step.state == .applied, let at = step.appliedAt {
        reminder.sentAt = Google_Protobuf_Timestamp(at)
      }
      return reminder
    }
    history = round.transitions.map { transition in
      var record = Ndrc_Hitech_V1_RoundTransition()
      record.fromState = Ndrc_Hitech_V1_RoundState(transition.from)
      record.toState = Ndrc_Hitech_V1_RoundState(transition.to)
      record.at = Google_Protobuf_Timestamp(transition.at)
      record.reason = transition.reason
      record.actor = transition.actor
      return record
    }
  }
}

extension AssessmentInput {
  /// The assessment's view of one input from the aggregator.
  init(_ input: Ndrc_Hitech_V1_AssessmentInput) {
    let base = input.base
    self.init(
      base: Base(
        id: base.baseID,
        nameZh: base.nameZh,
        reporterCode: base.reporterCode,
        kind: base.kind == .comprehensive ? .comprehensive : .specialized,
        fields: Set(base.fields.compactMap(Field.init)),
        level: base.level == .national ? .national : .provincial,
        recognitionDocument: base.hasRecognition ? base.recognition.documentNumber : "",
        withdrawn: base.status == .withdrawn
      ),
      report: input.hasReport && input.report.hasReport ? AnnualReport(input.report.report) : nil,
      previousYearReport: input.hasPreviousYearReport && input.previousYearReport.hasReport
        ? AnnualReport(input.previousYearReport.report) : nil,
      accessionNumber: input.hasReceipt ? input.receipt.accessionNumber : "",
      revision: input.hasReceipt ? Int(input.receipt.revision) : 0,
      late: input.hasReceipt && input.receipt.late,
      logLeaf: input.hasReceipt && input.receipt.logIndex >= 0 && !input.receipt.attestation.isEmpty
        ? SubmissionsLogLeaf(index: input.receipt.logIndex, leafHash: MerkleTree.leafHash(input.receipt.attestation).hex)
        : nil
    )
  }
}

extension SubmissionsLogHead {
  /// The head as published with the results, after checking that its signed bytes say what its
  /// fields say. (Its signature is for the results' readers to check, with the centre's key.)
  init(_ head: Ndrc_Hitech_V1_SignedTreeHead) throws {
    guard let signed = LogProofCheck.signedFields(head) else {
      throw CoordinatorError(.internalError, "the aggregator's tree head: its signed bytes do not match its fields")
    }
    self.init(
      treeSize: head.treeSize, rootHash: signed.rootHash.hex,
      signedAt: Self.rfc3339(seconds: head.timestamp.seconds, nanos: head.timestamp.nanos),
      signingKeyId: head.signingKeyID, encoded: head.encoded.base64EncodedString(),
      signature: head.signature.base64EncodedString())
  }

  /// 2026-12-03T19:00:00.123456789Z (nanoseconds always printed: one spelling per instant).
  static func rfc3339(seconds: Int64, nanos: Int32) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    return String(
      format: "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!, Int(nanos))
  }
}

extension Ndrc_Hitech_V1_MoneyUnit {
  init(_ unit: MoneyUnit) {
    switch unit {
    case .cnyYuan: self = .cnyYuan
    case .cnyTenThousand: self = .cnyTenThousand
    case .cnyHundredMillion: self = .cnyHundredMillion
    case .usd: self = .usd
    case .usdTenThousand: self = .usdTenThousand
    case .usdHundredMillion: self = .usdHundredMillion
    case .unspecified, .unrecognized: self = .unspecified
    }
  }
}

extension Ndrc_Hitech_V1_BaseAssessment {
  /// A base's published result as sent to its reporter.
  init(_ result: BaseAssessment) {
    self.init()
    baseID = result.baseId
    reportYear = Int32(clamping: result.reportYear)
    reporterCode = result.reporterCode
    indicators = result.indicators.map { value in
      var wire = Ndrc_Hitech_V1_IndicatorValue()
      wire.indicator = Ndrc_Hitech_V1_Indicator(rawValue: value.indicator.protoNumber) ?? .unspecified
      if let amount = value.amount {
        var money = Ndrc_Hitech_V1_Amount()
        money.value = amount.value
        money.unit = Ndrc_Hitech_V1_MoneyUnit(amount.unit)
        wire.amount = money
      } else if let count = value.count {
        wire.count = count
      } else if let ratio = value.ratioPPM {
        wire.ratioPpm = ratio
      } else if let score = value.scoreMilli {
        wire.scoreMilli = score
      }
      return wire
    }
    indicatorScores = result.indicatorScores.map { score in
      var wire = Ndrc_Hitech_V1_IndicatorScore()
      wire.indicator = Ndrc_Hitech_V1_Indicator(rawValue: score.indicator.protoNumber) ?? .unspecified
      wire.scoreMilli = score.scoreMilli
      wire.weightPpm = score.weightPPM
      wire.weightedScoreMilli = score.weightedScoreMilli
      return wire
    }
    expertScores = result.expertScores.map { score in
      var wire = Ndrc_Hitech_V1_ExpertScore()
      wire.expertID = score.expertId
      wire.scoreMilli = score.scoreMilli
      wire.comment = score.comment
      return wire
    }
    totalScoreMilli = result.totalScoreMilli
    rank = Int32(clamping: result.rank)
    rankedCount = Int32(clamping: result.rankedCount)
    tier = Ndrc_Hitech_V1_SupportTier(rawValue: result.tier.protoNumber) ?? .unspecified
    accessionNumber = result.accessionNumber
    revision = Int32(clamping: result.revision)
    late = result.late
  }
}
