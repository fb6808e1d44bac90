import AggregatorStore
import Foundation
import GRPCCore
import HiTechDomain
import HiTechSchema
import SwiftProtobuf

/// The wire form of what the store keeps about applications.
enum ApplicationRecords {
  /// An application as `ApplicationRecord`: the latest revision's envelope (attachments' content
  /// left out unless asked), the evaluations, the score under `weighting`, the decision and the
  /// history.
  static func record(
    _ application: StoredApplication, store: any ApplicationStore, withAttachments: Bool,
    weighting: ApplicationWeighting = .standard
  ) async throws -> Ndrc_Hitech_V1_ApplicationRecord {
    let (revisions, evaluations, decision, history) = try await storeCall {
      (
        try await store.applicationRevisions(applicationId: application.applicationId),
        try await store.evaluations(applicationId: application.applicationId),
        try await store.decision(applicationId: application.applicationId),
        try await store.applicationHistory(applicationId: application.applicationId)
      )
    }
    var record = Ndrc_Hitech_V1_ApplicationRecord()
    record.applicationID = application.applicationId
    record.applicationRef = application.applicationRef
    record.reporterCode = application.reporterCode
    record.callYear = Int32(application.callYear)
    record.status = Ndrc_Hitech_V1_ApplicationStatus(application.state)
    record.revision = Int32(application.latestRevision)
    record.submittedAt = timestamp(application.submittedAtMicros)
    if let latest = revisions.last, var submission = try? Ndrc_Hitech_V1_ApplicationSubmission(serializedBytes: latest.bytes) {
      if !withAttachments {
        for i in submission.application.attachments.indices { submission.application.attachments[i].content = Data() }
      }
      record.latest = submission
    }
    record.evaluations = evaluations.map { evaluation in
      var wire = Ndrc_Hitech_V1_ExpertEvaluation()
      wire.expertID = evaluation.expertId
      wire.scores = EvaluationCriterion.allCases.compactMap { criterion in
        guard let milli = evaluation.scoresMilli[criterion] else { return nil }
        var score = Ndrc_Hitech_V1_CriterionScore()
        score.criterion = Ndrc_Hitech_V1_EvaluationCriterion(rawValue: criterion.rawValue) ?? .unspecified
        score.scoreMilli = milli
        score.comment = evaluation.comments[criterion] ?? ""
        return score
      }
      let single = ApplicationScoring.score([evaluation.criterionScores], weighting: weighting)
      wire.totalScoreMilli = single.scoreMilli
      wire.recommends = evaluation.recommends
      wire.evaluatedAt = timestamp(evaluation.evaluatedAtMicros)
      return wire
    }
    if !evaluations.isEmpty {
      let score = ApplicationScoring.score(evaluations.map(\.criterionScores), weighting: weighting)
      var wire = Ndrc_Hitech_V1_ApplicationScore()
      wire.weightingID = score.weightingId
      wire.experts = Int32(score.experts)
      wire.meanByCriterion = score.meanByCriterionMilli.sorted { $0.key < $1.key }.map { criterion, milli in
        var mean = Ndrc_Hitech_V1_CriterionScore()
        mean.criterion = Ndrc_Hitech_V1_EvaluationCriterion(rawValue: criterion.rawValue) ?? .unspecified
        mean.scoreMilli = milli
        return mean
      }
      wire.scoreMilli = score.scoreMilli
      wire.thresholdMilli = score.thresholdMilli
      wire.recommended = score.recommended
      wire.complete = score.complete
      record.score = wire
    }
    if let decision { record.decision = Ndrc_Hitech_V1_ApplicationDecision(decision) }
    record.history = history.map { change in
      var wire = Ndrc_Hitech_V1_ApplicationStateChange()
      wire.from = change.from.map(Ndrc_Hitech_V1_ApplicationStatus.init) ?? .unspecified
      wire.to = Ndrc_Hitech_V1_ApplicationStatus(change.to)
      wire.at = timestamp(change.atMicros)
      wire.actor = change.actor
      wire.reason = change.reason
      return wire
    }
    return record
  }

  static func timestamp(_ micros: Int64) -> Google_Protobuf_Timestamp {
    Google_Protobuf_Timestamp(seconds: micros / 1_000_000, nanos: Int32(micros % 1_000_000) * 1000)
  }

  /// Runs a store call, answering a refusal of the application rules with its status (the
  /// message starts with the rule code) and a storage failure with UNAVAILABLE.
  static func storeCall<T>(_ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let error as StoreError {
      let code: RPCError.Code =
        switch error.code {
        case .unavailable: .unavailable
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .invalidArgument: .invalidArgument
        case .failedPrecondition: .failedPrecondition
        case .permissionDenied: .permissionDenied
        default: .internalError
        }
      throw RPCError(code: code, message: error.message)
    }
  }
}

extension Ndrc_Hitech_V1_ApplicationStatus {
  init(_ state: ApplicationState) {
    switch state {
    case .submitted: self = .submitted
    case .underEvaluation: self = .underEvaluation
    case .recognised: self = .recognised
    case .notRecognised: self = .notRecognised
    case .withdrawn: self = .withdrawn
    }
  }
}

extension ApplicationState {
  init?(_ status: Ndrc_Hitech_V1_ApplicationStatus) {
    switch status {
    case .submitted: self = .submitted
    case .underEvaluation: self = .underEvaluation
    case .recognised: self = .recognised
    case .notRecognised: self = .notRecognised
    case .withdrawn: self = .withdrawn
    case .unspecified, .UNRECOGNIZED: return nil
    }
  }
}

extension Ndrc_Hitech_V1_ApplicationReceipt {
  init(_ receipt: ApplicationReceiptRecord) {
    self.init()
    applicationID = receipt.applicationId
    submissionID = receipt.submissionId
    applicationRef = receipt.applicationRef
    reporterCode = receipt.reporterCode
    callYear = Int32(receipt.callYear)
    revision = Int32(receipt.revision)
    status = receipt.status == .duplicate ? .duplicate : .accepted
    receivedAt = ApplicationRecords.timestamp(receipt.receivedAtMicros)
    contentSha256 = Data(receipt.contentSHA256)
    duplicateOfSubmissionID = receipt.duplicateOfSubmissionId
    applicationStatus = Ndrc_Hitech_V1_ApplicationStatus(receipt.applicationState)
  }
}

extension Ndrc_Hitech_V1_ApplicationDecision {
  init(_ decision: ApplicationDecisionRecord) {
    self.init()
    recognised = decision.recognised
    var document = Ndrc_Hitech_V1_Recognition()
    document.documentNumber = decision.documentNumber
    if let date = CalendarDate(iso: decision.documentDate) {
      var wire = Ndrc_Hitech_V1_Date()
      wire.year = Int32(date.year)
      wire.month = Int32(date.month)
      wire.day = Int32(date.day)
      document.date = wire
    }
    document.level = .national
    document.issuer = decision.issuer
    self.document = document
    baseID = decision.baseId
    firstReportYear = Int32(decision.firstReportYear)
    reason = decision.reason
    decidedBy = decision.decidedBy
    decidedAt = ApplicationRecords.timestamp(decision.decidedAtMicros)
  }
}

extension Ndrc_Hitech_V1_Finding {
  init(_ finding: Finding) {
    self.init()
    ruleCode = finding.ruleCode
    severity = finding.severity == .error ? .error : .warning
    fieldPath = finding.fieldPath
    message = finding.message
  }
}
