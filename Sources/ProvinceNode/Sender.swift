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
/// - a receipt (stored, or the original receipt of a duplicate) → ``Spool/markSent(_:)`` with
///   the receipt as JSON, batched with the other calls that end meanwhile (one fsync per folder
///   and one journal append per batch: ``SpoolExecutor/markSent(id:receiptJSON:)``). The call's
///   slot takes the next message as soon as the answer arrives, while the mark is written (at
///   most `maxInFlight` answered messages wait to be marked), so a backlog keeps `maxInFlight`
///   calls at the aggregator and its group commits large;
/// - a definite refusal of the message by the aggregator (``refusals``: `INVALID_ARGUMENT`,
///   `ALREADY_EXISTS`, `PERMISSION_DENIED`, `NOT_FOUND`, `FAILED_PRECONDITION`, the codes
///   `report_ingest_service.proto` gives for a message that will never be stored as it is) →
///   ``Spool/markRejected(id:reason:)`` with the code, the message and every finding of the
///   receipt in the `hitech-receipt-bin` trailing metadata, when present;
/// - anything else → ``Spool/recordAttempt(id:error:)`` (the message goes back first in line),
///   then no new sends until the in-flight ones have finished and an exponential backoff with
///   full jitter has passed (doubling from `initialBackoff` up to `maxBackoff`; forever). That
///   is `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`, and every status that says
///   nothing about the message: `CANCELLED`, `UNKNOWN`, `INTERNAL` (what the transport or
///   GRPCCore report for a call that broke off: a lost connection, a handler or stream that
///   failed), `UNAUTHENTICATED` (the node's key is not, or no longer, registered: the message
///   waits for the operator to register it), `UNIMPLEMENTED`, `ABORTED`, `DATA_LOSS`, and an
///   error that is not a gRPC status. A message is never filed in rejected/ unless the
///   aggregator refused it.
///
/// **Spool I/O errors never stop it.** When the spool cannot hand out a message
/// (``Spool/next()`` throws, or skipped one it could not read: ``Spool/deferredCount``) or
/// cannot record an outcome (mark sent or rejected, record an attempt), the sender logs the
/// error, sends nothing new, lets the calls in flight finish, waits a backoff (the same bounds
/// as for the aggregator, counted apart, doubling while the errors last) and runs
/// ``Spool/recover()`` plus a rescan of outbox/. Recovery reconciles the folders with the
/// journal, so a message whose mark failed is either closed (its file reached sent/) or offered
/// again and re-sent under the same submission id — the aggregator answers with the original
/// receipt. A message skipped while others were sendable, and files a failed claim of the
/// outbox service left behind, wait until the queue is empty.
///
/// When nothing is queued it waits on `wake` (rung by the outbox service after each claim) —
/// no polling. Every wait ends on graceful shutdown or task cancellation. On graceful shutdown
/// it sends nothing new, lets the calls in flight finish (within their deadline) and returns;
/// messages it never marked stay claimed and are offered again after restart, with the same
/// submission id (the aggregator answers a resend with the original receipt).
struct Sender: Service {
  let configuration: NodeConfiguration
  let security: ZeroMQTransport.Security
  let spool: SpoolExecutor
  let wake: Doorbell
  let state: NodeState
  let logger: Logger

  /// The statuses with which the aggregator refuses a message for good (proto-schemas/
  /// ndrc/hitech/v1/report_ingest_service.proto); every other failure is retried.
  static let refusals: Set<RPCError.Code> = [
    .invalidArgument, .alreadyExists, .permissionDenied, .notFound, .failedPrecondition,
  ]

  enum Outcome: Sendable {
    /// The aggregator answered with a receipt. The message is marked sent apart (``mark``),
    /// so that the call's slot takes the next message while the spool writes.
    case answered(OutgoingMessage, receiptJSON: String, accessionNumber: String)
    /// Marked sent.
    case sent
    /// Answered, but the spool could not mark it sent: it stays leased until the spool is
    /// recovered (then it is closed, or sent again and answered with the same receipt).
    case markFailed
    case rejected
    case retry
    /// The call ended but the spool could not record it: the message stays leased until the
    /// spool is recovered.
    case spoolFault
    /// Shutting down: nothing recorded; the message stays claimed.
    case abandoned
    /// Retryable, and the status was `UNAVAILABLE`: another endpoint may answer.
    case unavailable
  }

  /// How one connection's loop ended.
  enum LoopEnd: Sendable {
    case stopped
    /// `UNAVAILABLE` and there are other endpoints; `answered`: some call got an answer.
    case switchEndpoint(answered: Bool)
  }

  /// Connects to `aggregatorEndpoint`, and on `UNAVAILABLE` moves on to the next of
  /// `fallbackEndpoints` (round robin): straight away while not every endpoint has failed since
  /// the last answer, else after the usual backoff.
  func run() async throws {
    let endpoints = configuration.endpoints
    let stopping = StopFlag()
    try await withGracefulShutdownHandler {
      var index = 0
      var failedInARow = 0
      while !stopping.isSet && !Task.isCancelled {
        let endpoint = endpoints[index]
        let transport = ZeroMQTransport.Client(endpoint: endpoint, security: security)
        let end = try await withGRPCClient(transport: transport) { grpc in
          let client = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: grpc)
          return await loop(
            client: client, stopping: stopping, canSwitch: endpoints.count > 1,
            backOffBeforeSwitch: failedInARow + 1 >= endpoints.count)
        }
        guard case .switchEndpoint(let answered) = end else { break }
        failedInARow = answered ? 1 : failedInARow + 1
        index = (index + 1) % endpoints.count
        logger.warning("aggregator endpoint unavailable; trying the next", metadata: [
          "zmq.endpoint": "\(endpoint)", "zmq.next_endpoint": "\(endpoints[index])",
        ])
      }
    } onGracefulShutdown: {
      stopping.set()
      wake.ring()
    }
    state.update { $0.connection = "stopped" }
  }

  private func loop(
    client: Ndrc_Hitech_V1_ReportIngest.Client<ZeroMQTransport.Client>, stopping: StopFlag,
    canSwitch: Bool, backOffBeforeSwitch: Bool
  ) async -> LoopEnd {
    await withTaskGroup(of: Outcome.self) { group in
      // Calls in flight, and answered messages being marked sent (each bounded by
      // maxInFlight): a call's slot is free again as soon as its answer arrives.
      var inFlight = 0
      var marking = 0
      var mustBackOff = false
      var switchEndpoint = false
      var answered = false
      var needsRecovery = false
      var spoolFailures = 0
      func ending() -> Bool { stopping.isSet || Task.isCancelled }
      while true {
        // Fill up to the limit, taking the messages for every free slot in one trip to the
        // spool's queue (which also writes the marks).
        while !ending() && !mustBackOff && !needsRecovery && inFlight < configuration.maxInFlight
          && marking < configuration.maxInFlight
        {
          let free = configuration.maxInFlight - inFlight
          let taken: (messages: [OutgoingMessage], failure: String?)
          do {
            taken = try await spool.run { spool -> ([OutgoingMessage], String?) in
              var messages: [OutgoingMessage] = []
              do {
                while messages.count < free, let message = try spool.next() { messages.append(message) }
                return (messages, nil)
              } catch {
                // The messages taken so far are sent; the error stops the filling.
                return (messages, "\(error)")
              }
            }
          } catch {
            taken = ([], "\(error)")
          }
          let (messages, failure) = taken
          for message in messages {
            inFlight += 1
            group.addTask { await send(message, client: client, stopping: stopping) }
          }
          if let failure {
            spoolError(failure, doing: "taking the next message")
            needsRecovery = true
            break
          }
          if messages.count < free { break }
        }
        if inFlight + marking > 0 {
          // Wait for one call or one mark to finish.
          guard let outcome = await group.next() else { break }
          state.progressed()
          switch outcome {
          case .answered(let message, let receiptJSON, let accessionNumber):
            inFlight -= 1
            marking += 1
            answered = true
            group.addTask { await mark(message, receiptJSON: receiptJSON, accessionNumber: accessionNumber) }
          case .sent:
            marking -= 1
            state.update { $0.consecutiveFailures = 0 }
          case .markFailed:
            marking -= 1
            needsRecovery = true
          case .retry:
            inFlight -= 1
            mustBackOff = true
          case .unavailable:
            inFlight -= 1
            mustBackOff = true
            switchEndpoint = canSwitch
          case .rejected:
            inFlight -= 1
            answered = true
          case .spoolFault:
            inFlight -= 1
            needsRecovery = true
          case .abandoned:
            inFlight -= 1
          }
          continue
        }
        if ending() { break }
        if needsRecovery {
          // Nothing in flight: recovery may forget what was handed out.
          spoolFailures += 1
          let milliseconds = Self.backoffMilliseconds(failures: spoolFailures, configuration: configuration)
          logger.warning("spool error; recovering the spool after a pause", metadata: [
            "retry.in_ms": "\(Int(milliseconds))", "spool.consecutive_failures": "\(spoolFailures)",
          ])
          state.update { $0.nextRetryAt = Date().addingTimeInterval(milliseconds / 1000) }
          let proceed = await pause(milliseconds: milliseconds, stopping: stopping)
          state.update { $0.nextRetryAt = nil }
          guard proceed else { break }
          do {
            let summary = try await spool.run { spool -> ClaimSummary in
              try spool.recover()
              return try spool.claimPending()
            }
            needsRecovery = false
            logger.info("spool recovered", metadata: ["spool.claimed": "\(summary.claimed.count)"])
          } catch {
            spoolError(error, doing: "recovering the spool")
          }
          state.progressed()
          continue
        }
        if mustBackOff {
          mustBackOff = false
          if switchEndpoint {
            // Nothing in flight: the caller connects to the next endpoint.
            if backOffBeforeSwitch && !answered {
              guard await backOff(stopping: stopping) else { break }
            }
            return .switchEndpoint(answered: answered)
          }
          guard await backOff(stopping: stopping) else { break }
          continue
        }
        // Nothing to send. Messages skipped after a read error are retried through a recovery
        // (after a growing pause); otherwise wait for the outbox service (or shutdown).
        let claimFailed = state.update { values -> Bool in
          defer { values.spoolNeedsRecovery = false }
          return values.spoolNeedsRecovery
        }
        if claimFailed {
          needsRecovery = true
          continue
        }
        if let deferred = try? await spool.run({ $0.deferredCount }), deferred > 0 {
          needsRecovery = true
          continue
        }
        spoolFailures = 0
        // Idle: nothing is queued for the sender, which is progress as far as it can make.
        state.progressed()
        guard await wake.wait() else { break }
        state.progressed()
      }
      return .stopped
    }
  }

  private func spoolError(_ error: String, doing what: String) {
    logger.error("spool error while \(what); the node keeps running", metadata: ["error": "\(error)"])
    record(error: "\(what): \(error)")
  }

  private func spoolError(_ error: any Error, doing what: String) {
    logger.error("spool error while \(what); the node keeps running", metadata: ["error": "\(error)"])
    record(error: "\(what): \(error)")
  }

  /// The ceiling doubles from `initialBackoff` per failure up to `maxBackoff`; the wait is drawn
  /// uniformly below it (full jitter), but never below half the initial backoff.
  static func backoffMilliseconds(failures: Int, configuration: NodeConfiguration) -> Double {
    let ceiling = min(
      Double(configuration.maxBackoffMilliseconds),
      Double(configuration.initialBackoffMilliseconds) * pow(2, Double(min(max(failures - 1, 0), 40)))
    )
    return max(Double(configuration.initialBackoffMilliseconds) / 2, Double.random(in: 0...ceiling))
  }

  /// Waits after a retryable failure; false when shutting down.
  private func backOff(stopping: StopFlag) async -> Bool {
    let failures = state.snapshot.consecutiveFailures
    let milliseconds = Self.backoffMilliseconds(failures: failures, configuration: configuration)
    state.update { $0.nextRetryAt = Date().addingTimeInterval(milliseconds / 1000) }
    logger.info("aggregator unreachable; retrying", metadata: [
      "retry.in_ms": "\(Int(milliseconds))", "retry.consecutive_failures": "\(failures)",
    ])
    let proceed = await pause(milliseconds: milliseconds, stopping: stopping)
    state.update {
      $0.nextRetryAt = nil
      $0.lastProgressAt = Date()
    }
    return proceed
  }

  /// Sleeps in slices so that a graceful shutdown is noticed within 100 ms; returns at once on
  /// cancellation. False when shutting down (graceful or cancelled).
  private func pause(milliseconds: Double, stopping: StopFlag) async -> Bool {
    let until = ContinuousClock.now + .milliseconds(Int64(milliseconds))
    while !stopping.isSet, !Task.isCancelled, ContinuousClock.now < until {
      let slice = min(until - ContinuousClock.now, .milliseconds(100))
      do { try await Task.sleep(for: slice) } catch { break }
    }
    return !stopping.isSet && !Task.isCancelled
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
      return .answered(message, receiptJSON: json, accessionNumber: receipt.accessionNumber)
    } catch let error as RPCError where Self.refusals.contains(error.code) {
      let reason = Self.rejectionReason(error)
      do {
        try await spool.run { try $0.markRejected(id: message.id, reason: reason) }
      } catch {
        logger.error("could not move a refused message to rejected/", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        record(error: "marking \(message.fileName) rejected: \(error)")
        return .spoolFault
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
      if stopping.isSet || Task.isCancelled {
        return .abandoned
      }
      let text: String
      if let error = error as? RPCError {
        text = "\(error.code): \(error.message)"
      } else {
        text = "\(error)"
      }
      var outcome = (error as? RPCError)?.code == .unavailable ? Outcome.unavailable : Outcome.retry
      do {
        try await spool.run { try $0.recordAttempt(id: message.id, error: text) }
      } catch {
        // Still leased: put back by the recovery.
        logger.error("could not record a failed attempt", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        outcome = .spoolFault
      }
      state.update {
        $0.connection = "unreachable"
        $0.retriesSinceStart += 1
        $0.consecutiveFailures += 1
      }
      record(error: "\(message.fileName): \(text)")
      logger.debug("send failed; will retry", metadata: metadata.merging(["error": "\(text)"]) { $1 })
      return outcome
    }
  }

  /// Marks an answered message sent (batched with the other marks that arrive meanwhile: one
  /// fsync per folder and one journal append per batch).
  private func mark(_ message: OutgoingMessage, receiptJSON: String, accessionNumber: String) async -> Outcome {
    do {
      try await spool.markSent(id: message.id, receiptJSON: receiptJSON)
    } catch {
      // The message stays leased until the sender recovers the spool: then it is closed (its
      // file reached sent/) or sent again, and the aggregator answers with the same receipt.
      logger.error("could not move a sent message to sent/", metadata: [
        "submission.id": "\(message.id)", "spool.file": "\(message.fileName)", "error": "\(error)",
      ])
      record(error: "marking \(message.fileName) sent: \(error)")
      return .markFailed
    }
    state.update {
      $0.connection = "connected"
      $0.sentSinceStart += 1
    }
    logger.debug("sent", metadata: [
      "submission.id": "\(message.id)", "spool.file": "\(message.fileName)", "receipt.accession": "\(accessionNumber)",
    ])
    return .sent
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
