import AggregatorStore
import AggregatorStorePostgres
import Logging

/// Which database holds the aggregator's store, as written in `aggregator.store`:
///
/// - `sqlite:PATH` (or a bare path): the embedded default, one SQLite file;
/// - `postgres://USER@HOST:PORT/DATABASE?...` (or `postgresql://`): PostgreSQL, which several
///   aggregator processes can share (see ``PostgresStoreURL`` for the parameters).
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
  case sqlite(path: String)
  case postgres(url: String)

  /// - Throws: ``StoreError`` `.invalidArgument` for an empty path or a malformed URL.
  public init(_ text: String) throws {
    if PostgresStoreURL.isPostgres(text) {
      _ = try PostgresStoreURL(text)
      self = .postgres(url: text)
      return
    }
    let path = text.hasPrefix("sqlite:") ? String(text.dropFirst("sqlite:".count)) : text
    guard !path.isEmpty else {
      throw StoreError(code: .invalidArgument, message: "the store \"\(text)\" names no file: use sqlite:PATH or postgres://…")
    }
    if path.contains("://") {
      throw StoreError(
        code: .invalidArgument, message: "the store \"\(PostgresStoreURL.redacted(text))\" is neither sqlite:PATH nor postgres://…")
    }
    self = .sqlite(path: path)
  }

  /// For logs: the path, or the URL without its password.
  public var description: String {
    switch self {
    case .sqlite(let path): "sqlite:\(path)"
    case .postgres(let url): (try? PostgresStoreURL(url).description) ?? PostgresStoreURL.redacted(url)
    }
  }

  /// Opens the store (creating and migrating it when needed).
  ///
  /// - Parameters:
  ///   - verifyIntegrity: SQLite only: run `quick_check` when opening (reads the whole file).
  ///   - onBatch: called after every group-commit batch (metrics).
  public func open(
    verifyIntegrity: Bool = true,
    onBatch: (@Sendable (IngestBatchReport) -> Void)? = nil,
    logger: Logger
  ) async throws -> any ReportStore {
    switch self {
    case .sqlite(let path):
      return try AggregatorDatabase(
        path: path, configuration: .init(verifyIntegrityOnOpen: verifyIntegrity, onBatch: onBatch), logger: logger)
    case .postgres(let url):
      return try await PostgresReportStore.open(url, configuration: .init(onBatch: onBatch), logger: logger)
    }
  }
}
