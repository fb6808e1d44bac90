import AggregatorStore
public import GRPCCore
public import HiTechSchema
import Logging

/// The aggregator's `ndrc.hitech.v1.RoundNotices` service: each node receives the notices the
/// coordinator's steps addressed to its reporter (RoundRelayService), first those it has not
/// handled (after the sequence it passes), then new ones as they are issued.
///
/// A stream ends cleanly (OK) after ``maxStreamDuration`` so that the streams of nodes that
/// vanished without a word do not accumulate (ZeroMQ tells a server of a dead peer only when a
/// send fails); the node resubscribes with its last sequence and loses nothing.
public struct RoundNoticesService: Ndrc_Hitech_V1_RoundNotices.SimpleServiceProtocol {
  let database: any RoundStore & RegistryStore
  let bell: NoticeBell
  let logger: Logger
  let pollInterval: Duration
  let maxStreamDuration: Duration

  public init(
    database: any RoundStore & RegistryStore,
    bell: NoticeBell,
    logger: Logger,
    pollInterval: Duration = .seconds(5),
    maxStreamDuration: Duration = .seconds(600)
  ) {
    self.database = database
    self.bell = bell
    self.logger = logger
    self.pollInterval = pollInterval
    self.maxStreamDuration = maxStreamDuration
  }

  public func subscribe(
    request: Ndrc_Hitech_V1_SubscribeRequest,
    response: RPCWriter<Ndrc_Hitech_V1_RoundNotice>,
    context: ServerContext
  ) async throws {
    guard case .reporter(let reporterCode) = try CallerIdentity.of(context) else {
      throw RPCError(code: .permissionDenied, message: "round notices are addressed to reporters' nodes")
    }
    guard request.afterSequence >= 0 else {
      throw RPCError(code: .invalidArgument, message: "after_sequence: 0 or more, got \(request.afterSequence)")
    }
    let (last, reporter) = try await storeCall {
      (try await database.lastNoticeSequence(), try await database.reporter(code: reporterCode))
    }
    guard let reporter, reporter.active else {
      throw RPCError(code: .permissionDenied, message: "reporter \(reporterCode) is not an active reporter")
    }
    guard request.afterSequence <= last else {
      throw RPCError(
        code: .outOfRange,
        message: "after_sequence: \(request.afterSequence) is beyond the last notice issued here (\(last)); resubscribe with 0")
    }
    // The stream's task ends when the RPC is cancelled (the client went away, the deadline
    // passed, the server shuts down gracefully): the transport says so through the RPC's
    // cancellation handle, not by cancelling the handler's task.
    let task = Task {
      try await stream(request, to: response, reporterCode: reporterCode)
    }
    try await withRPCCancellationHandler {
      try await task.value
    } onCancelRPC: {
      task.cancel()
    }
  }

  private func stream(
    _ request: Ndrc_Hitech_V1_SubscribeRequest,
    to response: RPCWriter<Ndrc_Hitech_V1_RoundNotice>,
    reporterCode: String
  ) async throws {
    let years = request.reportYears.map(Int.init)
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: maxStreamDuration)
    var cursor = request.afterSequence
    while !Task.isCancelled, clock.now < end {
      let batch = try await storeCall {
        try await database.notices(reporterCode: reporterCode, afterSequence: cursor, reportYears: years, limit: 200)
      }
      for stored in batch {
        var notice = try Ndrc_Hitech_V1_RoundNotice(serializedBytes: stored.bytes)
        notice.sequence = stored.sequence
        try await response.write(notice)
        cursor = stored.sequence
      }
      if batch.count == 200 { continue }
      await bell.wait(upTo: min(pollInterval, end - clock.now))
    }
  }
}
