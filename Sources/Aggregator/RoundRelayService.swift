import AggregatorStore
import DaemonSupport
import Foundation
public import GRPCCore
public import HiTechSchema
import Logging
import SwiftProtobuf
public import TransparencyLog

/// The aggregator's `ndrc.hitech.v1.RoundRelay` service: the coordinator tells the aggregator
/// each step of a round (the round's new state and what to announce), and reads what the
/// assessment needs. Only an identity with the coordinator role may call it.
///
/// A step is applied in one store transaction: the round state that admission reads and the
/// notices served to nodes (RoundNotices.Subscribe), addressed from the registry and arrivals
/// of that same instant. A step id applied before changes nothing.
public struct RoundRelayService: Ndrc_Hitech_V1_RoundRelay.SimpleServiceProtocol {
  let database: any ReportStore
  let bell: NoticeBell
  /// Rung after a step is applied, for ArrivalStatus.WatchArrivals (steps are in its log).
  let arrivalBell: NoticeBell?
  let logger: Logger
  let now: @Sendable () -> Int64
  /// Signs a tree head on demand (SignTreeHead); nil: the call answers FAILED_PRECONDITION.
  let treeHeads: TreeHeadSigner?

  /// - Parameter logSigningKey: the aggregator's receipt signing key, for SignTreeHead.
  public init(
    database: any ReportStore,
    bell: NoticeBell,
    arrivalBell: NoticeBell? = nil,
    logSigningKey: LogSigningKey? = nil,
    logger: Logger,
    now: @escaping @Sendable () -> Int64 = AggregatorDatabase.systemNowMicros
  ) {
    self.database = database
    self.bell = bell
    self.arrivalBell = arrivalBell
    self.logger = logger
    self.now = now
    treeHeads = logSigningKey.map {
      TreeHeadSigner(database: database, key: $0, interval: .seconds(60), nowMicros: now, logger: logger)
    }
  }

  public func applyRoundStep(
    request: Ndrc_Hitech_V1_ApplyRoundStepRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ApplyRoundStepResponse {
    let caller = try coordinator(context)
    guard !request.stepID.isEmpty else {
      throw RPCError(code: .invalidArgument, message: "step_id: required")
    }
    let year = Int(request.round.reportYear)
    guard (2000...2999).contains(year) else {
      throw RPCError(code: .invalidArgument, message: "round.report_year: a year 2000..2999, got \(year)")
    }
    guard let state = RoundRecord.State(request.round.state) else {
      throw RPCError(code: .invalidArgument, message: "round.state: required")
    }
    let round = request.round
    let record = RoundRecord(
      reportYear: year,
      state: state,
      latePolicy: round.latePolicy == .acceptMarkLate ? .acceptMarkLate : .refuse,
      opensAtMicros: round.hasOpensAt ? round.opensAt.microsecondsSince1970 : nil,
      deadlineMicros: round.hasDeadline ? round.deadline.microsecondsSince1970 : nil
    )
    let issuedAt = now()
    let announcement = request.announcement
    let applied: AppliedRoundStep
    do {
      applied = try await database.applyRoundStep(
        stepId: request.stepID,
        round: record,
        roundDetail: try round.serializedBytes(),
        actor: caller.actor,
        mark: Self.mark(request, state: state)
      ) { snapshot in
        try Self.notices(for: announcement, round: round, snapshot: snapshot, issuedAt: issuedAt)
      }
    } catch let error as StoreError {
      switch error.code {
      case .failedPrecondition: throw RPCError(code: .failedPrecondition, message: error.message)
      case .invalidArgument: throw RPCError(code: .invalidArgument, message: error.message)
      default: throw RPCError(code: error.isRetryable ? .unavailable : .internalError, message: error.message)
      }
    }
    if !applied.alreadyApplied {
      logger.info(
        "round step applied",
        metadata: [
          "round.year": "\(year)", "round.state": "\(state.rawValue)", "step.id": "\(request.stepID)",
          "notices.reporters": "\(applied.addressedReporterCodes.count)",
        ])
      await bell.ring()
      await arrivalBell?.ring()
    }
    var response = Ndrc_Hitech_V1_ApplyRoundStepResponse()
    response.alreadyApplied = applied.alreadyApplied
    response.appliedAt = Google_Protobuf_Timestamp(microsecondsSince1970: applied.appliedAtMicros)
    response.addressedReporterCodes = applied.addressedReporterCodes
    response.firstNoticeSequence = applied.firstSequence
    response.lastNoticeSequence = applied.lastSequence
    return response
  }

  /// Which step a request is (its announcement; a step without one is ASSESSED when the round
  /// becomes assessed) and the round's calendar it was sent at.
  static func mark(_ request: Ndrc_Hitech_V1_ApplyRoundStepRequest, state: RoundRecord.State) -> RoundStepMark {
    let kind: RoundStepMark.Kind? =
      switch request.announcement {
      case .opened: .opened
      case .reminder: .reminded
      case .closed: .closed
      case .published: .published
      case nil: ArrivalLogRoundStep.kind(recorded: "", state: state, stepId: request.stepID)
      }
    return RoundStepMark(
      kind: kind,
      calendarAtMicros: request.hasCalendarNow ? request.calendarNow.microsecondsSince1970 : nil,
      calendarSpeed: request.calendarSpeed == 0 ? 1 : request.calendarSpeed)
  }

  public func listAssessmentInputs(
    request: Ndrc_Hitech_V1_ListAssessmentInputsRequest,
    response: RPCWriter<Ndrc_Hitech_V1_AssessmentInput>,
    context: ServerContext
  ) async throws {
    _ = try coordinator(context)
    let year = Int(request.reportYear)
    guard (2000...2999).contains(year) else {
      throw RPCError(code: .invalidArgument, message: "report_year: a year 2000..2999, got \(year)")
    }
    let bases = try await storeCall {
      try await database.bases(reporterCode: nil, includeWithdrawn: false).filter { $0.firstReportYear <= year }
        .sorted { $0.baseId < $1.baseId }
    }
    for base in bases {
      let (current, previous) = try await storeCall {
        try await database.latestReports(baseId: base.baseId, reportYear: year)
      }
      var input = Ndrc_Hitech_V1_AssessmentInput()
      input.base = Ndrc_Hitech_V1_Base(base)
      if let current {
        input.report = try Ndrc_Hitech_V1_Submission(serializedBytes: current.originalBytes)
        var receipt = Ndrc_Hitech_V1_Receipt()
        receipt.accessionNumber = current.accessionNumber
        receipt.submissionID = current.submissionId
        receipt.receivedAt = Google_Protobuf_Timestamp(microsecondsSince1970: current.receivedAtMicros)
        receipt.status = Ndrc_Hitech_V1_ReceiptStatus(current.status)
        receipt.revision = Int32(clamping: current.revision)
        receipt.baseID = base.baseId
        receipt.reportYear = Int32(clamping: year)
        receipt.contentSha256 = Data(current.contentSHA256)
        receipt.reporterCode = current.reporterCode
        receipt.late = current.late
        // Its leaf in the submissions log: what the published results name (log index).
        receipt.logIndex = -1
        if let entry = try await storeCall({ try await database.logEntry(.accessionNumber(current.accessionNumber)) }) {
          receipt.attestation = Data(entry.attestation)
          receipt.logIndex = Int64(entry.logIndex)
        }
        input.receipt = receipt
      }
      if let previous {
        input.previousYearReport = try Ndrc_Hitech_V1_Submission(serializedBytes: previous.originalBytes)
      }
      try await response.write(input)
    }
  }

  public func signTreeHead(
    request: Ndrc_Hitech_V1_SignTreeHeadRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_SignedTreeHead {
    _ = try coordinator(context)
    guard let treeHeads else {
      throw RPCError(code: .failedPrecondition, message: "this aggregator has no receipt signing key to sign tree heads with")
    }
    // A head of the whole log as it is now: signed now if the latest signed head is smaller.
    let head = try await storeCall { () -> StoredTreeHead? in
      if let signed = try await treeHeads.signIfGrown() { return signed }
      return try await database.latestTreeHead()
    }
    guard let head else {
      throw RPCError(code: .notFound, message: "the submissions log is empty: no report has been stored")
    }
    return Ndrc_Hitech_V1_SignedTreeHead(head)
  }

  // MARK: - Addressing notices

  /// The notices of one step, addressed from the snapshot taken in the step's transaction.
  static func notices(
    for announcement: Ndrc_Hitech_V1_ApplyRoundStepRequest.OneOf_Announcement?,
    round: Ndrc_Hitech_V1_Round,
    snapshot: RoundStepSnapshot,
    issuedAt: Int64
  ) throws -> [OutgoingNotice] {
    guard let announcement else { return [] }
    let expected = Dictionary(grouping: snapshot.expectedBases, by: \.reporterCode)
    let missing = Dictionary(
      grouping: snapshot.status.bases.filter { $0.state == .missing || $0.state == .rejected },
      by: \.reporterCode
    ).mapValues { $0.map(\.baseId).sorted() }

    func notice(_ body: (inout Ndrc_Hitech_V1_RoundNotice) -> Void) -> Ndrc_Hitech_V1_RoundNotice {
      var notice = Ndrc_Hitech_V1_RoundNotice()
      notice.issuedAt = Google_Protobuf_Timestamp(microsecondsSince1970: issuedAt)
      notice.reportYear = round.reportYear
      body(&notice)
      return notice
    }

    var result: [(String, Ndrc_Hitech_V1_RoundNotice)] = []
    switch announcement {
    case .opened:
      for reporter in expected.keys.sorted() {
        result.append((reporter, notice {
          var opened = Ndrc_Hitech_V1_RoundOpened()
          opened.round = round
          opened.expectedBases = (expected[reporter] ?? []).map(Ndrc_Hitech_V1_Base.init)
          $0.opened = opened
        }))
      }
    case .reminder(let reminder):
      for reporter in missing.keys.sorted() {
        result.append((reporter, notice {
          var body = Ndrc_Hitech_V1_ReminderNotice()
          body.reporterCode = reporter
          body.missingBaseIds = missing[reporter] ?? []
          body.deadline = round.deadline
          body.beforeDeadline = reminder.beforeDeadline
          $0.reminder = body
        }))
      }
    case .closed:
      for reporter in expected.keys.sorted() {
        result.append((reporter, notice {
          var body = Ndrc_Hitech_V1_RoundClosed()
          body.closedAt = Google_Protobuf_Timestamp(microsecondsSince1970: issuedAt)
          body.latePolicy = round.latePolicy
          body.missingBaseIds = missing[reporter] ?? []
          $0.closed = body
        }))
      }
    case .published(let published):
      let results = Dictionary(grouping: published.results, by: \.reporterCode)
      for reporter in Set(expected.keys).union(results.keys).sorted() where !reporter.isEmpty {
        result.append((reporter, notice {
          var body = Ndrc_Hitech_V1_ResultsPublished()
          body.publishedAt = Google_Protobuf_Timestamp(microsecondsSince1970: issuedAt)
          body.results = (results[reporter] ?? []).sorted { $0.baseID < $1.baseID }
          body.publicationRef = published.publicationRef
          $0.published = body
        }))
      }
    }
    return try result.map { OutgoingNotice(reporterCode: $0.0, bytes: try $0.1.serializedBytes()) }
  }

  // MARK: - Edges

  private func coordinator(_ context: ServerContext) throws -> CallerIdentity {
    let caller = try CallerIdentity.of(context)
    guard case .coordinator = caller else {
      throw RPCError(code: .permissionDenied, message: "RoundRelay is for the coordinator; \(caller.actor) may not call it")
    }
    return caller
  }
}
