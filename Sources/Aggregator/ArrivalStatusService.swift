import AggregatorStore
public import GRPCCore
public import HiTechSchema
import Logging
import SwiftProtobuf

/// The aggregator's `ndrc.hitech.v1.ArrivalStatus` service for operators and the coordinator:
/// which reporters and bases have reported for a round, what was rejected, who is late. A
/// reporter's node may ask for its own rows only.
///
/// WatchArrivals is not served (UNIMPLEMENTED): the dashboard and the CLI read the store.
public struct ArrivalStatusService: Ndrc_Hitech_V1_ArrivalStatus.SimpleServiceProtocol {
  let database: any ReportStore
  let logger: Logger
  let now: @Sendable () -> Int64

  public init(
    database: any ReportStore,
    logger: Logger,
    now: @escaping @Sendable () -> Int64 = AggregatorDatabase.systemNowMicros
  ) {
    self.database = database
    self.logger = logger
    self.now = now
  }

  public func getRoundStatus(
    request: Ndrc_Hitech_V1_GetRoundStatusRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_RoundStatus {
    var reporterFilter = request.reporterCode
    switch try CallerIdentity.of(context) {
    case .reporter(let code):
      if reporterFilter.isEmpty { reporterFilter = code }
      guard reporterFilter == code else {
        throw RPCError(code: .permissionDenied, message: "reporter_code: reporter \(code) may ask for its own status only")
      }
    case .coordinator, .operator:
      break
    }
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

  public func watchArrivals(
    request: Ndrc_Hitech_V1_WatchArrivalsRequest,
    response: RPCWriter<Ndrc_Hitech_V1_ArrivalEvent>,
    context: ServerContext
  ) async throws {
    throw RPCError(code: .unimplemented, message: "WatchArrivals is not served; poll GetRoundStatus")
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
