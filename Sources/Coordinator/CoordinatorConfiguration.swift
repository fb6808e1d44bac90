public import Configuration
public import Foundation
import AggregatorStorePostgres

/// Everything the coordinator daemon reads at start-up.
///
/// Read from a JSON file plus environment overrides (see ``init(reader:)``): every key
/// `coordinator.x.y` can be overridden by the variable `HITECH_COORDINATOR_X_Y` (camel case split
/// with underscores), e.g. `HITECH_COORDINATOR_STORE_PATH=/var/lib/hitech/coordinator.sqlite` or
/// `HITECH_COORDINATOR_ROUNDS_2025_DEADLINE=2026-04-15T17:00`. Times are ISO 8601 local times in
/// Asia/Shanghai (``ShanghaiTime``); reminders are offsets before the deadline ("14d", "3d").
/// The keys are documented in proto-schemas/COORDINATOR.md.
///
/// ```json
/// { "coordinator": {
///     "storePath": "/var/lib/hitech/coordinator.sqlite",
///     "aggregatorEndpoint": "tcp://aggregator.example:7400",
///     "aggregatorPublicKeyPath": "/etc/hitech/keys/aggregator.pub",
///     "secretKeyPath": "/etc/hitech/keys/coordinator.key",
///     "controlEndpoint": "ipc:///run/hitech/coordinator.sock",
///     "publishDirectory": "/var/www/hitech/results",
///     "statusPath": "/run/hitech/coordinator.status.json",
///     "catchUpWindow": "7d",
///     "rubricPath": "/etc/hitech/rubric.json",
///     "shutdownGraceSeconds": 10,
///     "clock": { "speed": 1 },
///     "rounds": {
///       "years": [2025],
///       "2025": {
///         "opensAt": "2026-01-05T09:00", "deadline": "2026-03-31T17:00",
///         "reminders": ["14d", "3d"], "latePolicy": "acceptMarkLate",
///         "assessmentAt": "2026-05-15T09:00", "publishAt": "2026-06-30T09:00",
///         "nationalHighTechOutput": 2150000000
///       } } } }
/// ```
public struct CoordinatorConfiguration: Sendable, Hashable {
  /// The coordinator's SQLite store (unless ``store`` names another).
  public var storePath: String
  /// The store, when not the SQLite file ``storePath``: `sqlite:PATH`, or a PostgreSQL URL
  /// (`postgres://USER[:PASSWORD]@HOST:PORT/DATABASE`, as the aggregator's `store`), on which
  /// several coordinators may run, one active and the others on standby.
  public var store: String?
  /// The aggregator's ROUTER endpoint (RoundRelay is served there).
  public var aggregatorEndpoint: String
  /// The aggregator's CURVE public key file.
  public var aggregatorPublicKeyPath: String
  /// The coordinator's CURVE secret key file (mode 0600); its public key is registered at the
  /// aggregator with the coordinator role.
  public var secretKeyPath: String
  /// Where RoundControl is served for operators; `nil` = `ipc://<folder of storePath>/control.sock`.
  /// Only `ipc://` or loopback `tcp://` endpoints: the service has no authentication of its own.
  public var controlEndpoint: String?
  /// Where the published results (JSON, CSV, HTML) are written.
  public var publishDirectory: String
  /// Where the daemon writes its state (JSON) every 2 s.
  public var statusPath: String?
  /// Where the daemon writes its metrics every 2 s, in the Prometheus text format (for
  /// node_exporter's textfile collector): active or standby, pending steps, round states.
  public var metricsPath: String?
  /// Steps due at most this long before now are still caught up after downtime; older
  /// reminders are skipped (transitions are always caught up).
  public var catchUpWindowSeconds: Int64
  /// A ``Assessment/Rubric`` as JSON; `nil` = the standard rubric.
  public var rubricPath: String?
  /// The deadline of one call to the aggregator.
  public var callTimeoutSeconds: Int
  /// The first wait after a failed call; doubled on each consecutive failure.
  public var initialBackoffMilliseconds: Int
  /// The longest wait between retries.
  public var maxBackoffMilliseconds: Int
  /// After SIGTERM or SIGINT, how long a step or call in flight may take to end before it is
  /// cancelled (a cancelled step stays pending and is driven again at the next start); the
  /// process exits (status 0) at most ``DaemonSupport/ShutdownDeadline/defaultMargin`` later
  /// whatever still runs.
  public var shutdownGraceSeconds: Int = 10
  /// The clock the calendar runs on.
  public var clock: ClockSetting
  /// The rounds, by report year.
  public var rounds: [RoundSchedule]

  /// The calendar clock: real time, or an accelerated one for demonstrations where
  /// simulated now = `epoch` + (real now − process start) × `speed`.
  public struct ClockSetting: Sendable, Hashable {
    /// How many simulated seconds pass per real second; 1 = real time.
    public var speed: Double
    /// The simulated time at process start; `nil` = the real time at start.
    public var epoch: Date?

    public init(speed: Double = 1, epoch: Date? = nil) {
      self.speed = speed
      self.epoch = epoch
    }

    /// Real time.
    public var isReal: Bool { speed == 1 && epoch == nil }
  }

  public init(
    storePath: String = "coordinator.sqlite",
    store: String? = nil,
    aggregatorEndpoint: String = "tcp://127.0.0.1:7400",
    aggregatorPublicKeyPath: String = "",
    secretKeyPath: String = "",
    controlEndpoint: String? = nil,
    publishDirectory: String = "published",
    statusPath: String? = nil,
    catchUpWindowSeconds: Int64 = 7 * 86_400,
    rubricPath: String? = nil,
    callTimeoutSeconds: Int = 30,
    initialBackoffMilliseconds: Int = 500,
    maxBackoffMilliseconds: Int = 30_000,
    clock: ClockSetting = ClockSetting(),
    rounds: [RoundSchedule] = []
  ) {
    self.storePath = storePath
    self.store = store
    self.aggregatorEndpoint = aggregatorEndpoint
    self.aggregatorPublicKeyPath = aggregatorPublicKeyPath
    self.secretKeyPath = secretKeyPath
    self.controlEndpoint = controlEndpoint
    self.publishDirectory = publishDirectory
    self.statusPath = statusPath
    self.catchUpWindowSeconds = catchUpWindowSeconds
    self.rubricPath = rubricPath
    self.callTimeoutSeconds = callTimeoutSeconds
    self.initialBackoffMilliseconds = initialBackoffMilliseconds
    self.maxBackoffMilliseconds = maxBackoffMilliseconds
    self.clock = clock
    self.rounds = rounds
  }

  /// Reads the `coordinator` scope of `reader`, keeping the defaults for absent keys, and
  /// validates. Throws ``Problem`` naming the key.
  public init(reader: ConfigReader) throws {
    let scope = reader.scoped(to: "coordinator")
    let d = CoordinatorConfiguration()

    func time(_ key: String) throws -> Date {
      guard let text = scope.string(forKey: ConfigKey(key)) else {
        throw Problem(key: key, rule: "is required: an ISO 8601 time in Asia/Shanghai, e.g. 2026-03-31T17:00")
      }
      guard let date = ShanghaiTime.parse(text) else {
        throw Problem(key: key, rule: "must be an ISO 8601 time such as 2026-03-31T17:00 (Asia/Shanghai) or 2026-03-31T09:00Z, got \"\(text)\"")
      }
      return date
    }
    func seconds(_ key: String, default value: Int64) throws -> Int64 {
      if let number = scope.int(forKey: ConfigKey(key)) { return Int64(number) }
      guard let text = scope.string(forKey: ConfigKey(key)) else { return value }
      guard let parsed = ReminderOffset.parse(text) else {
        throw Problem(key: key, rule: "must be a duration such as \"7d\", \"12h\", \"30m\" or seconds, got \"\(text)\"")
      }
      return parsed
    }

    var clock = ClockSetting(speed: scope.double(forKey: "clock.speed", default: 1))
    if scope.string(forKey: "clock.epoch") != nil { clock.epoch = try time("clock.epoch") }

    var rounds: [RoundSchedule] = []
    for year in scope.intArray(forKey: "rounds.years", default: []) {
      let prefix = "rounds.\(year)."
      let offsets = try scope.stringArray(forKey: ConfigKey(prefix + "reminders"), default: []).map { text in
        guard let offset = ReminderOffset.parse(text) else {
          throw Problem(key: prefix + "reminders", rule: "each reminder must be an offset before the deadline such as \"14d\" or \"36h\", got \"\(text)\"")
        }
        return offset
      }
      let policyText = scope.string(forKey: ConfigKey(prefix + "latePolicy"), default: LatePolicy.acceptMarkLate.rawValue)
      guard let policy = LatePolicy(rawValue: policyText) else {
        throw Problem(key: prefix + "latePolicy", rule: "must be \"acceptMarkLate\" or \"refuse\", got \"\(policyText)\"")
      }
      let national = scope.int(forKey: ConfigKey(prefix + "nationalHighTechOutput")).map(Int64.init)
      rounds.append(
        RoundSchedule(
          reportYear: year,
          opensAt: try time(prefix + "opensAt"),
          deadline: try time(prefix + "deadline"),
          reminderOffsets: offsets,
          latePolicy: policy,
          assessmentAt: try time(prefix + "assessmentAt"),
          publishAt: try time(prefix + "publishAt"),
          nationalHighTechOutputTenThousandYuan: national
        ))
    }

    self.init(
      storePath: scope.string(forKey: "storePath", default: d.storePath),
      store: scope.string(forKey: "store").flatMap { $0.isEmpty ? nil : $0 },
      aggregatorEndpoint: scope.string(forKey: "aggregatorEndpoint", default: d.aggregatorEndpoint),
      aggregatorPublicKeyPath: scope.string(forKey: "aggregatorPublicKeyPath", default: d.aggregatorPublicKeyPath),
      secretKeyPath: scope.string(forKey: "secretKeyPath", default: d.secretKeyPath),
      controlEndpoint: scope.string(forKey: "controlEndpoint"),
      publishDirectory: scope.string(forKey: "publishDirectory", default: d.publishDirectory),
      statusPath: scope.string(forKey: "statusPath"),
      catchUpWindowSeconds: try seconds("catchUpWindow", default: d.catchUpWindowSeconds),
      rubricPath: scope.string(forKey: "rubricPath"),
      callTimeoutSeconds: scope.int(forKey: "callTimeoutSeconds", default: d.callTimeoutSeconds),
      initialBackoffMilliseconds: scope.int(forKey: "initialBackoffMilliseconds", default: d.initialBackoffMilliseconds),
      maxBackoffMilliseconds: scope.int(forKey: "maxBackoffMilliseconds", default: d.maxBackoffMilliseconds),
      clock: clock,
      rounds: rounds
    )
    shutdownGraceSeconds = scope.int(forKey: "shutdownGraceSeconds", default: d.shutdownGraceSeconds)
    metricsPath = scope.string(forKey: "metricsPath")
    try validate()
  }

  /// Reads a configuration file (optional) with `HITECH_COORDINATOR_*` environment overrides on top.
  public static func load(
    file: String?,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) async throws -> CoordinatorConfiguration {
    var providers: [any ConfigProvider] = [
      EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "hitech")
    ]
    if let file {
      providers.append(try await FileProvider<JSONSnapshot>(filePath: .init(file)))
    }
    return try CoordinatorConfiguration(reader: ConfigReader(providers: providers))
  }

  /// A configuration the coordinator cannot run with, naming the key and the rule.
  public struct Problem: Error, CustomStringConvertible, Hashable {
    public let key: String
    public let rule: String
    public var description: String { "coordinator.\(key): \(rule)" }
  }

  /// The store in effect: ``store``, else `sqlite:` and ``storePath``.
  public var effectiveStore: String { store ?? "sqlite:" + storePath }

  /// The SQLite file in effect; `nil` on PostgreSQL.
  public var sqlitePath: String? {
    guard let store else { return storePath }
    return store.hasPrefix("sqlite:") ? String(store.dropFirst("sqlite:".count)) : nil
  }

  /// The lock file that keeps a second daemon off an SQLite store: `<file>.lock` (see
  /// ``DaemonSupport/StateLock``); `nil` on PostgreSQL, where several run (one active).
  public var stateLockPath: String? { sqlitePath.map { $0 + ".lock" } }

  /// The RoundControl endpoint in effect.
  public var effectiveControlEndpoint: String {
    if let controlEndpoint { return controlEndpoint }
    let folder = (storePath as NSString).deletingLastPathComponent
    let absolute = folder.hasPrefix("/") ? folder : FileManager.default.currentDirectoryPath + (folder.isEmpty ? "" : "/" + folder)
    return "ipc://" + absolute + "/control.sock"
  }

  /// The national output of a round's year as the assessment takes it.
  public func schedule(of reportYear: Int) -> RoundSchedule? {
    rounds.first { $0.reportYear == reportYear }
  }

  public func validate() throws {
    guard !storePath.isEmpty else { throw Problem(key: "storePath", rule: "must name a file") }
    if let store {
      if store.hasPrefix("sqlite:") {
        guard store.count > "sqlite:".count else { throw Problem(key: "store", rule: "sqlite: must name a file") }
      } else if PostgresStoreURL.isPostgres(store) {
        do {
          _ = try PostgresStoreURL(store)
        } catch {
          throw Problem(key: "store", rule: "\(error)")
        }
      } else {
        throw Problem(
          key: "store", rule: "must be sqlite:PATH or postgres://USER@HOST:PORT/DATABASE, got \"\(PostgresStoreURL.redacted(store))\"")
      }
    }
    guard aggregatorEndpoint.hasPrefix("tcp://") || aggregatorEndpoint.hasPrefix("ipc://") else {
      throw Problem(key: "aggregatorEndpoint", rule: "must be a tcp:// or ipc:// endpoint, got \"\(aggregatorEndpoint)\"")
    }
    guard !aggregatorPublicKeyPath.isEmpty else {
      throw Problem(key: "aggregatorPublicKeyPath", rule: "is required: the coordinator reaches the aggregator only over CURVE")
    }
    guard !secretKeyPath.isEmpty else {
      throw Problem(key: "secretKeyPath", rule: "is required: the coordinator's CURVE secret key file (mode 0600)")
    }
    let control = effectiveControlEndpoint
    let local = control.hasPrefix("ipc://") || control.hasPrefix("tcp://127.") || control.hasPrefix("tcp://localhost:")
      || control.hasPrefix("tcp://[::1]:")
    guard local else {
      throw Problem(key: "controlEndpoint", rule: "must be an ipc:// or loopback tcp:// endpoint (RoundControl has no authentication of its own), got \"\(control)\"")
    }
    guard !publishDirectory.isEmpty else { throw Problem(key: "publishDirectory", rule: "must name a folder") }
    guard catchUpWindowSeconds >= 0 else {
      throw Problem(key: "catchUpWindow", rule: "must not be negative, got \(catchUpWindowSeconds) s")
    }
    guard callTimeoutSeconds >= 1 && callTimeoutSeconds <= 3600 else {
      throw Problem(key: "callTimeoutSeconds", rule: "must be between 1 and 3600, got \(callTimeoutSeconds)")
    }
    guard initialBackoffMilliseconds >= 1 && initialBackoffMilliseconds <= 3_600_000 else {
      throw Problem(key: "initialBackoffMilliseconds", rule: "must be between 1 and 3600000, got \(initialBackoffMilliseconds)")
    }
    guard maxBackoffMilliseconds >= initialBackoffMilliseconds && maxBackoffMilliseconds <= 86_400_000 else {
      throw Problem(
        key: "maxBackoffMilliseconds",
        rule: "must be at least initialBackoffMilliseconds (\(initialBackoffMilliseconds)) and at most 86400000, got \(maxBackoffMilliseconds)")
    }
    guard shutdownGraceSeconds >= 1 && shutdownGraceSeconds <= 3600 else {
      throw Problem(key: "shutdownGraceSeconds", rule: "must be between 1 and 3600, got \(shutdownGraceSeconds)")
    }
    guard clock.speed > 0 && clock.speed.isFinite && clock.speed <= 1e9 else {
      throw Problem(key: "clock.speed", rule: "must be a positive factor (1 = real time), got \(clock.speed)")
    }
    var years: Set<Int> = []
    for round in rounds {
      guard years.insert(round.reportYear).inserted else {
        throw Problem(key: "rounds.years", rule: "lists \(round.reportYear) twice")
      }
      do {
        try round.validate()
      } catch {
        throw Problem(key: "rounds.\(error.reportYear).\(error.field)", rule: error.rule)
      }
    }
  }
}
