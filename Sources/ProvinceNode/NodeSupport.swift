import Dispatch
import Foundation
import Synchronization

/// Runs the spool's synchronous, fsync-ing methods on one serial dispatch queue, off Swift's
/// cooperative pool: a slow disk then blocks that queue's thread, never the executor threads
/// the gRPC client and the other services run on. The spool serialises its methods with a lock
/// anyway, so one serial queue costs no parallelism.
final class SpoolExecutor: Sendable {
  let spool: Spool
  private let queue = DispatchQueue(label: "hitech.node.spool")

  init(spool: Spool) { self.spool = spool }

  func run<T: Sendable>(_ body: @escaping @Sendable (Spool) throws -> T) async throws -> T {
    let spool = self.spool
    return try await withCheckedThrowingContinuation { continuation in
      queue.async { continuation.resume(with: Result { try body(spool) }) }
    }
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
  }

  private let values = Mutex(Values())

  var snapshot: Values { values.withLock { $0 } }

  @discardableResult
  func update<T>(_ body: (inout Values) -> T) -> T { values.withLock { body(&$0) } }
}
