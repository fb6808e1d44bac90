import AggregatorStore
import AggregatorStorePostgres
import DaemonSupport
import Foundation
import TestProcesses
import GRPCCore
import HiTechSchema
import Logging
import ZeroMQ
import ZeroMQTransport

/// A real `hitech aggregator run` process with its own folder: keys, configuration, store,
/// the sample registry (plus any extra bases), registered node keys and open rounds. The one
/// process fixture of the end-to-end, crash and hostile-peer tests.
public final class AggregatorProcess: @unchecked Sendable {
  public let directory: URL
  public let endpoint: String
  public let serverKeys: CurveKeyPair
  public let keysDirectory: String
  /// `aggregator.store` when not the SQLite file `databasePath` (e.g. a `postgres://` URL).
  public let store: String?
  public private(set) var nodeKeys: [String: CurveKeyPair] = [:]
  private var process: ChildProcess?

  public var databasePath: String { directory.appendingPathComponent("aggregator.sqlite").path }
  public var statusPath: String { directory.appendingPathComponent("status.json").path }
  public var configPath: String { directory.appendingPathComponent("aggregator.json").path }
  public var logPath: String { directory.appendingPathComponent("aggregator.log").path }
  /// The receipt signing key (created by the daemon's first start; see RECEIPTS.md §4).
  public var receiptSigningKeyPath: String { directory.appendingPathComponent("receipt-signing.key").path }
  public var serverPublicKeyPath: String { keysDirectory + "/aggregator.pub" }
  public func secretKeyPath(_ reporter: String) -> String { keysDirectory + "/\(reporter).key" }
  public func publicKeyPath(_ reporter: String) -> String { keysDirectory + "/\(reporter).pub" }

  /// The running daemon's process id.
  public var processIdentifier: Int32? { process.map(\.processIdentifier) }
  /// Whether the daemon is running.
  public var isRunning: Bool { process?.isRunning ?? false }

  /// The `hitech` executable built beside the test bundle.
  public static var executable: URL {
    get throws {
      let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("hitech")
      guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw Failure("\(url.path) is missing: build it first with `swift build --build-tests` (Tests/run.sh does)")
      }
      return url
    }
  }

  /// The repository's root folder (for `deploy/sample/registry.json`).
  public static var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }

  public struct Failure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
  }

  /// Makes the folder, keys for `reporters`, the configuration, imports the sample registry and
  /// `extraBases` (registry JSON `Base` objects), registers the keys and opens the round of
  /// each of `years` with the CLI (`latePolicy`: `accept_mark_late` or `refuse`).
  ///
  /// - Parameters:
  ///   - store: `aggregator.store` (e.g. a `postgres://` URL) instead of the SQLite file.
  ///   - other: makes this a second aggregator on the other's store (`store` must name a
  ///     database both can reach): same server key, same node keys, nothing imported again.
  ///   - configuration: more keys of the `aggregator` scope, e.g. `maxMessageBytes`.
  public init(
    reporters: [String],
    years: [Int] = [2025],
    latePolicy: String = "accept_mark_late",
    extraBases: [[String: Any]] = [],
    store: String? = nil,
    sharing other: AggregatorProcess? = nil,
    configuration: [String: Any] = [:]
  ) throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("aggregator-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    endpoint = try Self.unusedLoopbackEndpoint()
    self.store = store ?? other?.store
    keysDirectory = (other?.directory ?? directory).appendingPathComponent("keys").path
    serverKeys =
      if let other { other.serverKeys } else { try CurveKeyFile.generate(name: "aggregator", in: keysDirectory).keyPair }
    var scope: [String: Any] = [
      "endpoint": endpoint,
      "secretKeyPath": "\(keysDirectory)/aggregator.key",
      "databasePath": databasePath,
      "statusPath": statusPath,
    ]
    if let store = self.store { scope["store"] = store }
    // Aggregators of one store sign with one receipt key, so either answers the same receipt.
    if let other { scope["receiptSigningKeyPath"] = other.receiptSigningKeyPath }
    scope.merge(configuration) { $1 }
    try JSONSerialization.data(withJSONObject: ["aggregator": scope]).write(to: URL(fileURLWithPath: configPath))
    if let other {
      nodeKeys = other.nodeKeys
      return
    }
    let registry = Self.repositoryRoot.appendingPathComponent("deploy/sample/registry.json").path
    try runCLI(["registry", "import", registry])
    if !extraBases.isEmpty {
      let path = directory.appendingPathComponent("extra-bases.json")
      try JSONSerialization.data(withJSONObject: ["bases": extraBases]).write(to: path)
      try runCLI(["registry", "import", path.path])
    }
    for reporter in reporters {
      let generated = try CurveKeyFile.generate(name: reporter, in: keysDirectory)
      nodeKeys[reporter] = generated.keyPair
      try runCLI(["registry", "register-key", "--reporter", reporter, "--public-key", generated.publicKeyPath])
    }
    for year in years {
      try runCLI(["rounds", "set", "--year", String(year), "--state", "open", "--late-policy", latePolicy])
    }
  }

  deinit {
    if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    try? FileManager.default.removeItem(at: directory)
  }

  /// Opens the rounds of many years at once, straight in the store (the daemon need not be
  /// running): faster than one CLI call per year.
  public func openRounds(_ years: [Int], acceptLate: Bool = true) async throws {
    let database = try await openStore()
    for year in years {
      try await database.setRound(
        RoundRecord(reportYear: year, state: .open, latePolicy: acceptLate ? .acceptMarkLate : .refuse), actor: "test")
    }
    try await database.close()
  }

  /// The store this aggregator runs on, opened in the test process.
  public func openStore() async throws -> any ReportStore {
    if let store { return try await PostgresReportStore.open(store, logger: Logger(label: "test.store")) }
    return try AggregatorDatabase(path: databasePath, logger: Logger(label: "test.store"))
  }

  /// Runs a `hitech` command on this aggregator's store and returns its output.
  @discardableResult
  public func runCLI(_ arguments: [String]) throws -> String {
    let process = ChildProcess()
    process.executableURL = try Self.executable
    process.arguments = arguments + (store.map { ["--store", $0] } ?? ["--database", databasePath]) + ["--actor", "test"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readToEndRetryingInterrupts()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
      throw Failure("hitech \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
    }
    return text
  }

  /// Starts the daemon and waits until it answers Diagnostics over CURVE as `reporter`
  /// (default: the first reporter with a key).
  public func start(answeringAs reporter: String? = nil) async throws {
    guard let reporter = reporter ?? nodeKeys.keys.sorted().first else {
      throw Failure("the fixture has no node key to check the daemon with")
    }
    let process = ChildProcess()
    process.executableURL = try Self.executable
    process.arguments = ["aggregator", "run", "--config", configPath]
    if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
    let logFile = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    logFile.seekToEndOfFile()
    process.standardOutput = logFile
    process.standardError = logFile
    try process.run()
    self.process = process
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      guard process.isRunning else { throw Failure("the aggregator exited at start: \(log())") }
      let identity = try? await withNode(reporter) { client in
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        return try await Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client)
          .whoAmI(Ndrc_Hitech_V1_WhoAmIRequest(), options: options).authenticatedIdentity
      }
      if identity == reporter { return }
      try await Task.sleep(for: .milliseconds(100))
    }
    throw Failure("the aggregator did not answer within 30 s: \(log())")
  }

  /// SIGKILL: no shutdown code runs.
  public func kill9() {
    guard let process else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    self.process = nil
  }

  /// SIGTERM, then waits; returns the exit status.
  @discardableResult
  public func terminate() -> Int32 {
    guard let process else { return -1 }
    process.terminate()
    process.waitUntilExit()
    self.process = nil
    return process.terminationStatus
  }

  /// SIGTERM, then waits at most `timeout`: the exit status, or `nil` (the process is then
  /// killed) when it did not exit in time.
  public func terminate(within timeout: Duration) async -> Int32? {
    guard let process else { return nil }
    process.terminate()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(20))
    }
    if process.isRunning {
      kill9()
      return nil
    }
    self.process = nil
    return process.terminationStatus
  }

  public func log() -> String {
    (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
  }

  /// Runs `body` with a gRPC client authenticated as `reporter`'s node.
  public func withNode<Result: Sendable>(
    _ reporter: String,
    configuration: ZeroMQTransport.Client.Configuration = .init(),
    _ body: @Sendable (GRPCClient<ZeroMQTransport.Client>) async throws -> Result
  ) async throws -> Result {
    guard let keys = nodeKeys[reporter] else { throw Failure("no key for \(reporter)") }
    return try await withNode(as: reporter, keys: keys, configuration: configuration, body)
  }

  /// A client with keys that the fixture did not make.
  public func withNode<Result: Sendable>(
    as reporter: String,
    keys: CurveKeyPair,
    configuration: ZeroMQTransport.Client.Configuration = .init(),
    _ body: @Sendable (GRPCClient<ZeroMQTransport.Client>) async throws -> Result
  ) async throws -> Result {
    let transport = ZeroMQTransport.Client(
      endpoint: endpoint,
      security: .curveClient(keyPair: keys, serverPublicKey: serverKeys.publicKey),
      configuration: configuration
    )
    return try await withGRPCClient(transport: transport) { try await body($0) }
  }

  /// Every stored submission of `reporter` for `years`: submission id → how many rows.
  public func storedSubmissionIds(reporter: String, years: [Int]) async throws -> [String: Int] {
    let database = try await openStore()
    var counts: [String: Int] = [:]
    for year in years {
      var token: String? = nil
      repeat {
        let page = try await database.submissions(
          reporterCode: reporter, reportYear: year, baseId: nil, pageSize: 1000, pageToken: token)
        for receipt in page.receipts { counts[receipt.submissionId, default: 0] += 1 }
        token = page.nextPageToken
      } while token != nil
    }
    try await database.close()
    return counts
  }

  public static func unusedLoopbackEndpoint() throws -> String {
    let context = try ZMQContext()
    let socket = try ZMQSocket(context: context, type: .router)
    try socket.set(.linger(.zero))
    try socket.bind("tcp://127.0.0.1:*")
    let endpoint = socket.lastEndpoint!
    socket.close()
    return endpoint
  }
}
