import AggregatorStore
import Foundation
import Logging
import PostgresNIO

/// The aggregator's store on PostgreSQL (postgres-nio), for production: several aggregator
/// processes can share one database, because everything that must be unique is a database
/// constraint, not process memory.
///
/// - A submission id is unique (`submissions_submission_id_unique`): when two aggregators
///   decide the same id at once, the second one's insert waits for the first's commit, fails
///   on the constraint, and the request is decided again, answering the first one's receipt.
///   The same holds for two "revision N" of one (base, year) (`report_revisions_key`).
/// - Accession numbers come from a sequence: unique, never reused, with gaps.
/// - Every connection runs with `synchronous_commit = on` (checked when the store opens, with
///   `fsync = on`), so ``ingest(_:)`` answers only after the commit is durable. Submissions
///   queued at the same time share one transaction (group commit, ``IngestWriter``).
/// - Round steps take a transaction-level advisory lock, so notices are committed in sequence
///   order and a reader polling by sequence (any aggregator's RoundNotices) misses none.
///
/// Open it with ``open(_:configuration:logger:)``; it runs its connection pool until
/// ``close()``.
public final class PostgresReportStore: ReportStore, Sendable {
  /// How the store connects and runs its writer.
  public struct Configuration: Sendable {
    /// The most submissions decided in one transaction.
    public var maxBatchSize: Int
    /// Connections in the pool (readers and the writer share it).
    public var maxConnections: Int
    /// How long opening waits for the first connection, in seconds.
    public var connectTimeoutSeconds: Double
    /// Called after every batch of the writer, committed or failed (for metrics).
    public var onBatch: (@Sendable (IngestBatchReport) -> Void)?
    /// The clock used for registry and audit times, microseconds since 1970-01-01T00:00:00Z.
    public var nowMicros: @Sendable () -> Int64

    public init(
      maxBatchSize: Int = 256,
      maxConnections: Int = 8,
      connectTimeoutSeconds: Double = 10,
      onBatch: (@Sendable (IngestBatchReport) -> Void)? = nil,
      nowMicros: @escaping @Sendable () -> Int64 = AggregatorDatabase.systemNowMicros
    ) {
      self.maxBatchSize = max(1, maxBatchSize)
      self.maxConnections = max(2, maxConnections)
      self.connectTimeoutSeconds = connectTimeoutSeconds
      self.onBatch = onBatch
      self.nowMicros = nowMicros
    }
  }

  public let url: PostgresStoreURL
  public var location: String { url.description }
  let configuration: Configuration
  let client: PostgresClient
  let logger: Logger
  private let runner: Task<Void, Never>
  package let writer: IngestWriter

  private init(url: PostgresStoreURL, configuration: Configuration, client: PostgresClient, runner: Task<Void, Never>, logger: Logger) {
    self.url = url
    self.configuration = configuration
    self.client = client
    self.runner = runner
    self.logger = logger
    let location = url.description
    self.writer = IngestWriter(
      commit: { requests, now, injector in
        try await PostgresIngest.commit(
          requests, client: client, nowMicros: now, location: location, faultInjector: injector, logger: logger)
      },
      path: location,
      maxBatchSize: configuration.maxBatchSize,
      nowMicros: configuration.nowMicros,
      onBatch: configuration.onBatch,
      logger: logger)
  }

  /// Connects to the database named by `url` (see ``PostgresStoreURL``), checks that commits
  /// are durable (`synchronous_commit` and `fsync` on), and brings the schema up to date.
  ///
  /// - Throws: ``StoreError`` `.invalidArgument` for a bad URL; `.cannotOpen` when the server
  ///   cannot be reached in time or refuses the login; `.failedPrecondition` when commits would
  ///   not be durable; `.schemaTooNew` when a newer version of this software migrated it.
  public static func open(
    _ url: String, configuration: Configuration = Configuration(), logger: Logger
  ) async throws -> PostgresReportStore {
    let parsed = try PostgresStoreURL(url)
    var clientConfiguration = parsed.clientConfiguration()
    clientConfiguration.options.maximumConnections = configuration.maxConnections
    clientConfiguration.options.connectTimeout = .milliseconds(Int64(configuration.connectTimeoutSeconds * 1000))
    clientConfiguration.options.additionalStartupParameters = [
      ("synchronous_commit", "on"), ("application_name", "hitech-aggregator"),
    ]
    // The pool's own log: errors only (its warnings include a benign race at start).
    var background = logger
    background.logLevel = .error
    let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: background)
    // The pool runs in this task until close() cancels it.
    let runner = Task { await client.run() }
    let store = PostgresReportStore(
      url: parsed, configuration: configuration, client: client, runner: runner, logger: logger)
    do {
      try await store.prepare()
    } catch {
      runner.cancel()
      await runner.value
      throw error
    }
    logger.info("store opened", metadata: ["store.location": "\(parsed)"])
    return store
  }

  private func prepare() async throws {
    let location = self.location
    let logger = self.logger
    let timeout = configuration.connectTimeoutSeconds
    do {
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          try await self.client.withConnection { connection in
            for (setting, wanted) in [("synchronous_commit", "on"), ("fsync", "on")] {
              let value = try await connection.query(
                PostgresQuery(unsafeSQL: "SHOW \(setting)"), logger: logger
              ).collect().first?.decode(String.self) ?? "?"
              guard value == wanted else {
                throw StoreError(
                  code: .failedPrecondition,
                  message: "the database \(location) has \(setting) = \(value); the store needs \(setting) = \(wanted) "
                    + "so that a receipt is never sent for a commit a crash could undo")
              }
            }
          }
        }
        group.addTask {
          try await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
          throw StoreError(
            code: .cannotOpen,
            message: "cannot reach the database \(location) within \(timeout) s; check that the server runs and the URL")
        }
        try await group.next()
        group.cancelAll()
      }
      // The server answered: the migrations run without the connect timeout, which is for
      // reaching the server, not for how long a busy server takes to apply the schema.
      try await client.withConnection { connection in
        try await PostgresSchema.migrate(connection, location: location, logger: logger)
        // Revisions stored before the submissions log existed join it once, in the order stored.
        _ = try await PostgresLog.catchUp(connection, logger)
      }
    } catch {
      throw Self.openingError(location, error)
    }
  }

  public func close() async throws {
    await writer.shutDown()
    runner.cancel()
    await runner.value
    logger.info("store closed", metadata: ["store.location": "\(location)"])
  }

  // MARK: Ingest

  public func ingest(_ request: IngestRequest) async throws -> IngestOutcome {
    try await writer.submit(request)
  }

  public var ingestStatistics: IngestStatistics {
    get async { await writer.statistics }
  }

  // MARK: Transactions

  /// Runs `body` in one read-only snapshot (REPEATABLE READ).
  func read<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
    try await transaction(what, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
  }

  /// Runs `body` in one read-write transaction (READ COMMITTED), committed before returning.
  func write<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
    try await transaction(what, begin: "BEGIN", body)
  }

  private func transaction<T: Sendable>(
    _ what: String, begin: String, _ body: (PostgresConnection) async throws -> T
  ) async throws -> T {
    let logger = self.logger
    do {
      return try await client.withConnection { connection in
        try await connection.query(PostgresQuery(unsafeSQL: begin), logger: logger)
        do {
          let value = try await body(connection)
          try await connection.query("COMMIT", logger: logger)
          return value
        } catch {
          _ = try? await connection.query("ROLLBACK", logger: logger)
          throw error
        }
      }
    } catch {
      throw Self.operationError(what, location: location, error)
    }
  }
}

// MARK: - Errors

extension PostgresReportStore {
  /// The SQLSTATE of a server error, or nil for any other error.
  static func sqlState(_ error: any Error) -> String? {
    (error as? PSQLError)?.serverInfo?[.sqlState]
  }

  /// True for failures of the database or the connection (as opposed to a statement wrong for
  /// its data): they fail a whole transaction and may go away on retry.
  static func isStorageFailure(_ error: any Error) -> Bool {
    if error is CancellationError { return true }
    if let error = error as? StoreError { return error.code == .unavailable }
    guard let state = sqlState(error) else { return true }
    // 22 data exception, 23 integrity constraint, 42 syntax or access rule, P0 raised by a
    // trigger: about this statement. Anything else (40 serialization/deadlock, 53 resources,
    // 57 operator intervention, 58 system, 08 connection, XX internal) is the storage's.
    return !["22", "23", "42", "P0"].contains(String(state.prefix(2)))
  }

  static func openingError(_ location: String, _ error: any Error) -> StoreError {
    if let error = error as? StoreError { return error }
    if let state = sqlState(error) {
      let message = (error as? PSQLError)?.serverInfo?[.message] ?? "server error"
      return StoreError(
        code: .cannotOpen, message: "cannot open the database \(location): \(message) (SQLSTATE \(state))", cause: error)
    }
    return StoreError(code: .cannotOpen, message: "cannot open the database \(location)", cause: error)
  }

  static func operationError(_ what: String, location: String, _ error: any Error) -> StoreError {
    if let error = error as? StoreError { return error }
    if let state = sqlState(error), state.hasPrefix("23") {
      let message = (error as? PSQLError)?.serverInfo?[.message] ?? "constraint violated"
      return StoreError(code: .invalidArgument, message: "\(what) failed: \(message)", cause: error)
    }
    if isStorageFailure(error) {
      return StoreError(
        code: .unavailable, message: "\(what) failed, nothing was stored; retry later (database \(location))", cause: error)
    }
    return StoreError(code: .internalError, message: "\(what) failed (database \(location))", cause: error)
  }
}

// MARK: - Administration

extension PostgresReportStore {
  /// Runs one statement (e.g. `CREATE DATABASE`) on its own short-lived connection to `url`,
  /// outside any transaction. For tests and operator tools.
  package static func execute(_ statement: String, url: String, logger: Logger) async throws {
    let parsed = try PostgresStoreURL(url)
    var background = logger
    background.logLevel = .error
    let client = PostgresClient(configuration: parsed.clientConfiguration(), backgroundLogger: background)
    let runner = Task { await client.run() }
    defer { runner.cancel() }
    do {
      try await client.withConnection { connection in
        try await connection.run(PostgresQuery(unsafeSQL: statement), logger)
      }
    } catch {
      throw operationError("running \(statement)", location: parsed.description, error)
    }
  }

  /// The same URL naming another database on the same server.
  package static func url(_ url: String, database: String) throws -> String {
    guard var components = URLComponents(string: url) else {
      throw StoreError(code: .invalidArgument, message: "the store URL \(PostgresStoreURL.redacted(url)) is not a URL")
    }
    components.path = "/" + database
    components.queryItems = components.queryItems?.filter { $0.name != "dbname" }
    return components.string ?? url
  }
}
