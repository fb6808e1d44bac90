public import Configuration
import Foundation

/// Everything the aggregator daemon reads at start-up.
///
/// Read from a JSON file plus environment overrides (see ``init(reader:)``): every key
/// `aggregator.x.y` can be overridden by the variable `HITECH_AGGREGATOR_X_Y`, e.g.
/// `HITECH_AGGREGATOR_DATABASE_PATH=/var/lib/hitech/aggregator.sqlite`.
///
/// ```json
/// { "aggregator": {
///     "endpoint": "tcp://0.0.0.0:7400",
///     "secretKeyPath": "/etc/hitech/keys/aggregator.key",
///     "store": "sqlite:/var/lib/hitech/aggregator.sqlite",
///     "maxMessageBytes": 4194304,
///     "yearOnYearJumpPercent": 300,
///     "statusPath": "/run/hitech/aggregator.status.json",
///     "dashboard": { "listen": "127.0.0.1:8480" },
///     "receiptSigningKeyPath": "/var/lib/hitech/receipt-signing.key",
///     "treeHeadIntervalSeconds": 10,
///     "callsPerSecondPerNode": 500,
///     "shutdownGraceSeconds": 10
/// } }
/// ```
public struct AggregatorConfiguration: Sendable, Hashable {
  /// The ROUTER endpoint province nodes connect to.
  public var endpoint: String
  /// The aggregator's CURVE secret key file (mode 0600). `nil` runs without CURVE, which is
  /// allowed only on loopback or ipc endpoints (for tests and local demos): without CURVE
  /// there is no reporter identity, so every submission is refused with `unauthenticated`.
  public var secretKeyPath: String?
  /// After SIGTERM or SIGINT, how long RPCs in flight may take to end before they end with
  /// `UNAVAILABLE` and are cancelled; the store is then closed, and the process exits (status
  /// 0) at most ``DaemonSupport/ShutdownDeadline/defaultMargin`` later whatever still runs.
  public var shutdownGraceSeconds: Int = 10
  /// The SQLite store's file, used when `store` is not set.
  public var databasePath: String
  /// The largest request message accepted, in bytes (default 4 MiB, as in gRPC and
  /// `proto-schemas/WIRE.md` §5). A larger request is answered `RESOURCE_EXHAUSTED` on a
  /// connection that stays open; frames over twice this limit make libzmq drop the connection.
  public var maxMessageBytes: Int
  /// Year-on-year changes beyond this percentage (e.g. 300 = ×3 or ÷3) are warnings.
  public var yearOnYearJumpPercent: Int
  /// Where the daemon writes its state (JSON) for monitoring, refreshed every few seconds.
  public var statusPath: String?
  /// Where the monitoring dashboard, its JSON API and `/metrics` are served over HTTP,
  /// `host:port` (a bare port means 127.0.0.1); `nil` serves none.
  public var dashboardListen: String?
  /// Which database holds the store: `sqlite:PATH` or `postgres://USER@HOST:PORT/DATABASE`
  /// (see ``StoreLocation``); `nil` means `sqlite:` + ``databasePath``. Environment:
  /// `HITECH_AGGREGATOR_STORE`.
  public var store: String?
  /// The Ed25519 key that signs receipts and tree heads (proto-schemas/RECEIPTS.md), one line
  /// of 64 hex digits, mode 0600; created with its `.pub` on first start when absent. `nil`
  /// means `receipt-signing.key` in the directory of ``databasePath``.
  public var receiptSigningKeyPath: String?
  /// How often the aggregator checks whether the submissions log grew and signs a new tree
  /// head, in seconds (1 to 60; the log promises a new head at least every minute).
  public var treeHeadIntervalSeconds: Int = 10
  /// How many calls one node (one CURVE key, all its connections together) may start per
  /// second on average, with bursts of twice that; a call beyond it is refused
  /// `RESOURCE_EXHAUSTED` and retried by the node after a backoff. It bounds what one key can
  /// make the aggregator do, and must stay above what one node's backlog drains at (1 to
  /// 100000).
  public var callsPerSecondPerNode: Int = 500

  public init(
    endpoint: String = "tcp://127.0.0.1:7400",
    secretKeyPath: String? = nil,
    databasePath: String = "aggregator.sqlite",
    maxMessageBytes: Int = 4 << 20,
    yearOnYearJumpPercent: Int = 300,
    statusPath: String? = nil,
    dashboardListen: String? = nil,
    store: String? = nil
  ) {
    self.endpoint = endpoint
    self.secretKeyPath = secretKeyPath
    self.databasePath = databasePath
    self.maxMessageBytes = maxMessageBytes
    self.yearOnYearJumpPercent = yearOnYearJumpPercent
    self.statusPath = statusPath
    self.dashboardListen = dashboardListen
    self.store = store
  }

  /// Reads the `aggregator` scope of `reader`, keeping the defaults for absent keys.
  public init(reader: ConfigReader) throws {
    let scope = reader.scoped(to: "aggregator")
    let defaults = AggregatorConfiguration()
    self.init(
      endpoint: scope.string(forKey: "endpoint", default: defaults.endpoint),
      secretKeyPath: scope.string(forKey: "secretKeyPath"),
      databasePath: scope.string(forKey: "databasePath", default: defaults.databasePath),
      maxMessageBytes: scope.int(forKey: "maxMessageBytes", default: defaults.maxMessageBytes),
      yearOnYearJumpPercent: scope.int(forKey: "yearOnYearJumpPercent", default: defaults.yearOnYearJumpPercent),
      statusPath: scope.string(forKey: "statusPath"),
      dashboardListen: scope.string(forKey: "dashboard.listen"),
      store: scope.string(forKey: "store")
    )
    shutdownGraceSeconds = scope.int(forKey: "shutdownGraceSeconds", default: defaults.shutdownGraceSeconds)
    receiptSigningKeyPath = scope.string(forKey: "receiptSigningKeyPath")
    treeHeadIntervalSeconds = scope.int(forKey: "treeHeadIntervalSeconds", default: defaults.treeHeadIntervalSeconds)
    callsPerSecondPerNode = scope.int(forKey: "callsPerSecondPerNode", default: defaults.callsPerSecondPerNode)
    try validate()
  }

  /// Reads a configuration file (optional) with `HITECH_*` environment overrides on top.
  public static func load(
    file: String?,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) async throws -> AggregatorConfiguration {
    var providers: [any ConfigProvider] = [
      EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "hitech")
    ]
    if let file {
      providers.append(try await FileProvider<JSONSnapshot>(filePath: .init(file)))
    }
    return try AggregatorConfiguration(reader: ConfigReader(providers: providers))
  }

  /// The receipt signing key file in effect (see ``receiptSigningKeyPath``).
  public var effectiveReceiptSigningKeyPath: String {
    if let receiptSigningKeyPath { return receiptSigningKeyPath }
    let directory = (databasePath as NSString).deletingLastPathComponent
    return directory.isEmpty ? "receipt-signing.key" : (directory as NSString).appendingPathComponent("receipt-signing.key")
  }

  /// The lock file that keeps a second daemon off a SQLite store: `<path>.lock` (see
  /// ``DaemonSupport/StateLock``); nil for a PostgreSQL store, which several aggregator
  /// processes share by design.
  public var stateLockPath: String? {
    switch try? storeLocation {
    case .sqlite(let path): path + ".lock"
    case .postgres, nil: nil
    }
  }

  /// A configuration the daemon cannot run with, naming the key and the rule.
  public struct Problem: Error, CustomStringConvertible, Hashable {
    public let key: String
    public let rule: String
    public var description: String { "aggregator.\(key): \(rule)" }
  }

  /// The dashboard's host and port, when it is served.
  public var dashboardAddress: (host: String, port: Int)? {
    guard let dashboardListen else { return nil }
    if let port = Int(dashboardListen) { return ("127.0.0.1", port) }
    guard let colon = dashboardListen.lastIndex(of: ":"), let port = Int(dashboardListen[dashboardListen.index(after: colon)...])
    else { return nil }
    var host = String(dashboardListen[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "127.0.0.1" : host, port)
  }

  /// The database the store is in: ``store``, else the SQLite file ``databasePath``.
  public var storeLocation: StoreLocation {
    get throws { try StoreLocation(store ?? "sqlite:" + databasePath) }
  }

  func validate() throws {
    if let dashboardListen {
      guard let address = dashboardAddress, (0...65535).contains(address.port) else {
        throw Problem(key: "dashboard.listen", rule: "host:port or a port, e.g. 127.0.0.1:8480, got \"\(dashboardListen)\"")
      }
    }
    guard maxMessageBytes >= 1024 && maxMessageBytes <= 64 << 20 else {
      throw Problem(key: "maxMessageBytes", rule: "must be between 1024 and 67108864, got \(maxMessageBytes)")
    }
    guard shutdownGraceSeconds >= 1 && shutdownGraceSeconds <= 3600 else {
      throw Problem(key: "shutdownGraceSeconds", rule: "must be between 1 and 3600, got \(shutdownGraceSeconds)")
    }
    guard yearOnYearJumpPercent > 100 else {
      throw Problem(key: "yearOnYearJumpPercent", rule: "must be above 100 (a factor above ×1), got \(yearOnYearJumpPercent)")
    }
    guard !databasePath.isEmpty else {
      throw Problem(key: "databasePath", rule: "must name a file")
    }
    if let store {
      do { _ = try StoreLocation(store) } catch { throw Problem(key: "store", rule: "sqlite:PATH or postgres://USER@HOST:PORT/DATABASE (\(error))") }
    }
    guard (1...100_000).contains(callsPerSecondPerNode) else {
      throw Problem(key: "callsPerSecondPerNode", rule: "must be between 1 and 100000, got \(callsPerSecondPerNode)")
    }
    guard (1...60).contains(treeHeadIntervalSeconds) else {
      throw Problem(key: "treeHeadIntervalSeconds", rule: "must be between 1 and 60, got \(treeHeadIntervalSeconds)")
    }
    if let receiptSigningKeyPath, receiptSigningKeyPath.isEmpty || receiptSigningKeyPath.hasSuffix("/") {
      throw Problem(key: "receiptSigningKeyPath", rule: "must name a file")
    }
    if secretKeyPath == nil {
      let local = endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://")
        || endpoint.hasPrefix("tcp://127.") || endpoint.hasPrefix("tcp://localhost:") || endpoint.hasPrefix("tcp://[::1]:")
      guard local else {
        throw Problem(key: "secretKeyPath", rule: "is required for a non-loopback endpoint (\(endpoint)): reports cross machines only over CURVE")
      }
    }
  }
}
