import AggregatorStore
import Logging
public import ServiceLifecycle
import ZeroMQ

/// The aggregator's ZAP policy: the CURVE public keys registered in the store, each admitted as
/// its reporter's code, or as "coordinator:NAME" / "operator:NAME" for central principals.
///
/// The ZAP handler must answer without waiting on the database, so the policy is an
/// in-memory allow list that this service reloads from the store at start-up and then every
/// ``refreshInterval`` (1 s): a key registered or retired with the CLI (another process) takes
/// effect within that interval (plus one reload), for new connections and for connections
/// opened before it alike: the transport asks the list again at every call, and a call from a
/// retired key is answered `unauthenticated` before any service runs, so nothing is stored.
public struct RegisteredKeys: Service {
  public let allowList = CurveAllowList()
  public let refreshInterval: Duration
  private let database: any RegistryStore
  private let logger: Logger

  public init(database: any RegistryStore, refreshInterval: Duration = .seconds(1), logger: Logger) {
    self.database = database
    self.refreshInterval = refreshInterval
    self.logger = logger
  }

  /// Loads the active keys now. Keys that are not valid Z85 are skipped with an error logged.
  public func reload() async throws {
    var entries: [CurveKey: String] = [:]
    for record in try await database.keys(reporterCode: nil, includeRetired: false) where record.isActive {
      guard let key = try? CurveKey(z85: record.publicKeyZ85) else {
        logger.error("a registered key is not a Z85 CURVE key; it is ignored", metadata: ["reporter.code": "\(record.reporterCode)"])
        continue
      }
      entries[key] = record.reporterCode
    }
    for record in try await database.principalKeys(includeRetired: false) where record.isActive {
      guard let key = try? CurveKey(z85: record.publicKeyZ85) else {
        logger.error("a registered key is not a Z85 CURVE key; it is ignored", metadata: ["principal": "\(record.identity)"])
        continue
      }
      entries[key] = record.identity
    }
    if entries.count != allowList.count {
      logger.info("registered keys loaded", metadata: ["keys.active": "\(entries.count)"])
    }
    allowList.replaceAll(with: entries)
  }

  public func run() async throws {
    // Ends at graceful shutdown: the sleep is cancelled.
    try? await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        do {
          try await reload()
        } catch {
          // Keep the last good list: a busy or briefly unavailable store must not lock nodes out.
          logger.warning("could not reload registered keys", metadata: ["error": "\(error)"])
        }
        try await Task.sleep(for: refreshInterval)
      }
    }
  }
}
