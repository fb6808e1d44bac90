import Dispatch
import Foundation
import Synchronization

/// Runs the spool's synchronous, fsync-ing methods on one serial dispatch queue, off Swift's
/// cooperative pool: a slow disk then blocks that queue's thread, never the executor threads
/// the gRPC client and the other services run on. The spool serialises its methods with a lock
/// anyway, so one serial queue costs no parallelism.
///
/// Receipts are marked in batches (``markSent(id:receiptJSON:)``): the calls that end while a
/// batch is being written are written together, with one fsync of sent/ and claimed/ and one
/// journal append for all of them.
final class SpoolExecutor: Sendable {
  let spool: Spool
  private let queue = DispatchQueue(label: "hitech.node.spool")

  private struct PendingMark: Sendable {
    var id: String
    var receiptJSON: String
    var continuation: CheckedContinuation<Void, any Error>
  }

  private struct MarkQueue: Sendable {
    var pending: [PendingMark] = []
    /// A batch is queued or being written on `queue`.
    var scheduled = false
  }

  private let marks = Mutex(MarkQueue())

  /// The last status the queue answered, and since when a status request has been waiting.
  struct StatusProbe: Sendable {
    var last: SpoolStatus?
    var answeredAt: Date?
    var waitingSince: Date?
  }

  private let probe = Mutex(StatusProbe())

  init(spool: Spool) { self.spool = spool }

  /// The spool's status, without ever waiting on the queue longer than `patience`: when the
  /// queue is busy (or stuck: a hung disk), the last status it gave is returned, with the time
  /// the unanswered request was made (`waitingSince`). At most one request waits on the queue.
  func status(patience: Duration = .seconds(1)) async -> StatusProbe {
    let ask = probe.withLock { probe -> Bool in
      if probe.waitingSince != nil { return false }
      probe.waitingSince = Date()
      return true
    }
    if ask {
      queue.async {
        let status = try? self.spool.status()
        self.probe.withLock { probe in
          probe.waitingSince = nil
          if let status {
            probe.last = status
            probe.answeredAt = Date()
          }
        }
      }
    }
    let until = ContinuousClock.now + patience
    while ContinuousClock.now < until {
      let current = probe.withLock { $0 }
      if current.waitingSince == nil { return current }
      do { try await Task.sleep(for: .milliseconds(10)) } catch { break }
    }
    return probe.withLock { $0 }
  }

  func run<T: Sendable>(_ body: @escaping @Sendable (Spool) throws -> T) async throws -> T {
    let spool = self.spool
    return try await withCheckedThrowingContinuation { continuation in
      queue.async { continuation.resume(with: Result { try body(spool) }) }
    }
  }

  /// ``Spool/markSent(_:)`` for this receipt, together with the others that arrive while a
  /// batch is queued or written. Returns when the batch holding it is durable; throws the
  /// batch's error (every message of a failed batch stays leased: see the sender's recovery).
  /// Always ends: the queue runs every batch it is given.
  func markSent(id: String, receiptJSON: String) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
      let schedule = marks.withLock { queue -> Bool in
        queue.pending.append(PendingMark(id: id, receiptJSON: receiptJSON, continuation: continuation))
        if queue.scheduled { return false }
        queue.scheduled = true
        return true
      }
      if schedule { self.queue.async { self.writeMarks() } }
    }
  }

  /// On `queue`: writes what is pending as one batch; if more arrived meanwhile, queues the
  /// next batch behind the work already waiting (so `next()` calls are not starved).
  private func writeMarks() {
    let batch = marks.withLock { queue -> [PendingMark] in
      defer { queue.pending = [] }
      return queue.pending
    }
    if !batch.isEmpty {
      let result = Result { try spool.markSent(batch.map { (id: $0.id, receiptJSON: $0.receiptJSON) }) }
      for mark in batch { mark.continuation.resume(with: result) }
    }
    let again = marks.withLock { queue -> Bool in
      if queue.pending.isEmpty {
        queue.scheduled = false
        return false
      }
      return true
    }
    if again { queue.async { self.writeMarks() } }
  }
}

/// A wake-up signal for one waiter: rings coalesce (at most one is remembered), so a ring
/// between "nothing to do" and "wait" is never lost.
final class Doorbell: Sendable {
  private let stream: AsyncStream<Void>
  private let continuation: AsyncStream<Void>.Continuation

  init() {
    (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  func ring() { continuation.yield() }

  /// Stops waiters for good.
  func close() { continuation.finish() }

  /// Waits for a ring; `false` when closed or cancelled. One waiter at a time.
  func wait() async -> Bool {
    var iterator = stream.makeAsyncIterator()
    return await iterator.next() != nil
  }
}

/// What the sender knows that the spool does not: the connection state, the last error, and
/// counts since start, for the status file.
final class NodeState: Sendable {
  struct Values: Sendable {
    /// `starting`, `connected` (the last call got an answer), `unreachable` (the last call
    /// failed with a retryable status), `stopping`, `stopped`.
    var connection = "starting"
    var lastError: String?
    var lastErrorAt: Date?
    var sentSinceStart = 0
    var rejectedSinceStart = 0
    var retriesSinceStart = 0
    var consecutiveFailures = 0
    var nextRetryAt: Date?
    /// Set by the outbox service when a claim failed (files may sit in claimed/ without a
    /// journal entry); the sender then recovers the spool when it is idle.
    var spoolNeedsRecovery = false
    /// The last time the node moved its work on: a call ended (whatever its outcome), a pause
    /// or a recovery ended, a claim ended, or the sender found nothing to send. The watchdog
    /// (``NodeStatus/stalled``) compares it with the work queued.
    var lastProgressAt = Date()
  }

  private let values = Mutex(Values())

  var snapshot: Values { values.withLock { $0 } }

  @discardableResult
  func update<T>(_ body: (inout Values) -> T) -> T { values.withLock { body(&$0) } }

  /// Records that the node moved its work on (see ``Values/lastProgressAt``).
  func progressed() { values.withLock { $0.lastProgressAt = Date() } }
}

/// The node's watchdog: a sender that moves nothing on while work is queued is stalled (a hung
/// disk under the spool, a call that never ends), and is never shown as healthy.
struct StallRule: Sendable, Hashable {
  /// How long the node may move nothing on while work is queued: three call deadlines, at least
  /// 10 s. Pauses after failures (backoff) do not count: the sender is waiting on purpose.
  var after: TimeInterval

  init(configuration: NodeConfiguration) {
    after = max(10, 3 * TimeInterval(configuration.callTimeoutSeconds))
  }

  /// When the node has been stalled since, or nil when it is not stalled.
  /// - Parameters:
  ///   - work: files in outbox/ plus claimed/ (in flight included); nil when the spool has not
  ///     answered (then work is assumed).
  ///   - pausingUntil: the end of the pause the sender is in, if any.
  func stalledSince(now: Date, lastProgressAt: Date, work: Int?, pausingUntil: Date?) -> Date? {
    if let work, work == 0 { return nil }
    if let pausingUntil, pausingUntil > now { return nil }
    let since = lastProgressAt.addingTimeInterval(after)
    return now >= since ? lastProgressAt : nil
  }
}
