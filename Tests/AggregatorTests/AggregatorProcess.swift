import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import Testing
import ZeroMQ
import ZeroMQTransport

/// A real `hitech aggregator run` process with its own folder: keys, configuration, store,
/// sample registry, an open round. For the end-to-end and crash tests.
final class AggregatorProcess: @unchecked Sendable {
  let directory: URL
  let endpoint: String
  let serverKeys: CurveKeyPair
  /// `aggregator.store` when not the SQLite file `databasePath` (e.g. a `postgres://` URL).
  let store: String?
  private(set) var nodeKeys: [String: CurveKeyPair] = [:]
  private var process: Process?

  var databasePath: String { directory.appendingPathComponent("aggregator.sqlite").path }
  var statusPath: String { directory.appendingPathComponent("status.json").path }
  var configPath: String { directory.appendingPathComponent("aggregator.json").path }
  var logPath: String { directory.appendingPathComponent("aggregator.log").path }

  /// The `hitech` executable built beside the test bundle.
  static var executable: URL {
    get throws {
      let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("hitech")
      guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw Failure("\(url.path) is missing: build it first with `swift build --build-tests` (Tests/run.sh does)")
      }
      return url
    }
  }

  static var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }

  struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
  }

  /// Makes the folder, keys for `reporters`, the configuration, imports the sample registry,
  /// registers the keys and opens the round of `year`.
  ///
  /// With `sharing`, the aggregator is a second one on the other's store (`store` must name a
  /// database both can reach): same server key, same node keys, nothing imported again.
  init(
    reporters: [String], year: Int = 2025, latePolicy: String = "accept_mark_late", store: String? = nil,
    sharing other: AggregatorProcess? = nil
  ) throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("aggregator-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    endpoint = try Self.unusedLoopbackEndpoint()
    self.store = store ?? other?.store
    let keysDirectory = (other?.directory ?? directory).appendingPathComponent("keys").path
    serverKeys =
      if let other { other.serverKeys } else { try CurveKeyFile.generate(name: "aggregator", in: keysDirectory).keyPair }
    var settings: [String: Any] = [
      "endpoint": endpoint,
      "secretKeyPath": "\(keysDirectory)/aggregator.key",
      "databasePath": databasePath,
      "statusPath": statusPath,
    ]
    if let store = self.store { settings["store"] = store }
    try JSONSerialization.data(withJSONObject: ["aggregator": settings]).write(to: URL(fileURLWithPath: configPath))
    if let other {
      nodeKeys = other.nodeKeys
      return
    }
    let registry = Self.repositoryRoot.appendingPathComponent("deploy/sample/registry.json").path
    try runCLI(["registry", "import", registry])
    for reporter in reporters {
      let generated = try CurveKeyFile.generate(name: reporter, in: keysDirectory)
      nodeKeys[reporter] = generated.keyPair
      try runCLI(["registry", "register-key", "--reporter", reporter, "--public-key", generated.publicKeyPath])
    }
    try runCLI(["rounds", "set", "--year", String(year), "--state", "open", "--late-policy", latePolicy])
  }

  deinit {
    if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    try? FileManager.default.removeItem(at: directory)
  }

  /// Runs a `hitech` command on this aggregator's store and returns its output.
  @discardableResult
  func runCLI(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = try Self.executable
    process.arguments = arguments + (store.map { ["--store", $0] } ?? ["--database", databasePath]) + ["--actor", "test"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
      throw Failure("hitech \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
    }
    return text
  }

  /// Starts the daemon and waits until it answers (Diagnostics over CURVE).
  func start() async throws {
    let process = Process()
    process.executableURL = try Self.executable
    process.arguments = ["aggregator", "run", "--config", configPath]
    _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    let logFile = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    logFile.seekToEndOfFile()
    process.standardOutput = logFile
    process.standardError = logFile
    try process.run()
    self.process = process
    let reporter = try #require(nodeKeys.keys.sorted().first)
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      guard process.isRunning else { throw Failure("the aggregator exited at start: \(self.log())") }
      let identity = try? await withNode(reporter) { client in
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        return try await Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client)
          .whoAmI(Ndrc_Hitech_V1_WhoAmIRequest(), options: options).authenticatedIdentity
      }
      if identity == reporter { return }
      try await Task.sleep(for: .milliseconds(100))
    }
    throw Failure("the aggregator did not answer within 30 s: \(self.log())")
  }

  /// SIGKILL: no shutdown code runs.
  func kill9() {
    guard let process else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    self.process = nil
  }

  /// SIGTERM, then waits; returns the exit status.
  func terminate() -> Int32 {
    guard let process else { return -1 }
    process.terminate()
    process.waitUntilExit()
    self.process = nil
    return process.terminationStatus
  }

  func log() -> String {
    (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
  }

  /// Runs `body` with a gRPC client authenticated as `reporter`'s node.
  func withNode<Result: Sendable>(
    _ reporter: String,
    _ body: @Sendable (GRPCClient<ZeroMQTransport.Client>) async throws -> Result
  ) async throws -> Result {
    let keys = try #require(nodeKeys[reporter])
    let transport = ZeroMQTransport.Client(
      endpoint: endpoint,
      security: .curveClient(keyPair: keys, serverPublicKey: serverKeys.publicKey)
    )
    return try await withGRPCClient(transport: transport) { try await body($0) }
  }

  static func unusedLoopbackEndpoint() throws -> String {
    let context = try ZMQContext()
    let socket = try ZMQSocket(context: context, type: .router)
    try socket.set(.linger(.zero))
    try socket.bind("tcp://127.0.0.1:*")
    let endpoint = socket.lastEndpoint!
    socket.close()
    return endpoint
  }
}
