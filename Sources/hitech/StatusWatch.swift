import ArgumentParser
import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import ZeroMQ
import ZeroMQTransport

/// `hitech status --watch`: follows the aggregator's ArrivalStatus.WatchArrivals and prints one
/// line per event, resubscribing after the last sequence seen when the stream ends or the
/// connection is lost, so that no event is printed twice or skipped.
struct StatusWatch {
  var endpoint: String
  var serverKey: String?
  var secretKey: String?
  var year: Int?
  var reporter: String?
  /// Start after this sequence; nil = from now on.
  var after: Int64?

  func run() async throws {
    let security: ZeroMQTransport.Security
    switch (serverKey, secretKey) {
    case (let serverKey?, let secretKey?):
      security = .curveClient(
        keyPair: try CurveKeyFile.readKeyPair(secretKeyPath: secretKey),
        serverPublicKey: try CurveKeyFile.readPublicKey(serverKey))
    case (nil, nil):
      security = .plaintext
    default:
      throw ValidationError("--server-key and --secret-key go together")
    }
    var request = Ndrc_Hitech_V1_WatchArrivalsRequest()
    request.reportYear = Int32(year ?? 0)
    request.reporterCode = reporter ?? ""
    let transport = ZeroMQTransport.Client(endpoint: endpoint, security: security)
    let position = Position(after: after)
    try await withGRPCClient(transport: transport) { grpc in
      let client = Ndrc_Hitech_V1_ArrivalStatus.Client(wrapping: grpc)
      var options = CallOptions.defaults
      options.waitForReady = true
      let retryable: [RPCError.Code] = [.unavailable, .deadlineExceeded, .cancelled]
      while true {
        var request = request
        if let after = await position.after { request.afterSequence = after }
        do {
          try await client.watchArrivals(request, options: options) { response in
            for try await event in response.messages {
              if event.kind == .submission || event.kind == .roundStep {
                FileHandle.standardOutput.write(Data((Self.line(event) + "\n").utf8))
              }
              await position.set(event.sequence)
            }
          }
          // Ended cleanly (the stream's time is up, or the aggregator is stopping): resubscribe.
        } catch let error as RPCError where retryable.contains(error.code) {
          FileHandle.standardError.write(Data("hitech status: \(error.code): \(error.message); resubscribing\n".utf8))
        }
        try await Task.sleep(for: .seconds(1))
      }
    }
  }

  /// The last sequence handled, kept across subscriptions.
  actor Position {
    var after: Int64?
    init(after: Int64?) { self.after = after }
    func set(_ sequence: Int64) { after = sequence }
  }

  /// One line per event. A submission: sequence, time stored, reporter, base, year, status,
  /// revision, accession number, submission id, and the first finding of a rejection. A round
  /// step: sequence, time applied, "round", year, the step, the round's state, the reporters
  /// it sent a notice to, and the step id. Either ends with the time on the round's calendar
  /// when it differs from the wall-clock time.
  static func line(_ event: Ndrc_Hitech_V1_ArrivalEvent) -> String {
    var line = event.kind == .roundStep ? stepLine(event) : submissionLine(event)
    if event.hasRoundClockAt, event.roundClockAt.seconds / 60 != event.observedAt.seconds / 60 {
      line += "  (round calendar \(timestamp(seconds: event.roundClockAt.seconds)))"
    }
    return line
  }

  static func stepLine(_ event: Ndrc_Hitech_V1_ArrivalEvent) -> String {
    let step = event.roundStep
    let kind: String =
      switch step.kind {
      case .opened: "opened"
      case .reminded: "reminded"
      case .closed: "closed"
      case .assessed: "assessed"
      case .published: "published"
      default: "step"
      }
    let state: String =
      switch step.state {
      case .planned: "planned"
      case .open: "open"
      case .closed: "closed"
      case .assessed: "assessed"
      case .published: "published"
      default: "state-\(step.state.rawValue)"
      }
    return [
      "#\(event.sequence)",
      timestamp(seconds: event.observedAt.seconds),
      "round",
      String(step.reportYear),
      kind,
      "(\(state))",
      "notices to \(step.addressedReporters) reporter\(step.addressedReporters == 1 ? "" : "s")",
      step.stepID,
    ].joined(separator: "  ")
  }

  static func submissionLine(_ event: Ndrc_Hitech_V1_ArrivalEvent) -> String {
    let receipt = event.receipt
    let status: String =
      switch receipt.status {
      case .accepted: "accepted"
      case .acceptedWithWarnings: "warnings"
      case .acceptedLate: "late"
      case .duplicate: "duplicate"
      case .rejected: "rejected"
      default: "status-\(receipt.status.rawValue)"
      }
    var fields = [
      "#\(event.sequence)",
      timestamp(seconds: event.observedAt.seconds),
      receipt.reporterCode,
      receipt.baseID,
      String(receipt.reportYear),
      status,
      "r\(receipt.revision)",
      receipt.accessionNumber.isEmpty ? "-" : receipt.accessionNumber,
      receipt.submissionID,
    ]
    if receipt.status == .rejected, let finding = receipt.findings.first(where: { $0.severity == .error }) ?? receipt.findings.first {
      fields.append("\(finding.ruleCode) \(finding.fieldPath): \(finding.message)")
    }
    return fields.joined(separator: "  ")
  }

  static func timestamp(seconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
  }
}
