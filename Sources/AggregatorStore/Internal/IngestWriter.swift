import Logging

/// The group-commit writer: callers queue requests, and one drain loop at a time takes every
/// request queued so far (up to `maxBatchSize`), decides them in order inside ONE write
/// transaction, commits it durably (SQLite: synchronous = FULL, the WAL is fsync'd; PostgreSQL:
/// synchronous_commit = on), and only then resumes each caller with its outcome. While a transaction runs, new requests queue up for the next one,
/// so the more callers wait, the larger the batches and the fewer the fsyncs.
///
/// The drain loop is a task started when the first request arrives at an idle writer and ended
/// when the queue is empty, so an idle store runs nothing.
///
/// The backend supplies ``Commit``: decide a batch in one transaction and commit it, or throw
/// (then nothing of the batch was stored, and every caller gets a retryable error).
package actor IngestWriter {
  private struct Pending {
    let request: IngestRequest
    let continuation: CheckedContinuation<IngestOutcome, any Error>
  }

  /// Called inside the batch's transaction before request `index` is decided; throwing from it
  /// fails the batch as a storage error would. For tests only.
  package typealias FaultInjector = @Sendable (_ index: Int) throws -> Void

  /// Decides `batch` in order in one transaction and commits it durably; one result per
  /// request, in order. Throws when the transaction failed (nothing of it was stored).
  package typealias Commit = @Sendable (
    _ batch: [IngestRequest], _ nowMicros: Int64, _ faultInjector: FaultInjector?
  ) async throws -> [Result<IngestOutcome, StoreError>]

  private let commit: Commit
  private let path: String
  private let maxBatchSize: Int
  private let nowMicros: @Sendable () -> Int64
  private let onBatch: (@Sendable (IngestBatchReport) -> Void)?
  private let logger: Logger

  private var queue: [Pending] = []
  private var draining = false
  private var paused = false
  private var closed = false
  private var idleWaiters: [CheckedContinuation<Void, Never>] = []
  private var faultInjector: FaultInjector?
  package private(set) var statistics = IngestStatistics()

  /// - Parameter path: where the store is, for messages (a file path or a `postgres://` URL).
  package init(
    commit: @escaping Commit,
    path: String,
    maxBatchSize: Int,
    nowMicros: @escaping @Sendable () -> Int64,
    onBatch: (@Sendable (IngestBatchReport) -> Void)?,
    logger: Logger
  ) {
    self.commit = commit
    self.path = path
    self.maxBatchSize = maxBatchSize
    self.nowMicros = nowMicros
    self.onBatch = onBatch
    self.logger = logger
  }

  package func submit(_ request: IngestRequest) async throws -> IngestOutcome {
    guard !closed else {
      throw StoreError(code: .unavailable, message: "the store \(path) is closing; retry later")
    }
    return try await withCheckedThrowingContinuation { continuation in
      queue.append(Pending(request: request, continuation: continuation))
      startDrainingIfNeeded()
    }
  }

  /// Refuses new requests and waits until every queued request has been decided.
  package func shutDown() async {
    closed = true
    paused = false
    startDrainingIfNeeded()
    await waitUntilIdle()
  }

  // MARK: Test hooks

  /// Holds queued requests until ``resume()`` (so a test can build one batch of its choice).
  package func pause() { paused = true }

  package func resume() {
    paused = false
    startDrainingIfNeeded()
  }

  package var queuedCount: Int { queue.count }

  package func setFaultInjector(_ injector: FaultInjector?) { faultInjector = injector }

  package func waitUntilIdle() async {
    if !draining && (queue.isEmpty || paused) { return }
    await withCheckedContinuation { idleWaiters.append($0) }
  }

  // MARK: The drain loop

  private func startDrainingIfNeeded() {
    guard !draining, !paused, !queue.isEmpty else { return }
    draining = true
    Task { await self.drain() }
  }

  private func drain() async {
    while !paused, !queue.isEmpty {
      // Let the callers just resumed by the previous batch (and any other ready task) queue
      // their next request first: without this, the callers answered by one commit miss the
      // next batch and the writer alternates between a large and a tiny batch.
      await Task.yield()
      let count = min(maxBatchSize, queue.count)
      let batch = Array(queue.prefix(count))
      queue.removeFirst(count)
      await run(batch)
    }
    draining = false
    let waiters = idleWaiters
    idleWaiters = []
    for waiter in waiters { waiter.resume() }
  }

  private func run(_ batch: [Pending]) async {
    let requests = batch.map(\.request)
    let now = nowMicros()
    let injector = faultInjector
    let commit = self.commit
    let started = ContinuousClock.now
    let results: [Result<IngestOutcome, StoreError>]
    var committed = true
    do {
      results = try await commit(requests, now, injector)
    } catch {
      committed = false
      let failure = StoreError(
        code: .unavailable,
        message: "storing a batch of \(batch.count) submission(s) in \(path) failed and was rolled back; "
          + "nothing of it was stored; retry later",
        cause: error)
      logger.info(
        "ingest batch failed",
        metadata: ["store.batch.size": "\(batch.count)", "error": "\(error)"])
      results = Array(repeating: .failure(failure), count: batch.count)
    }
    let elapsed = ContinuousClock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    statistics.record(batchSize: batch.count, committed: committed)
    onBatch?(IngestBatchReport(size: batch.count, committed: committed, durationSeconds: seconds))
    for (pending, result) in zip(batch, results) {
      pending.continuation.resume(with: result)
    }
  }
}
