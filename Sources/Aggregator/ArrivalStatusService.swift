import AggregatorStore
public import GRPCCore
public import HiTechSchema
import Logging
import SwiftProtobuf

/// The aggregator's `ndrc.hitech.v1.ArrivalStatus` service for operators and the coordinator:
/// which reporters and bases have reported for a round, what was rejected, who is late, which
/// bases are still missing (ListMissing), and the live feed of arrivals (WatchArrivals). A
/// reporter's node may ask for its own rows only.
///
/// WatchArrivals follows the store's arrival log (``ArrivalLog``): the events stored after the
/// position the caller passes, then new ones as they are stored. The ingest service of this
/// process rings `bell` after each stored outcome; outcomes stored by other aggregators on a
/// shared store are seen at the next poll. A stream ends cleanly (OK) after
/// ``maxStreamDuration`` (as RoundNotices does), and the caller resubscribes after the last
/// sequence it saw.
public struct ArrivalStatusService: Ndrc_Hitech_V1_ArrivalStatus.SimpleServiceProtocol {
  let database: any ReportStore
  let logger: Logger
  let now: @Sendable () -> Int64
  let bell: NoticeBell
  let pollInterval: Duration
  let maxStreamDuration: Duration

  public init(
    database: any ReportStore,
    logger: Logger,
    now: @escaping @Sendable () -> Int64 = AggregatorDatabase.systemNowMicros,
    bell: NoticeBell = NoticeBell(),
    pollInterval: Duration = .seconds(2),
    maxStreamDuration: Duration = .seconds(600)
  ) {
    self.database = database
    self.logger = logger
    self.now = now
    self.bell = bell
    self.pollInterval = pollInterval
    self.maxStreamDuration = maxStreamDuration
  }

  public func getRoundStatus(
    request: Ndrc_Hitech_V1_GetRoundStatusRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_RoundStatus {
    let reporterFilter = try Self.reporterFilter(request.reporterCode, of: context, mayOnly: "ask for its own status only")
    let year = Int(request.reportYear)
    guard request.reportYear != 0 else {
      throw RPCError(code: .invalidArgument, message: "report_year: required")
    }
    let asOf = now()
    let (round, detail, reporterKnown, status) = try await storeCall {
      (
        try await database.round(reportYear: year),
        try await database.roundDetail(reportYear: year),
        reporterFilter.isEmpty ? true : try await database.reporter(code: reporterFilter) != nil,
        try await database.arrivalStatus(reportYear: year, reporterCode: reporterFilter.isEmpty ? nil : reporterFilter)
      )
    }
    guard let round else {
      throw RPCError(code: .notFound, message: "report_year: no round for \(year)")
    }
    guard reporterKnown else {
      throw RPCError(code: .notFound, message: "reporter_code: no reporter \(reporterFilter)")
    }
    var response = Ndrc_Hitech_V1_RoundStatus()
    response.round = Ndrc_Hitech_V1_Round(round, detail: detail)
    response.asOf = Google_Protobuf_Timestamp(microsecondsSince1970: asOf)
    response.reporters = status.reporters.map(Ndrc_Hitech_V1_ReporterArrival.init)
    response.bases = status.bases.map(Ndrc_Hitech_V1_BaseArrival.init)
    var totals = Ndrc_Hitech_V1_ReporterArrival()
    for row in response.reporters {
      totals.expected += row.expected
      totals.accepted += row.accepted
      totals.rejected += row.rejected
      totals.missing += row.missing
      totals.late += row.late
      totals.rejectedSubmissions += row.rejectedSubmissions
      if row.hasLastSubmissionAt,
        !totals.hasLastSubmissionAt || row.lastSubmissionAt.microsecondsSince1970 > totals.lastSubmissionAt.microsecondsSince1970
      {
        totals.lastSubmissionAt = row.lastSubmissionAt
      }
    }
    response.totals = totals
    return response
  }

  public func listMissing(
    request: Ndrc_Hitech_V1_ListMissingRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ListMissingResponse {
    let reporterFilter = try Self.reporterFilter(request.reporterCode, of: context, mayOnly: "ask for its own missing bases only")
    guard request.reportYear != 0 else {
      throw RPCError(code: .invalidArgument, message: "report_year: required")
    }
    let year = Int(request.reportYear)
    let (round, reporterKnown, status) = try await storeCall {
      (
        try await database.round(reportYear: year),
        reporterFilter.isEmpty ? true : try await database.reporter(code: reporterFilter) != nil,
        try await database.arrivalStatus(reportYear: year, reporterCode: reporterFilter.isEmpty ? nil : reporterFilter)
      )
    }
    guard let round else {
      throw RPCError(code: .notFound, message: "report_year: no round for \(year)")
    }
    guard reporterKnown else {
      throw RPCError(code: .notFound, message: "reporter_code: no reporter \(reporterFilter)")
    }
    var response = Ndrc_Hitech_V1_ListMissingResponse()
    response.reportYear = request.reportYear
    if let deadline = round.deadlineMicros { response.deadline = Google_Protobuf_Timestamp(microsecondsSince1970: deadline) }
    let missing = Dictionary(grouping: status.bases.filter { $0.state == .missing || $0.state == .rejected }, by: \.reporterCode)
    for row in status.reporters {
      guard let bases = missing[row.reporterCode], !bases.isEmpty else { continue }
      var entry = Ndrc_Hitech_V1_MissingReporter()
      entry.reporterCode = row.reporterCode
      entry.nameZh = row.nameZh
      entry.missingBaseIds = bases.map(\.baseId).sorted()
      if let reminded = try await lastReminder(reporterCode: row.reporterCode, reportYear: year) {
        entry.lastRemindedAt = Google_Protobuf_Timestamp(microsecondsSince1970: reminded)
      }
      response.reporters.append(entry)
      response.missingBases += Int64(bases.count)
    }
    return response
  }

  /// When the latest reminder notice of the round was issued to the reporter, if any.
  private func lastReminder(reporterCode: String, reportYear: Int) async throws -> Int64? {
    var cursor: Int64 = 0
    var latest: Int64?
    while true {
      let batch = try await storeCall {
        try await database.notices(reporterCode: reporterCode, afterSequence: cursor, reportYears: [reportYear], limit: 500)
      }
      for stored in batch {
        cursor = stored.sequence
        if case .reminder? = try Ndrc_Hitech_V1_RoundNotice(serializedBytes: stored.bytes).kind {
          latest = max(latest ?? stored.issuedAtMicros, stored.issuedAtMicros)
        }
      }
      if batch.count < 500 { return latest }
    }
  }

  public func watchArrivals(
    request: Ndrc_Hitech_V1_WatchArrivalsRequest,
    response: RPCWriter<Ndrc_Hitech_V1_ArrivalEvent>,
    context: ServerContext
  ) async throws {
    let reporterFilter = try Self.reporterFilter(request.reporterCode, of: context, mayOnly: "watch its own arrivals only")
    guard !request.hasAfterSequence || request.afterSequence >= 0 else {
      throw RPCError(code: .invalidArgument, message: "after_sequence: 0 or more, got \(request.afterSequence)")
    }
    let (last, reporterKnown) = try await storeCall {
      (
        try await database.lastArrivalSequence(),
        reporterFilter.isEmpty ? true : try await database.reporter(code: reporterFilter) != nil
      )
    }
    guard reporterKnown else {
      throw RPCError(code: .notFound, message: "reporter_code: no reporter \(reporterFilter)")
    }
    let start = request.hasAfterSequence ? request.afterSequence : last
    guard start <= last else {
      throw RPCError(
        code: .outOfRange,
        message: "after_sequence: \(start) is beyond the end of the arrival log (\(last)); resubscribe from now or from 0")
    }
    var started = Ndrc_Hitech_V1_ArrivalEvent()
    started.kind = .started
    started.sequence = start
    started.observedAt = Google_Protobuf_Timestamp(microsecondsSince1970: now())
    try await response.write(started)
    let filter = (year: request.reportYear == 0 ? nil : Int(request.reportYear), reporter: reporterFilter.isEmpty ? nil : reporterFilter)
    // Cancellation of the RPC arrives through its handle, not as task cancellation (as in
    // RoundNoticesService).
    let task = Task {
      try await stream(after: start, filter: filter, to: response)
    }
    try await withRPCCancellationHandler {
      try await task.value
    } onCancelRPC: {
      task.cancel()
    }
  }

  private func stream(
    after start: Int64,
    filter: (year: Int?, reporter: String?),
    to response: RPCWriter<Ndrc_Hitech_V1_ArrivalEvent>
  ) async throws {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: maxStreamDuration)
    let batchSize = 200
    var cursor = start
    while !Task.isCancelled, clock.now < end {
      let rung = await bell.rings
      let batch = try await storeCall {
        try await database.arrivals(afterSequence: cursor, reportYear: filter.year, reporterCode: filter.reporter, limit: batchSize)
      }
      for entry in batch {
        try await response.write(Ndrc_Hitech_V1_ArrivalEvent(entry))
        cursor = entry.sequence
      }
      if batch.count == batchSize { continue }
      await bell.wait(upTo: min(pollInterval, end - clock.now), unlessRungSince: rung)
    }
  }
}

extension Ndrc_Hitech_V1_ArrivalEvent {
  init(_ entry: ArrivalLogEntry) {
    self.init()
    sequence = entry.sequence
    observedAt = Google_Protobuf_Timestamp(microsecondsSince1970: entry.storedAtMicros)
    if let clock = entry.roundClockMicros { roundClockAt = Google_Protobuf_Timestamp(microsecondsSince1970: clock) }
    if let receipt = entry.receipt {
      kind = .submission
      self.receipt = Ndrc_Hitech_V1_Receipt(receipt)
    } else if let step = entry.roundStep {
      kind = .roundStep
      roundStep.stepID = step.stepId
      roundStep.reportYear = Int32(clamping: step.reportYear)
      roundStep.kind =
        switch step.kind {
        case .opened: .opened
        case .reminded: .reminded
        case .closed: .closed
        case .assessed: .assessed
        case .published: .published
        case nil: .unspecified
        }
      roundStep.state = Ndrc_Hitech_V1_RoundState(step.state)
      roundStep.addressedReporters = Int32(clamping: step.addressedReporters)
    }
  }
}

extension Ndrc_Hitech_V1_ReporterArrival {
  init(_ row: ReporterArrivalRow) {
    self.init()
    reporterCode = row.reporterCode
    nameZh = row.nameZh
    expected = Int64(row.expected)
    accepted = Int64(row.accepted)
    rejected = Int64(row.rejected)
    missing = Int64(row.missing)
    late = Int64(row.late)
    if let last = row.lastSubmissionAtMicros { lastSubmissionAt = Google_Protobuf_Timestamp(microsecondsSince1970: last) }
    rejectedSubmissions = Int64(row.rejectedSubmissions)
  }
}

extension Ndrc_Hitech_V1_BaseArrival {
  init(_ row: BaseArrivalRow) {
    self.init()
    baseID = row.baseId
    baseNameZh = row.baseNameZh
    reporterCode = row.reporterCode
    state =
      switch row.state {
      case .missing: .missing
      case .rejected: .rejected
      case .accepted: .accepted
      case .acceptedLate: .acceptedLate
      }
    currentRevision = Int32(clamping: row.currentRevision)
    accessionNumber = row.accessionNumber
    acceptedRevisions = Int64(row.acceptedRevisions)
    rejectedSubmissions = Int64(row.rejectedSubmissions)
    warnings = Int64(row.warnings)
    if let last = row.lastSubmissionAtMicros { lastSubmissionAt = Google_Protobuf_Timestamp(microsecondsSince1970: last) }
    lastRejectionFindings = row.lastRejectionFindings.map(Ndrc_Hitech_V1_Finding.init)
  }
}

extension ArrivalStatusService {
  /// The reporter a request is about: a reporter's node may ask about itself only (an empty
  /// `reporter_code` means itself); the coordinator and operators may ask about anyone (empty
  /// means everyone).
  private static func reporterFilter(
    _ requested: String, of context: ServerContext, mayOnly action: String
  ) throws -> String {
    switch try CallerIdentity.of(context) {
    case .reporter(let code):
      guard requested.isEmpty || requested == code else {
        throw RPCError(code: .permissionDenied, message: "reporter_code: reporter \(code) may \(action)")
      }
      return code
    case .coordinator, .operator:
      return requested
    }
  }
}
