public import Configuration
import Foundation

/// Everything the province node daemon reads at start-up.
///
/// Read from a JSON file plus environment overrides (see ``init(reader:)``): every key
/// `node.x` can be overridden by the variable `HITECH_NODE_X` (camel case split with
/// underscores), e.g. `HITECH_NODE_SPOOL_DIRECTORY=/var/spool/hitech`.
///
/// ```json
/// { "node": {
///     "reporterCode": "110000",
///     "aggregatorEndpoint": "tcp://aggregator.example:7400",
///     "fallbackEndpoints": ["tcp://aggregator-2.example:7400"],
///     "aggregatorPublicKeyPath": "/etc/hitech/keys/aggregator.pub",
///     "secretKeyPath": "/etc/hitech/keys/110000.key",
///     "spoolDirectory": "/var/spool/hitech",
///     "statusPath": "/run/hitech/node.status.json",
///     "metricsPath": "/var/lib/prometheus/node-exporter/hitech-node.prom",
///     "initialBackoffMilliseconds": 500,
///     "maxBackoffMilliseconds": 60000,
///     "callTimeoutSeconds": 30,
///     "maxInFlight": 64,
///     "shutdownGraceSeconds": 10
/// } }
/// ```
public struct NodeConfiguration: Sendable, Hashable {
  /// This node's reporter code (six digits, e.g. `110000`); the aggregator knows the node by
  /// its CURVE key, this code names it in logs and in the status file.
  public var reporterCode: String
  /// The aggregator's ROUTER endpoint.
  public var aggregatorEndpoint: String
  /// More endpoints of the same aggregator service (same server key), tried in turn when a call
  /// fails with `UNAVAILABLE` (e.g. a second aggregator process behind a shared store). Empty:
  /// only `aggregatorEndpoint`. Environment: comma-separated.
  public var fallbackEndpoints: [String] = []
  /// The aggregator's CURVE public key file.
  public var aggregatorPublicKeyPath: String
  /// This node's CURVE secret key file: must be mode 0600 (or stricter), else the node refuses
  /// to start.
  public var secretKeyPath: String
  /// The spool (outbox/, claimed/, sent/, rejected/, quarantine/, the journal).
  public var spoolDirectory: String
  /// Where the daemon writes its state (JSON) every 2 s; `hitech node status` reads it.
  public var statusPath: String?
  /// Where the daemon writes its metrics every 2 s in the Prometheus text format (for
  /// node_exporter's textfile collector); `nil` writes none.
  public var metricsPath: String?
  /// The first wait after a retryable failure; doubled on every consecutive failure.
  public var initialBackoffMilliseconds: Int
  /// The longest wait between retries (the jittered wait never exceeds it).
  public var maxBackoffMilliseconds: Int
  /// The deadline of one submission.
  public var callTimeoutSeconds: Int
  /// How many submissions may be in flight at once.
  public var maxInFlight: Int
  /// After SIGTERM or SIGINT, how long calls in flight may take to end before they are
  /// cancelled; the process exits (status 0) at most ``DaemonSupport/ShutdownDeadline/defaultMargin``
  /// later, whatever still runs.
  public var shutdownGraceSeconds: Int = 10
  /// The centre's receipt signing keys (`.pub` files, RECEIPTS.md §4) the audit of the
  /// submissions log checks signatures with; empty: the keys the aggregator lists at the first
  /// audit are pinned in the spool (trust on first use).
  public var receiptKeyPaths: [String] = []
  /// Keys the centre has retired: what they signed still verifies, reported as retired.
  public var retiredReceiptKeyPaths: [String] = []
  /// How often the node audits the submissions log, in seconds (5 to 3600).
  public var auditIntervalSeconds: Int = 30

  public init(
    reporterCode: String = "",
    aggregatorEndpoint: String = "tcp://127.0.0.1:7400",
    aggregatorPublicKeyPath: String = "",
    secretKeyPath: String = "",
    spoolDirectory: String = "spool",
    statusPath: String? = nil,
    initialBackoffMilliseconds: Int = 500,
    maxBackoffMilliseconds: Int = 60_000,
    callTimeoutSeconds: Int = 30,
    maxInFlight: Int = 64
  ) {
    self.reporterCode = reporterCode
    self.aggregatorEndpoint = aggregatorEndpoint
    self.aggregatorPublicKeyPath = aggregatorPublicKeyPath
    self.secretKeyPath = secretKeyPath
    self.spoolDirectory = spoolDirectory
    self.statusPath = statusPath
    self.initialBackoffMilliseconds = initialBackoffMilliseconds
    self.maxBackoffMilliseconds = maxBackoffMilliseconds
    self.callTimeoutSeconds = callTimeoutSeconds
    self.maxInFlight = maxInFlight
  }

  /// `aggregatorEndpoint`, then `fallbackEndpoints`.
  public var endpoints: [String] { [aggregatorEndpoint] + fallbackEndpoints }

  /// Reads the `node` scope of `reader`, keeping the defaults for absent keys, and validates.
  public init(reader: ConfigReader) throws {
    let scope = reader.scoped(to: "node")
    let d = NodeConfiguration()
    self.init(
      reporterCode: scope.string(forKey: "reporterCode", default: d.reporterCode),
      aggregatorEndpoint: scope.string(forKey: "aggregatorEndpoint", default: d.aggregatorEndpoint),
      aggregatorPublicKeyPath: scope.string(forKey: "aggregatorPublicKeyPath", default: d.aggregatorPublicKeyPath),
      secretKeyPath: scope.string(forKey: "secretKeyPath", default: d.secretKeyPath),
      spoolDirectory: scope.string(forKey: "spoolDirectory", default: d.spoolDirectory),
      statusPath: scope.string(forKey: "statusPath"),
      initialBackoffMilliseconds: scope.int(forKey: "initialBackoffMilliseconds", default: d.initialBackoffMilliseconds),
      maxBackoffMilliseconds: scope.int(forKey: "maxBackoffMilliseconds", default: d.maxBackoffMilliseconds),
      callTimeoutSeconds: scope.int(forKey: "callTimeoutSeconds", default: d.callTimeoutSeconds),
      maxInFlight: scope.int(forKey: "maxInFlight", default: d.maxInFlight)
    )
    fallbackEndpoints = scope.stringArray(forKey: "fallbackEndpoints", default: [])
    metricsPath = scope.string(forKey: "metricsPath")
    shutdownGraceSeconds = scope.int(forKey: "shutdownGraceSeconds", default: d.shutdownGraceSeconds)
    receiptKeyPaths = scope.stringArray(forKey: "receiptKeys", default: [])
    retiredReceiptKeyPaths = scope.stringArray(forKey: "retiredReceiptKeys", default: [])
    auditIntervalSeconds = scope.int(forKey: "auditIntervalSeconds", default: d.auditIntervalSeconds)
    try validate()
  }

  /// Reads a configuration file (optional) with `HITECH_NODE_*` environment overrides on top.
  public static func load(
    file: String?,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) async throws -> NodeConfiguration {
    var providers: [any ConfigProvider] = [
      EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "hitech")
    ]
    if let file {
      providers.append(try await FileProvider<JSONSnapshot>(filePath: .init(file)))
    }
    return try NodeConfiguration(reader: ConfigReader(providers: providers))
  }

  /// A configuration the node cannot run with, naming the key and the rule.
  public struct Problem: Error, CustomStringConvertible, Hashable {
    public let key: String
    public let rule: String
    public var description: String { "node.\(key): \(rule)" }
  }

  public func validate() throws {
    guard reporterCode.count == 6, reporterCode.allSatisfy({ $0.isASCII && $0.isNumber }) else {
      throw Problem(key: "reporterCode", rule: "must be six digits (e.g. 110000), got \"\(reporterCode)\"")
    }
    guard aggregatorEndpoint.hasPrefix("tcp://") || aggregatorEndpoint.hasPrefix("ipc://") else {
      throw Problem(key: "aggregatorEndpoint", rule: "must be a tcp:// or ipc:// endpoint, got \"\(aggregatorEndpoint)\"")
    }
    for endpoint in fallbackEndpoints where !(endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://")) {
      throw Problem(key: "fallbackEndpoints", rule: "each must be a tcp:// or ipc:// endpoint, got \"\(endpoint)\"")
    }
    guard !aggregatorPublicKeyPath.isEmpty else {
      throw Problem(key: "aggregatorPublicKeyPath", rule: "is required: reports cross machines only over CURVE")
    }
    guard !secretKeyPath.isEmpty else {
      throw Problem(key: "secretKeyPath", rule: "is required: the node's CURVE secret key file (mode 0600)")
    }
    guard !spoolDirectory.isEmpty else {
      throw Problem(key: "spoolDirectory", rule: "must name a folder")
    }
    guard initialBackoffMilliseconds >= 1 && initialBackoffMilliseconds <= 3_600_000 else {
      throw Problem(key: "initialBackoffMilliseconds", rule: "must be between 1 and 3600000, got \(initialBackoffMilliseconds)")
    }
    guard maxBackoffMilliseconds >= initialBackoffMilliseconds && maxBackoffMilliseconds <= 86_400_000 else {
      throw Problem(
        key: "maxBackoffMilliseconds",
        rule: "must be at least initialBackoffMilliseconds (\(initialBackoffMilliseconds)) and at most 86400000, got \(maxBackoffMilliseconds)")
    }
    guard callTimeoutSeconds >= 1 && callTimeoutSeconds <= 3600 else {
      throw Problem(key: "callTimeoutSeconds", rule: "must be between 1 and 3600, got \(callTimeoutSeconds)")
    }
    guard maxInFlight >= 1 && maxInFlight <= 256 else {
      throw Problem(key: "maxInFlight", rule: "must be between 1 and 256, got \(maxInFlight)")
    }
    guard auditIntervalSeconds >= 5 && auditIntervalSeconds <= 3600 else {
      throw Problem(key: "auditIntervalSeconds", rule: "must be between 5 and 3600, got \(auditIntervalSeconds)")
    }
    guard shutdownGraceSeconds >= 1 && shutdownGraceSeconds <= 3600 else {
      throw Problem(key: "shutdownGraceSeconds", rule: "must be between 1 and 3600, got \(shutdownGraceSeconds)")
    }
  }
}
