public import AggregatorStore
import HiTechDomain

// The JSON API's shapes. Field names follow arrival_status_service.proto in proto3 JSON's
// lowerCamelCase (`reporterCode`, `lastSubmissionAt`, ...); times are RFC 3339 UTC strings like
// proto3 JSON's Timestamp, absent when unset. Two departures from proto3 JSON, for scripts'
// comfort: counts are JSON numbers (not int64 strings) and enumerations are lower-case words
// (`accepted_late`, not `BASE_ARRIVAL_STATE_ACCEPTED_LATE`).

/// A round as the API shows it (round.proto `Round`, the aggregator's view).
public struct RoundJSON: Codable, Sendable, Hashable {
  public var reportYear: Int
  /// planned, open, closed, assessed or published.
  public var state: String
  /// accept_mark_late or refuse.
  public var latePolicy: String
  public var opensAt: String?
  public var deadline: String?
  public var updatedAt: String?

  public init(_ round: RoundRecord) {
    reportYear = round.reportYear
    state = round.state.rawValue
    latePolicy = round.latePolicy.rawValue
    opensAt = round.opensAtMicros.map(TimeFormat.rfc3339)
    deadline = round.deadlineMicros.map(TimeFormat.rfc3339)
    updatedAt = round.updatedAtMicros > 0 ? TimeFormat.rfc3339(round.updatedAtMicros) : nil
  }
}

/// `GET /api/v1/rounds`.
public struct RoundsJSON: Codable, Sendable, Hashable {
  public var rounds: [RoundJSON]
}

/// A validation finding (common.proto `Finding`).
public struct FindingJSON: Codable, Sendable, Hashable {
  public var ruleCode: String
  /// error or warning.
  public var severity: String
  public var fieldPath: String
  public var message: String
  public var overridden: Bool
  public var overrideExplanation: String

  public init(_ finding: StoredFinding) {
    ruleCode = finding.ruleCode
    severity = finding.severity.rawValue
    fieldPath = finding.fieldPath
    message = finding.message
    overridden = finding.overridden
    overrideExplanation = finding.overrideExplanation
  }
}

/// `ReporterArrival`.
public struct ReporterArrivalJSON: Codable, Sendable, Hashable {
  public var reporterCode: String
  public var nameZh: String
  public var expected: Int
  public var accepted: Int
  public var rejected: Int
  public var missing: Int
  public var late: Int
  public var lastSubmissionAt: String?
  public var rejectedSubmissions: Int

  public init(_ row: ReporterArrivalRow) {
    reporterCode = row.reporterCode
    nameZh = row.nameZh
    expected = row.expected
    accepted = row.accepted
    rejected = row.rejected
    missing = row.missing
    late = row.late
    lastSubmissionAt = row.lastSubmissionAtMicros.map(TimeFormat.rfc3339)
    rejectedSubmissions = row.rejectedSubmissions
  }
}

/// `BaseArrival`, with the base's fields (for the `field` filter).
public struct BaseArrivalJSON: Codable, Sendable, Hashable {
  public var baseId: String
  public var baseNameZh: String
  public var reporterCode: String
  /// missing, rejected, accepted or accepted_late.
  public var state: String
  public var currentRevision: Int
  /// The receipt's accession number of the current revision; empty if none.
  public var accessionNumber: String
  public var acceptedRevisions: Int
  public var rejectedSubmissions: Int
  public var warnings: Int
  public var lastSubmissionAt: String?
  public var lastRejectionFindings: [FindingJSON]
  public var fields: [String]

  public init(_ row: BaseArrivalRow, fields: [String]) {
    baseId = row.baseId
    baseNameZh = row.baseNameZh
    reporterCode = row.reporterCode
    state = ArrivalFilter.name(of: row.state)
    currentRevision = row.currentRevision
    accessionNumber = row.accessionNumber
    acceptedRevisions = row.acceptedRevisions
    rejectedSubmissions = row.rejectedSubmissions
    warnings = row.warnings
    lastSubmissionAt = row.lastSubmissionAtMicros.map(TimeFormat.rfc3339)
    lastRejectionFindings = row.lastRejectionFindings.map(FindingJSON.init)
    self.fields = fields
  }
}

/// `GET /api/v1/rounds/{year}/status` (`RoundStatus`).
public struct RoundStatusJSON: Codable, Sendable, Hashable {
  public var round: RoundJSON
  public var asOf: String
  /// True when the round's deadline has passed (or the round is closed without one).
  public var pastDeadline: Bool
  public var reporters: [ReporterArrivalJSON]
  public var bases: [BaseArrivalJSON]
  /// Sums over `reporters` (`reporterCode` and `nameZh` empty).
  public var totals: ReporterArrivalJSON

  /// The status of `round` (already filtered) at `nowMicros`.
  public init(round: RoundRecord, status: ArrivalStatus, fieldsByBase: [String: [String]], nowMicros: Int64) {
    self.round = RoundJSON(round)
    asOf = TimeFormat.rfc3339(nowMicros)
    pastDeadline = isPastDeadline(round, nowMicros: nowMicros)
    reporters = status.reporters.map(ReporterArrivalJSON.init)
    bases = status.bases.map { BaseArrivalJSON($0, fields: fieldsByBase[$0.baseId, default: []]) }
    totals = ReporterArrivalJSON(ArrivalFilter.totals(status.reporters))
  }
}

/// One rejected submission (`GET /api/v1/rounds/{year}/rejections`).
public struct RejectionJSON: Codable, Sendable, Hashable {
  public var submissionId: String
  public var reporterCode: String
  public var baseId: String
  public var baseNameZh: String
  public var receivedAt: String
  public var findings: [FindingJSON]

  public init(_ row: RejectedSubmissionRow) {
    submissionId = row.submissionId
    reporterCode = row.reporterCode
    baseId = row.baseId
    baseNameZh = row.baseNameZh
    receivedAt = TimeFormat.rfc3339(row.receivedAtMicros)
    findings = row.findings.map(FindingJSON.init)
  }
}

public struct RejectionsJSON: Codable, Sendable, Hashable {
  public var reportYear: Int
  public var rejections: [RejectionJSON]
}

/// One accepted submission that arrived late (`GET /api/v1/rounds/{year}/late`).
public struct LateSubmissionJSON: Codable, Sendable, Hashable {
  public var submissionId: String
  public var accessionNumber: String
  public var reporterCode: String
  public var baseId: String
  public var baseNameZh: String
  public var revision: Int
  public var receivedAt: String

  public init(_ row: LateSubmissionRow) {
    submissionId = row.submissionId
    accessionNumber = row.accessionNumber
    reporterCode = row.reporterCode
    baseId = row.baseId
    baseNameZh = row.baseNameZh
    revision = row.revision
    receivedAt = TimeFormat.rfc3339(row.receivedAtMicros)
  }
}

public struct LateSubmissionsJSON: Codable, Sendable, Hashable {
  public var reportYear: Int
  public var deadline: String?
  public var late: [LateSubmissionJSON]
}

/// One step of the arrivals-over-time series: the `accepted`-th expected base got its first
/// accepted report at `at`.
public struct ArrivalPointJSON: Codable, Sendable, Hashable {
  /// When the aggregator stored it (its receipt's time).
  public var at: String
  /// The same instant on the round's calendar (absent when the calendar is not known).
  public var roundClockAt: String?
  /// Cumulative count of expected bases with an accepted report, this one included.
  public var accepted: Int
  public var baseId: String
  public var reporterCode: String
  public var late: Bool
}

/// `GET /api/v1/rounds/{year}/arrivals`.
public struct ArrivalsJSON: Codable, Sendable, Hashable {
  public var reportYear: Int
  public var opensAt: String?
  public var deadline: String?
  /// Bases expected in the round (the chart's ceiling).
  public var expected: Int
  public var points: [ArrivalPointJSON]
  /// When reminders went out, on the round's calendar.
  public var reminders: [String]
}

/// An audit log line (`GET /api/v1/audit`).
public struct AuditEntryJSON: Codable, Sendable, Hashable {
  public var id: Int64
  public var at: String
  public var actor: String
  public var action: String
  public var subject: String
  public var detail: String

  public init(_ entry: AuditEntry) {
    id = entry.id
    at = TimeFormat.rfc3339(entry.atMicros)
    actor = entry.actor
    action = entry.action
    subject = entry.subject
    detail = entry.detail
  }
}

public struct AuditJSON: Codable, Sendable, Hashable {
  public var entries: [AuditEntryJSON]
}

/// Every error answer of the API: `{"error": {"status": 404, "code": "NOT_FOUND", ...}}`.
public struct ErrorJSON: Codable, Sendable, Hashable {
  public struct Body: Codable, Sendable, Hashable {
    public var status: Int
    /// NOT_FOUND, INVALID_ARGUMENT or INTERNAL (gRPC's names).
    public var code: String
    public var message: String
    /// The query or path parameter at fault (400), or what was not found (404): "year",
    /// "reporter", "state", "field", "limit", "path".
    public var parameter: String?
  }

  public var error: Body
}

// MARK: - Filters over an ArrivalStatus (shared by the dashboard, the API and `hitech status`)

/// The filters an operator can put on a round's arrival status.
public struct ArrivalFilter: Sendable, Hashable {
  /// Only this reporter (GB/T 2260 code).
  public var reporterCode: String?
  /// Only bases in this state.
  public var state: BaseArrivalRow.State?
  /// Only bases working in this field (HiTechDomain `Field` raw value, e.g. "new_energy").
  public var field: String?

  public init(reporterCode: String? = nil, state: BaseArrivalRow.State? = nil, field: String? = nil) {
    self.reporterCode = reporterCode
    self.state = state
    self.field = field
  }

  /// The states' names in the API and on the command line.
  public static let stateNames = ["missing", "rejected", "accepted", "accepted_late"]

  public static func name(of state: BaseArrivalRow.State) -> String {
    switch state {
    case .missing: "missing"
    case .rejected: "rejected"
    case .accepted: "accepted"
    case .acceptedLate: "accepted_late"
    }
  }

  /// The state named `name` ("accepted_late" or "late" for the late one), or nil.
  public static func state(named name: String) -> BaseArrivalRow.State? {
    switch name.lowercased() {
    case "missing": .missing
    case "rejected": .rejected
    case "accepted": .accepted
    case "accepted_late", "late", "acceptedlate": .acceptedLate
    default: nil
    }
  }

  /// The valid field names.
  public static var fieldNames: [String] { Field.allCases.map(\.rawValue) }

  public var isEmpty: Bool { reporterCode == nil && state == nil && field == nil }

  /// The status with only the rows the filter keeps.
  ///
  /// Bases are kept when they match every filter. Reporter rows are those of the reporter
  /// filter (all otherwise); with a `field` filter, their counts are recomputed from the bases of
  /// that field; with a `state` filter, only reporters that have a base in that state are kept
  /// (their counts stay whole).
  public func apply(to status: ArrivalStatus, fieldsByBase: [String: [String]]) -> ArrivalStatus {
    var bases = status.bases
    var reporters = status.reporters
    if let reporterCode {
      bases = bases.filter { $0.reporterCode == reporterCode }
      reporters = reporters.filter { $0.reporterCode == reporterCode }
    }
    if let field {
      bases = bases.filter { fieldsByBase[$0.baseId, default: []].contains(field) }
      let byReporter = Dictionary(grouping: bases, by: \.reporterCode)
      reporters = reporters.compactMap { row in
        guard let own = byReporter[row.reporterCode] else { return nil }
        return Self.counts(row, own)
      }
    }
    if let state {
      bases = bases.filter { $0.state == state }
      let kept = Set(bases.map(\.reporterCode))
      reporters = reporters.filter { kept.contains($0.reporterCode) }
    }
    return ArrivalStatus(reportYear: status.reportYear, reporters: reporters, bases: bases)
  }

  /// A reporter's row recomputed from a subset of its bases.
  static func counts(_ row: ReporterArrivalRow, _ bases: [BaseArrivalRow]) -> ReporterArrivalRow {
    let accepted = bases.filter { $0.state == .accepted || $0.state == .acceptedLate }.count
    return ReporterArrivalRow(
      reporterCode: row.reporterCode,
      nameZh: row.nameZh,
      expected: bases.count,
      accepted: accepted,
      rejected: bases.filter { $0.state == .rejected }.count,
      missing: bases.count - accepted,
      late: bases.filter { $0.state == .acceptedLate }.count,
      lastSubmissionAtMicros: bases.compactMap(\.lastSubmissionAtMicros).max(),
      rejectedSubmissions: bases.reduce(0) { $0 + $1.rejectedSubmissions })
  }

  /// Sums over reporter rows.
  public static func totals(_ reporters: [ReporterArrivalRow]) -> ReporterArrivalRow {
    ReporterArrivalRow(
      reporterCode: "",
      nameZh: "",
      expected: reporters.reduce(0) { $0 + $1.expected },
      accepted: reporters.reduce(0) { $0 + $1.accepted },
      rejected: reporters.reduce(0) { $0 + $1.rejected },
      missing: reporters.reduce(0) { $0 + $1.missing },
      late: reporters.reduce(0) { $0 + $1.late },
      lastSubmissionAtMicros: reporters.compactMap(\.lastSubmissionAtMicros).max(),
      rejectedSubmissions: reporters.reduce(0) { $0 + $1.rejectedSubmissions })
  }
}

/// Whether a round's deadline has passed at `nowMicros`: once it is closed (or assessed, or
/// published), or after its deadline.
public func isPastDeadline(_ round: RoundRecord, nowMicros: Int64) -> Bool {
  switch round.state {
  case .closed, .assessed, .published: return true
  case .planned, .open: return round.deadlineMicros.map { nowMicros > $0 } ?? false
  }
}
