import Foundation
import GRDB
import Logging

/// The aggregator's durable store: one SQLite file, opened once, through a GRDB `DatabasePool`
/// (WAL, `synchronous = FULL`, foreign keys on, a busy timeout).
///
/// It keeps the registry (reporters, their CurveZMQ keys, bases), every submission it was given
/// (accepted, duplicate or rejected) with its findings and original bytes, every revision of
/// every (base, year) report, the accession counters, and an append-only audit log.
///
/// Submissions go through ``ingest(_:)``, which groups concurrent callers into one write
/// transaction (group commit) and answers each only after that transaction is durably
/// committed. A report it has answered for is never lost and never stored twice.
public final class AggregatorDatabase: Sendable {
  /// How the store opens its file and runs its writer.
  public struct Configuration: Sendable {
    /// How long a write waits for a lock held by another connection before failing, in seconds.
    public var busyTimeoutSeconds: Double
    /// The most submissions decided in one write transaction.
    public var maxBatchSize: Int
    /// Run `PRAGMA quick_check` when opening, so that a damaged file is refused at once rather
    /// than failing later. It reads the whole file: turn it off for very large stores.
    public var verifyIntegrityOnOpen: Bool
    /// Called after every batch of the writer, committed or failed (for metrics).
    public var onBatch: (@Sendable (IngestBatchReport) -> Void)?
    /// The clock used for registry and audit times, microseconds since 1970-01-01T00:00:00Z.
    public var nowMicros: @Sendable () -> Int64

    public init(
      busyTimeoutSeconds: Double = 5,
      maxBatchSize: Int = 256,
      verifyIntegrityOnOpen: Bool = true,
      onBatch: (@Sendable (IngestBatchReport) -> Void)? = nil,
      nowMicros: @escaping @Sendable () -> Int64 = AggregatorDatabase.systemNowMicros
    ) {
      self.busyTimeoutSeconds = busyTimeoutSeconds
      self.maxBatchSize = max(1, maxBatchSize)
      self.verifyIntegrityOnOpen = verifyIntegrityOnOpen
      self.onBatch = onBatch
      self.nowMicros = nowMicros
    }
  }

  /// The database file.
  public let path: String
  let configuration: Configuration
  let pool: DatabasePool
  package let writer: IngestWriter
  let logger: Logger

  /// Opens (creating if needed) the store at `path` and brings its schema up to date.
  ///
  /// - Throws: ``StoreError`` `.corruptDatabase` when the file is damaged, truncated or not a
  ///   SQLite database; `.cannotOpen` when it cannot be opened or created; `.schemaTooNew` when
  ///   a newer version of this software migrated it.
  public init(path: String, configuration: Configuration = Configuration(), logger: Logger) throws {
    self.path = path
    self.configuration = configuration
    self.logger = logger

    var grdb = GRDB.Configuration()
    grdb.label = "AggregatorStore"
    grdb.foreignKeysEnabled = true
    grdb.busyMode = .timeout(configuration.busyTimeoutSeconds)

    let pool: DatabasePool
    do {
      pool = try DatabasePool(path: path, configuration: grdb)
    } catch {
      throw StoreError.opening(path, error)
    }
    do {
      try Self.prepare(pool, path: path, verifyIntegrity: configuration.verifyIntegrityOnOpen)
    } catch {
      try? pool.close()
      throw StoreError.opening(path, error)
    }
    self.pool = pool
    self.writer = IngestWriter(
      commit: { [pool] requests, now, injector in
        try await pool.write { db in
          try IngestTransaction.decide(requests, db: db, nowMicros: now, path: path, faultInjector: injector)
        }
      },
      path: path,
      maxBatchSize: configuration.maxBatchSize,
      nowMicros: configuration.nowMicros,
      onBatch: configuration.onBatch,
      logger: logger)
    logger.info("store opened", metadata: ["store.path": "\(path)"])
  }

  private static func prepare(_ pool: DatabasePool, path: String, verifyIntegrity: Bool) throws {
    // DatabasePool turns WAL on and then sets `synchronous = NORMAL` on its writer connection
    // (after `prepareDatabase` runs), which may lose the last commits on power loss. FULL makes
    // every commit fsync the WAL, so a receipt is never sent for a transaction a power cut could
    // undo. The pool has one writer connection for its whole life, so this holds.
    try pool.writeWithoutTransaction { db in
      try db.execute(sql: "PRAGMA synchronous = FULL")
      guard try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2 else {
        throw StoreError(code: .internalError, message: "SQLite refused PRAGMA synchronous = FULL on \(path)")
      }
    }
    if verifyIntegrity {
      let problems = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
      if problems != ["ok"] {
        throw StoreError(
          code: .corruptDatabase,
          message: "the database file \(path) is damaged (quick_check: \(problems.prefix(3).joined(separator: "; "))); "
            + "restore it from a backup, or move it aside to start an empty store")
      }
    }
    let migrator = Schema.migrator
    let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
    if superseded {
      throw StoreError(
        code: .schemaTooNew,
        message: "the database file \(path) was migrated by a newer version of this software; run that version")
    }
    try migrator.migrate(pool)
    // Revisions stored before the submissions log existed join it once, in the order stored.
    _ = try pool.write { db in try SQLiteLog.catchUp(db) }
  }

  /// Stops taking submissions, waits for the batches already queued to be decided, and closes
  /// the file. Later calls on this store fail.
  public func close() async throws {
    await writer.shutDown()
    do {
      // Fold the WAL into the main file, so that a stopped store is one self-contained file.
      _ = try? await pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
      try pool.close()
    } catch {
      throw StoreError.operation("closing the store", path: path, error)
    }
    logger.info("store closed", metadata: ["store.path": "\(path)"])
  }

  /// Decides and durably stores one submission, grouped with the others queued at the same time
  /// into one write transaction. Returns only after that transaction committed (fsync'd).
  ///
  /// - Throws: a retryable ``StoreError`` (`.unavailable`) when the batch's transaction failed
  ///   (disk full, I/O error, busy, store closing): nothing of it was stored. Another
  ///   ``StoreError`` when this request alone could not be stored (a bug; not retryable).
  public func ingest(_ request: IngestRequest) async throws -> IngestOutcome {
    try await writer.submit(request)
  }

  /// The writer's counters since the store was opened.
  public var ingestStatistics: IngestStatistics {
    get async { await writer.statistics }
  }

  /// The system clock in microseconds since 1970-01-01T00:00:00Z.
  @Sendable public static func systemNowMicros() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
  }

  func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    do {
      return try await pool.read(body)
    } catch {
      throw StoreError.operation(what, path: path, error)
    }
  }

  func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    do {
      return try await pool.write(body)
    } catch {
      throw StoreError.operation(what, path: path, error)
    }
  }
}
