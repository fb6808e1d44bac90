import HiTechDomain

/// An application's state (`ApplicationStatus` in assessment.proto). Stored by raw value.
public enum ApplicationState: String, Sendable, Hashable, CaseIterable {
  case submitted = "submitted"
  case underEvaluation = "under_evaluation"
  case recognised = "recognised"
  case notRecognised = "not_recognised"
  case withdrawn = "withdrawn"

  /// RECOGNISED, NOT_RECOGNISED and WITHDRAWN are final.
  public var isFinal: Bool { self == .recognised || self == .notRecognised || self == .withdrawn }
}

/// What is applied for (`ApplicationKind`). Stored by raw value.
public enum ApplicationKindRecord: String, Sendable, Hashable, CaseIterable {
  case newNationalBase = "new_national_base"
  case upgradeToNational = "upgrade_to_national"
}

/// A call for applications with its state (`ApplicationCall`).
public struct ApplicationCallRecord: Sendable, Hashable {
  /// Stored by raw value.
  public enum State: String, Sendable, Hashable, CaseIterable {
    case planned, open, closed, evaluating, evaluated
  }

  public var callYear: Int
  public var state: State
  public var opensAtMicros: Int64?
  public var closesAtMicros: Int64?
  public var evaluationStartsAtMicros: Int64?
  public var evaluationEndsAtMicros: Int64?

  public init(
    callYear: Int, state: State, opensAtMicros: Int64? = nil, closesAtMicros: Int64? = nil,
    evaluationStartsAtMicros: Int64? = nil, evaluationEndsAtMicros: Int64? = nil
  ) {
    self.callYear = callYear
    self.state = state
    self.opensAtMicros = opensAtMicros
    self.closesAtMicros = closesAtMicros
    self.evaluationStartsAtMicros = evaluationStartsAtMicros
    self.evaluationEndsAtMicros = evaluationEndsAtMicros
  }
}

/// The base as an application proposes it (the columns a recognition registers).
public struct ProposedBaseRecord: Sendable, Hashable {
  public var nameZh: String
  public var nameEn: String
  public var kind: BaseRecord.Kind
  /// In the registry's spelling ("information", "new_energy", …), no duplicates.
  public var fields: [String]
  public var cityCode: String
  public var cityNameZh: String

  public init(nameZh: String, nameEn: String, kind: BaseRecord.Kind, fields: [String], cityCode: String, cityNameZh: String) {
    self.nameZh = nameZh
    self.nameEn = nameEn
    self.kind = kind
    self.fields = fields
    self.cityCode = cityCode
    self.cityNameZh = cityNameZh
  }
}

/// One application revision to store, checked by the service (the store checks the envelope
/// rules, the call and the state).
public struct ApplicationFiling: Sendable, Hashable {
  public var submissionId: String
  /// The authenticated applicant.
  public var reporterCode: String
  public var applicationRef: String
  public var callYear: Int
  public var revision: Int
  public var replacesRevision: Int
  public var kind: ApplicationKindRecord
  /// The upgraded base; empty for a new base.
  public var upgradesBaseId: String
  public var proposedBase: ProposedBaseRecord
  /// SHA-256 of the form's deterministic encoding, 32 bytes.
  public var contentSHA256: [UInt8]
  /// The serialized `ApplicationSubmission` as received.
  public var bytes: [UInt8]

  public init(
    submissionId: String, reporterCode: String, applicationRef: String, callYear: Int, revision: Int,
    replacesRevision: Int, kind: ApplicationKindRecord, upgradesBaseId: String, proposedBase: ProposedBaseRecord,
    contentSHA256: [UInt8], bytes: [UInt8]
  ) {
    self.submissionId = submissionId
    self.reporterCode = reporterCode
    self.applicationRef = applicationRef
    self.callYear = callYear
    self.revision = revision
    self.replacesRevision = replacesRevision
    self.kind = kind
    self.upgradesBaseId = upgradesBaseId
    self.proposedBase = proposedBase
    self.contentSHA256 = contentSHA256
    self.bytes = bytes
  }
}

/// The receipt of a stored filing (`ApplicationReceipt` without its signature).
public struct ApplicationReceiptRecord: Sendable, Hashable {
  public enum Status: String, Sendable, Hashable {
    case accepted, duplicate
  }

  public var applicationId: String
  public var submissionId: String
  public var applicationRef: String
  public var reporterCode: String
  public var callYear: Int
  /// The revision stored (a duplicate: the original's).
  public var revision: Int
  public var status: Status
  public var receivedAtMicros: Int64
  public var contentSHA256: [UInt8]
  /// For a duplicate: the original's submission id.
  public var duplicateOfSubmissionId: String
  /// The application's state when this receipt was made.
  public var applicationState: ApplicationState

  package init(applicationId: String, submissionId: String, applicationRef: String, reporterCode: String, callYear: Int, revision: Int, status: Status, receivedAtMicros: Int64, contentSHA256: [UInt8], duplicateOfSubmissionId: String, applicationState: ApplicationState) {
    self.applicationId = applicationId
    self.submissionId = submissionId
    self.applicationRef = applicationRef
    self.reporterCode = reporterCode
    self.callYear = callYear
    self.revision = revision
    self.status = status
    self.receivedAtMicros = receivedAtMicros
    self.contentSHA256 = contentSHA256
    self.duplicateOfSubmissionId = duplicateOfSubmissionId
    self.applicationState = applicationState
  }
}

/// What the store did with a filing.
public enum ApplicationFilingOutcome: Sendable, Hashable {
  /// A new revision was stored.
  case accepted(ApplicationReceiptRecord)
  /// The content is the latest revision's under another id; the new id was recorded.
  case duplicate(ApplicationReceiptRecord)
  /// The submission id was seen before with the same content: the receipt then.
  case replayed(ApplicationReceiptRecord)
  /// Refused; nothing stored.
  case conflict(IngestConflict)

  public var receipt: ApplicationReceiptRecord? {
    switch self {
    case .accepted(let r), .duplicate(let r), .replayed(let r): r
    case .conflict: nil
    }
  }
}

/// An application as stored, with its latest revision.
public struct StoredApplication: Sendable, Hashable {
  /// "APP-2026-000007".
  public var applicationId: String
  public var applicationRef: String
  public var reporterCode: String
  public var callYear: Int
  public var kind: ApplicationKindRecord
  public var upgradesBaseId: String
  public var state: ApplicationState
  public var latestRevision: Int
  public var submittedAtMicros: Int64
  public var updatedAtMicros: Int64
  /// The latest revision's proposed base.
  public var proposedBase: ProposedBaseRecord

  package init(applicationId: String, applicationRef: String, reporterCode: String, callYear: Int, kind: ApplicationKindRecord, upgradesBaseId: String, state: ApplicationState, latestRevision: Int, submittedAtMicros: Int64, updatedAtMicros: Int64, proposedBase: ProposedBaseRecord) {
    self.applicationId = applicationId
    self.applicationRef = applicationRef
    self.reporterCode = reporterCode
    self.callYear = callYear
    self.kind = kind
    self.upgradesBaseId = upgradesBaseId
    self.state = state
    self.latestRevision = latestRevision
    self.submittedAtMicros = submittedAtMicros
    self.updatedAtMicros = updatedAtMicros
    self.proposedBase = proposedBase
  }
}

/// One stored revision.
public struct StoredApplicationRevision: Sendable, Hashable {
  public var applicationId: String
  public var revision: Int
  public var submissionId: String
  public var contentSHA256: [UInt8]
  public var receivedAtMicros: Int64
  /// The serialized `ApplicationSubmission` as received.
  public var bytes: [UInt8]

  package init(applicationId: String, revision: Int, submissionId: String, contentSHA256: [UInt8], receivedAtMicros: Int64, bytes: [UInt8]) {
    self.applicationId = applicationId
    self.revision = revision
    self.submissionId = submissionId
    self.contentSHA256 = contentSHA256
    self.receivedAtMicros = receivedAtMicros
    self.bytes = bytes
  }
}

/// One change of an application's state.
public struct ApplicationStateChangeRecord: Sendable, Hashable {
  /// Nil for the first filing.
  public var from: ApplicationState?
  public var to: ApplicationState
  public var atMicros: Int64
  public var actor: String
  public var reason: String

  package init(from: ApplicationState?, to: ApplicationState, atMicros: Int64, actor: String, reason: String) {
    self.from = from
    self.to = to
    self.atMicros = atMicros
    self.actor = actor
    self.reason = reason
  }
}

/// An expert of the pool (`Expert`).
public struct ExpertRecord: Sendable, Hashable {
  public var expertId: String
  public var name: String
  /// "economic", "technical" or "other".
  public var domain: String
  /// GB/T 2260 code of the expert's province (…0000, or 660000).
  public var provinceCode: String
  public var active: Bool

  public init(expertId: String, name: String, domain: String, provinceCode: String, active: Bool = true) {
    self.expertId = expertId
    self.name = name
    self.domain = domain
    self.provinceCode = provinceCode
    self.active = active
  }
}

/// One expert's evaluation of an application (`ExpertEvaluation`).
public struct ExpertEvaluationRecord: Sendable, Hashable {
  public var applicationId: String
  public var expertId: String
  /// Milli-points per criterion, all ten.
  public var scoresMilli: [EvaluationCriterion: Int64]
  /// Comments per criterion (absent = none).
  public var comments: [EvaluationCriterion: String]
  public var recommends: Bool
  /// Set by the store when recorded.
  public var evaluatedAtMicros: Int64
  /// Who entered it.
  public var actor: String

  public init(
    applicationId: String, expertId: String, scoresMilli: [EvaluationCriterion: Int64],
    comments: [EvaluationCriterion: String] = [:], recommends: Bool, evaluatedAtMicros: Int64 = 0, actor: String = ""
  ) {
    self.applicationId = applicationId
    self.expertId = expertId
    self.scoresMilli = scoresMilli
    self.comments = comments
    self.recommends = recommends
    self.evaluatedAtMicros = evaluatedAtMicros
    self.actor = actor
  }

  public var criterionScores: CriterionScores { CriterionScores(expertId: expertId, scoresMilli: scoresMilli) }
}

/// The NDRC's decision (`ApplicationDecision`), with the score it was taken on.
public struct ApplicationDecisionRecord: Sendable, Hashable {
  public var applicationId: String
  public var recognised: Bool
  public var documentNumber: String
  /// "YYYY-MM-DD".
  public var documentDate: String
  public var issuer: String
  /// The base registered (new) or re-levelled (upgrade); empty when not recognised. For an
  /// upgrade the store fills it in.
  public var baseId: String
  /// For a new base; 0 = the document date's year (the store fills it in).
  public var firstReportYear: Int
  public var reason: String
  /// Filled in by the store: the score, whether recommended, under which weighting.
  public var scoreMilli: Int64
  public var recommended: Bool
  public var weightingId: String
  public var decidedBy: String
  public var decidedAtMicros: Int64

  public init(
    applicationId: String, recognised: Bool, documentNumber: String, documentDate: String,
    issuer: String = "国家发展改革委", baseId: String = "", firstReportYear: Int = 0, reason: String = "",
    scoreMilli: Int64 = 0, recommended: Bool = false, weightingId: String = "", decidedBy: String = "",
    decidedAtMicros: Int64 = 0
  ) {
    self.applicationId = applicationId
    self.recognised = recognised
    self.documentNumber = documentNumber
    self.documentDate = documentDate
    self.issuer = issuer
    self.baseId = baseId
    self.firstReportYear = firstReportYear
    self.reason = reason
    self.scoreMilli = scoreMilli
    self.recommended = recommended
    self.weightingId = weightingId
    self.decidedBy = decidedBy
    self.decidedAtMicros = decidedAtMicros
  }
}

/// One entry of a base's level history (`LevelChange`).
public struct LevelChangeRecord: Sendable, Hashable {
  public var baseId: String
  /// 0 for the oldest.
  public var position: Int
  public var level: BaseRecord.Level
  /// "YYYY-MM-DD" (may be empty for an entry taken from an imported base without a date).
  public var effectiveDate: String
  public var documentNumber: String
  public var issuer: String
  public var reason: String
  /// The application whose decision made the change; empty otherwise.
  public var applicationId: String
  public var recordedAtMicros: Int64

  package init(baseId: String, position: Int, level: BaseRecord.Level, effectiveDate: String, documentNumber: String, issuer: String, reason: String, applicationId: String, recordedAtMicros: Int64) {
    self.baseId = baseId
    self.position = position
    self.level = level
    self.effectiveDate = effectiveDate
    self.documentNumber = documentNumber
    self.issuer = issuer
    self.reason = reason
    self.applicationId = applicationId
    self.recordedAtMicros = recordedAtMicros
  }
}
