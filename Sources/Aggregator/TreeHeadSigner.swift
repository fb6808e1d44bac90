import AggregatorStore
import Logging
import ServiceLifecycle
import TransparencyLog

/// Signs a new tree head of the submissions log whenever it has grown, checking every
/// `interval` (and once at start), and records the aggregator's signing key in the store.
/// Several aggregators sharing a store each sign heads of the one tree with their own key.
struct TreeHeadSigner: Service {
  let database: any SubmissionsLog
  let key: LogSigningKey
  let interval: Duration
  let nowMicros: @Sendable () -> Int64
  let logger: Logger

  func run() async throws {
    try await database.recordSigningKey(key.verifyingKey, atMicros: nowMicros())
    logger.info("signing receipts and tree heads", metadata: ["log.key_id": "\(key.verifyingKey.keyID)"])
    // Ends at once on graceful shutdown (a sleeping loop would hold the daemon's exit up).
    try? await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        do {
          try await signIfGrown()
        } catch {
          if Task.isCancelled { break }
          logger.error("could not sign a tree head; will try again", metadata: ["error": "\(error)"])
        }
        try await Task.sleep(for: interval)
      }
    }
  }

  /// Signs and records a head of the whole log when it is larger than the latest signed one.
  /// Returns the head signed, if any.
  @discardableResult
  func signIfGrown() async throws -> StoredTreeHead? {
    let size = try await database.logSize()
    let latest = try await database.latestTreeHead()
    guard size > 0, size > latest?.head.treeSize ?? 0 else { return nil }
    let head = TreeHead(
      treeSize: size, rootHash: try await database.logRoot(size: size),
      timestamp: LogTimestamp(microsecondsSince1970: nowMicros()))
    let stored = StoredTreeHead(head: head, signed: try key.sign(head.encoded))
    try await database.appendTreeHead(stored)
    logger.debug("tree head signed", metadata: ["log.size": "\(size)", "log.root": "\(head.rootHash)"])
    return stored
  }
}
