import Foundation
import GRPCCore
import HiTechSchema
import Logging
import ServiceLifecycle
import SwiftProtobuf
import ZeroMQTransport

/// Listens to the aggregator's round notices for this node's reporter (RoundNotices.Subscribe):
/// the round opened (with the bases expected), reminders naming the bases still missing, the
/// round closed, results published. Each notice is logged in words and kept as a JSON file in
/// `<spool>/notices/` for the clerks; the highest kept sequence is where the node resumes after
/// a reconnect or a restart, so no notice is lost or handled twice.
struct NoticeListener: Service {
  /// The aggregator endpoints, the primary first (the node's `aggregatorEndpoint` and
  /// `fallbackEndpoints`): after a failure the listener moves on to the next one, as the sender does.
  let endpoints: [String]
  let security: ZeroMQTransport.Security
  let log: NoticeLog
  let logger: Logger
  var initialBackoff: Duration = .seconds(1)
  var maxBackoff: Duration = .seconds(60)

  func run() async throws {
    try? await cancelWhenGracefulShutdown {
      var index = 0
      var backoff = initialBackoff
      while !Task.isCancelled {
        let endpoint = endpoints[index % endpoints.count]
        let transport = ZeroMQTransport.Client(endpoint: endpoint, security: security)
        let answered = try await withGRPCClient(transport: transport) { grpc in
          await listen(Ndrc_Hitech_V1_RoundNotices.Client(wrapping: grpc), endpoint: endpoint)
        }
        if Task.isCancelled { break }
        if answered { backoff = initialBackoff }
        if endpoints.count > 1 {
          index += 1
          logger.notice("round notices: trying the next aggregator endpoint", metadata: ["zmq.endpoint": "\(endpoints[index % endpoints.count])"])
        }
        let jitter = Double.random(in: 0.5...1.0)
        try? await Task.sleep(for: backoff * jitter)
        backoff = min(backoff * 2, maxBackoff)
      }
    }
  }

  /// Subscribes again and again while the endpoint answers; returns after a failure (whether
  /// any notice stream was answered first), so the caller backs off and moves on.
  private func listen(_ client: Ndrc_Hitech_V1_RoundNotices.Client<ZeroMQTransport.Client>, endpoint: String) async -> Bool {
    var answered = false
    while !Task.isCancelled {
      var request = Ndrc_Hitech_V1_SubscribeRequest()
      request.afterSequence = log.lastSequence
      do {
        try await client.subscribe(request) { response in
          for try await notice in response.messages {
            try log.keep(notice)
            logger.info("\(NoticeLog.describe(notice))", metadata: ["notice.sequence": "\(notice.sequence)"])
          }
        }
        answered = true
        // The server ended the stream cleanly (it does so periodically): resubscribe.
        continue
      } catch let error as RPCError where error.code == .outOfRange {
        logger.warning(
          "the aggregator has no notice after the last one kept here; listening from its first notice",
          metadata: ["notice.sequence": "\(log.lastSequence)", "error": "\(error.message)"])
        log.forgetPosition()
        answered = true
        continue
      } catch {
        if !Task.isCancelled {
          logger.notice("round notices unavailable; retrying", metadata: ["error": "\(error)", "zmq.endpoint": "\(endpoint)"])
        }
        return answered
      }
    }
    return answered
  }
}

final class NoticeLog: @unchecked Sendable {
  let directory: String
  private let lock = NSLock()
  private var last: Int64
  private var ignoreBefore: Int64 = 0
  /// The newest notices kept, oldest first, at most ``recentLimit`` (for the status file).
  private var recentNotices: [HeardNotice] = []
  static let recentLimit = 10

  init(directory: String) throws {
    self.directory = directory
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let kept = try FileManager.default.contentsOfDirectory(atPath: directory)
      .compactMap { name -> (Int64, String)? in
        guard name.hasSuffix(".json"), let sequence = Int64(name.prefix(12)) else { return nil }
        return (sequence, name)
      }
      .sorted { $0.0 < $1.0 }
    last = kept.last?.0 ?? 0
    for (_, name) in kept.suffix(Self.recentLimit) {
      let path = (directory as NSString).appendingPathComponent(name)
      guard let data = FileManager.default.contents(atPath: path),
        let notice = try? Ndrc_Hitech_V1_RoundNotice(jsonUTF8Data: data)
      else { continue }
      recentNotices.append(HeardNotice(notice))
    }
  }

  /// The newest notices kept (at most ten), oldest first: what `hitech node status` shows.
  var recent: [HeardNotice] { lock.withLock { recentNotices } }

  /// The highest sequence kept (0 when none).
  var lastSequence: Int64 { lock.withLock { ignoreBefore > 0 ? 0 : last } }

  /// Resume from the first notice the aggregator has (after it answered OUT_OF_RANGE: another
  /// centre's history). Files already kept stay.
  func forgetPosition() { lock.withLock { ignoreBefore = last; last = 0 } }

  /// Writes the notice's file (temp file, fsync, rename) and advances the position.
  func keep(_ notice: Ndrc_Hitech_V1_RoundNotice) throws {
    let name = String(format: "%012lld-%@-%d.json", notice.sequence, Self.kind(notice), notice.reportYear)
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = false
    let json = try notice.jsonUTF8Data(options: options)
    let path = (directory as NSString).appendingPathComponent(name)
    let temporary = path + ".tmp"
    guard FileManager.default.createFile(atPath: temporary, contents: json) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
    }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
    try handle.synchronize()
    try handle.close()
    if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    try FileManager.default.moveItem(atPath: temporary, toPath: path)
    lock.withLock {
      last = max(last, notice.sequence)
      if last > ignoreBefore { ignoreBefore = 0 }
      recentNotices.removeAll { $0.sequence == notice.sequence }
      recentNotices.append(HeardNotice(notice))
      recentNotices.sort { $0.sequence < $1.sequence }
      if recentNotices.count > Self.recentLimit { recentNotices.removeFirst(recentNotices.count - Self.recentLimit) }
    }
  }

  static func kind(_ notice: Ndrc_Hitech_V1_RoundNotice) -> String {
    switch notice.kind {
    case .opened: "opened"
    case .reminder: "reminder"
    case .closed: "closed"
    case .published: "published"
    case .application: "application"
    case nil: "unknown"
    }
  }

  /// One line for the log.
  static func describe(_ notice: Ndrc_Hitech_V1_RoundNotice) -> String {
    let year = notice.reportYear
    func date(_ timestamp: Google_Protobuf_Timestamp) -> String {
      ISO8601DateFormatter().string(from: timestamp.date)
    }
    switch notice.kind {
    case .opened(let opened):
      return "round \(year) opened: \(opened.expectedBases.count) bases expected (\(opened.expectedBases.map(\.baseID).joined(separator: ", "))), deadline \(date(opened.round.deadline))"
    case .reminder(let reminder):
      return "reminder for round \(year): deadline \(date(reminder.deadline)); still missing: \(reminder.missingBaseIds.joined(separator: ", "))"
    case .closed(let closed):
      let late = closed.latePolicy == .acceptMarkLate ? "late reports are accepted and marked late" : "late reports are refused"
      let missing = closed.missingBaseIds.isEmpty ? "nothing missing" : "missing: \(closed.missingBaseIds.joined(separator: ", "))"
      return "round \(year) closed (\(late)); \(missing)"
    case .published(let published):
      let results = published.results.map { "\($0.baseID) rank \($0.rank)/\($0.rankedCount)" }.joined(separator: ", ")
      return "round \(year) results published\(published.publicationRef.isEmpty ? "" : " (\(published.publicationRef))"): \(results)"
    case .application(let application):
      return ApplicationNoticeText.describe(application, callYear: year)
    case nil:
      return "round \(year): a notice of a kind this node does not know (sequence \(notice.sequence))"
    }
  }
}

/// A round notice the node heard, as its status file shows it.
public struct HeardNotice: Codable, Hashable, Sendable {
  public var sequence: Int64
  /// `opened`, `reminder`, `closed`, `published`, `application` (or `unknown`).
  public var kind: String
  public var reportYear: Int
  public var issuedAt: Date?
  /// The bases the notice names: expected (opened), still missing (reminder, closed), with a
  /// result (published).
  public var baseIds: [String]
  /// The notice in words, as the log says it.
  public var summary: String

  init(_ notice: Ndrc_Hitech_V1_RoundNotice) {
    sequence = notice.sequence
    kind = NoticeLog.kind(notice)
    reportYear = Int(notice.reportYear)
    issuedAt = notice.hasIssuedAt ? notice.issuedAt.date : nil
    baseIds =
      switch notice.kind {
      case .opened(let opened): opened.expectedBases.map(\.baseID)
      case .reminder(let reminder): reminder.missingBaseIds
      case .closed(let closed): closed.missingBaseIds
      case .published(let published): published.results.map(\.baseID)
      case .application(let application):
        application.decision.baseID.isEmpty ? [] : [application.decision.baseID]
      case nil: []
      }
    summary = NoticeLog.describe(notice)
  }
}
