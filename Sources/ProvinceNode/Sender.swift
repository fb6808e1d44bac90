import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import ZeroMQTransport

/// Sends claimed messages to the aggregator's `ReportIngest.Submit`, up to `maxInFlight` at
/// once, in arrival order of hand-out (``Spool/next()``):
///
/// - a receipt (stored, or the original receipt of a duplicate) → ``Spool/markSent(id:receiptJSON:)``
///   with the receipt as JSON;
/// - `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED` (and `CANCELLED`, or an error that
///   is not a gRPC status, e.g. from the transport) → ``Spool/recordAttempt(id:error:)`` (the
///   message goes back first in line), then no new sends until the in-flight ones have
///   finished and an exponential backoff with full jitter has passed (doubling from
///   `initialBackoff` up to `maxBackoff`; forever);
/// - any other status → ``Spool/markRejected(id:reason:)`` with the code, the message and every
///   finding of the receipt in the `hitech-receipt-bin` trailing metadata, when present.
///
/// When nothing is queued it waits on `wake` (rung by the outbox service after each claim) —
/// no polling. On graceful shutdown it sends nothing new, lets the calls in flight finish
/// (within their deadline) and returns; messages it never marked stay claimed and are offered
/// again after restart, with the same submission id (the aggregator answers a resend with the
/// original receipt).
struct Sender: Service {
  let configuration: NodeConfiguration
  let security: ZeroMQTransport.Security
  let spool: SpoolExecutor
  let wake: Doorbell
  let state: NodeState
  let logger: Logger

  static let retryable: Set<RPCError.Code> = [.unavailable, .deadlineExceeded, .resourceExhausted, .cancelled]

  enum Outcome: Sendable {
    case sent
    case rejected
    case retry
    /// Shutting down: nothing recorded; the message stays claimed.
    case abandoned
  }

  func run() async throws {
    let transport = ZeroMQTransport.Client(endpoint: configuration.aggregatorEndpoint, security: security)
    let stopping = StopFlag()
    try await withGracefulShutdownHandler {
      try await withGRPCClient(transport: transport) { grpc in
        let client = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: grpc)
        try await loop(client: client, stopping: stopping)
      }
    } onGracefulShutdown: {
      stopping.set()
      wake.ring()
    }
    state.update { $0.connection = "stopped" }
  }

  private func loop(client: Ndrc_Hitech_V1_ReportIngest.Client<ZeroMQTransport.Client>, stopping: StopFlag) async throws {
    try await withThrowingTaskGroup(of: Outcome.self) { group in
      var inFlight = 0
      var mustBackOff = false
      while true {
        // Fill up to the limit.
        while !stopping.isSet && !mustBackOff && inFlight < configuration.maxInFlight,
          let message = try await spool.run({ try $0.next() })
        {
          inFlight += 1
          group.addTask { await send(message, client: client, stopping: stopping) }
        }
        if inFlight > 0 {
          // Wait for one call to finish.
          guard let outcome = try await group.next() else { break }
          inFlight -= 1
          if outcome == .retry { mustBackOff = true }
          if outcome == .sent { state.update { $0.consecutiveFailures = 0 } }
          continue
        }
        if stopping.isSet { break }
        if mustBackOff {
          mustBackOff = false
          await backOff(stopping: stopping)
          continue
        }
        // Nothing queued: wait for the outbox service (or shutdown).
        guard await wake.wait() else { break }
      }
    }
  }

  private func backOff(stopping: StopFlag) async {
    let failures = state.snapshot.consecutiveFailures
    let ceiling = min(
      Double(configuration.maxBackoffMilliseconds),
      Double(configuration.initialBackoffMilliseconds) * pow(2, Double(min(max(failures - 1, 0), 40)))
    )
    // Full jitter, but never below half the initial backoff.
    let milliseconds = max(Double(configuration.initialBackoffMilliseconds) / 2, Double.random(in: 0...ceiling))
    state.update { $0.nextRetryAt = Date().addingTimeInterval(milliseconds / 1000) }
    logger.info("aggregator unreachable; retrying", metadata: [
      "retry.in_ms": "\(Int(milliseconds))", "retry.consecutive_failures": "\(failures)",
    ])
    let until = ContinuousClock.now + .milliseconds(Int64(milliseconds))
    // Sleeps in slices so that a graceful shutdown is noticed within 100 ms.
    while !stopping.isSet, ContinuousClock.now < until {
      let slice = min(until - ContinuousClock.now, .milliseconds(100))
      try? await Task.sleep(for: slice)
    }
    state.update { $0.nextRetryAt = nil }
  }

  private func send(
    _ message: OutgoingMessage,
    client: Ndrc_Hitech_V1_ReportIngest.Client<ZeroMQTransport.Client>,
    stopping: StopFlag
  ) async -> Outcome {
    var options = CallOptions.defaults
    options.timeout = .seconds(configuration.callTimeoutSeconds)
    let metadata: Logger.Metadata = [
      "submission.id": "\(message.id)", "spool.file": "\(message.fileName)", "spool.attempts": "\(message.attempts)",
    ]
    do {
      let receipt = try await client.submit(message.submission, options: options)
      let json = (try? receipt.jsonString()) ?? "{}"
      do {
        try await spool.run { try $0.markSent(id: message.id, receiptJSON: json) }
      } catch {
        // The message stays in flight in this process; after a restart it is sent again and
        // the aggregator answers with the same receipt.
        logger.error("could not move a sent message to sent/", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        record(error: "marking \(message.fileName) sent: \(error)")
        return .abandoned
      }
      state.update {
        $0.connection = "connected"
        $0.sentSinceStart += 1
      }
      logger.debug("sent", metadata: metadata.merging(["receipt.accession": "\(receipt.accessionNumber)"]) { $1 })
      return .sent
    } catch let error as RPCError where !Self.retryable.contains(error.code) {
      let reason = Self.rejectionReason(error)
      do {
        try await spool.run { try $0.markRejected(id: message.id, reason: reason) }
      } catch {
        logger.error("could not move a refused message to rejected/", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        record(error: "marking \(message.fileName) rejected: \(error)")
        return .abandoned
      }
      state.update {
        $0.connection = "connected"
        $0.rejectedSinceStart += 1
      }
      record(error: "\(message.fileName): refused: \(error.code): \(error.message)")
      logger.warning("refused by the aggregator", metadata: metadata.merging([
        "grpc.status": "\(error.code)", "grpc.message": "\(error.message)",
      ]) { $1 })
      return .rejected
    } catch {
      if stopping.isSet {
        return .abandoned
      }
      let text: String
      if let error = error as? RPCError {
        text = "\(error.code): \(error.message)"
      } else {
        text = "\(error)"
      }
      do {
        try await spool.run { try $0.recordAttempt(id: message.id, error: text) }
      } catch {
        logger.error("could not record a failed attempt", metadata: metadata.merging(["error": "\(error)"]) { $1 })
      }
      state.update {
        $0.connection = "unreachable"
        $0.retriesSinceStart += 1
        $0.consecutiveFailures += 1
      }
      record(error: "\(message.fileName): \(text)")
      logger.debug("send failed; will retry", metadata: metadata.merging(["error": "\(text)"]) { $1 })
      return .retry
    }
  }

  private func record(error: String) {
    state.update {
      $0.lastError = error
      $0.lastErrorAt = Date()
    }
  }

  /// The text of a rejected/…rejected.txt: the status, the message, and the receipt's findings.
  static func rejectionReason(_ error: RPCError) -> String {
    var lines = ["refused by the aggregator: \(error.code): \(error.message)"]
    if let bytes = error.metadata[binaryValues: "hitech-receipt-bin"].first(where: { _ in true }),
      let receipt = try? Ndrc_Hitech_V1_Receipt(serializedBytes: bytes)
    {
      for finding in receipt.findings {
        lines.append("- \(finding.ruleCode) \(finding.fieldPath): \(finding.message)")
      }
      if let json = try? receipt.jsonString() {
        lines.append("receipt: \(json)")
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

/// A flag set once, read from any task.
final class StopFlag: Sendable {
  private let flag = Mutex(false)
  var isSet: Bool { flag.withLock { $0 } }
  func set() { flag.withLock { $0 = true } }
}
