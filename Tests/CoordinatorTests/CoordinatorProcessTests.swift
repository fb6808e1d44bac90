import Coordinator
import DaemonSupport
import Foundation
import TestProcesses
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real `hitech coordinator run` process with its own folder, keys and store. Its aggregator
/// endpoint has nobody listening, so a call to it waits for its deadline.
final class CoordinatorUnderTest: @unchecked Sendable {
  let directory: String
  private var process: ChildProcess?

  var storePath: String { directory + "/coordinator.sqlite" }
  var configPath: String { directory + "/coordinator.json" }
  var statusPath: String { directory + "/coordinator.status.json" }
  var metricsPath: String { directory + "/coordinator.prom" }
  var logPath: String { directory + "/coordinator.log" }

  static var executable: URL {
    get throws {
      let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("hitech")
      guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw ProcessTestFailure("\(url.path) is missing: build it first with `swift build --build-tests`")
      }
      return url
    }
  }

  /// - Parameter extra: more keys of the `coordinator` scope.
  init(extra: [String: Any] = [:]) throws {
    directory = NSTemporaryDirectory() + "coordinator-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let keys = directory + "/keys"
    _ = try CurveKeyFile.generate(name: "aggregator", in: keys)
    _ = try CurveKeyFile.generate(name: "coordinator", in: keys)
    var coordinator: [String: Any] = [
      "storePath": storePath,
      "aggregatorEndpoint": "tcp://127.0.0.1:1",
      "aggregatorPublicKeyPath": keys + "/aggregator.pub",
      "secretKeyPath": keys + "/coordinator.key",
      "controlEndpoint": "ipc://\(directory)/control.sock",
      "publishDirectory": directory + "/published",
      "statusPath": statusPath,
      "metricsPath": metricsPath,
      "initialBackoffMilliseconds": 100,
      "maxBackoffMilliseconds": 1000,
      // A round whose opening is due: the daemon calls the aggregator at once.
      "rounds": [
        "years": [2025],
        "2025": [
          "opensAt": "2020-01-05T09:00", "deadline": "2030-03-31T17:00",
          "assessmentAt": "2030-05-15T09:00", "publishAt": "2030-06-30T09:00",
        ] as [String: Any],
      ] as [String: Any],
    ]
    coordinator.merge(extra) { $1 }
    try JSONSerialization.data(withJSONObject: ["coordinator": coordinator]).write(to: URL(fileURLWithPath: configPath))
  }

  deinit {
    if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    try? FileManager.default.removeItem(atPath: directory)
  }

  func start() throws {
    let process = ChildProcess()
    process.executableURL = try Self.executable
    process.arguments = ["coordinator", "run", "--config", configPath]
    if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
    let logFile = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    logFile.seekToEndOfFile()
    process.standardOutput = logFile
    process.standardError = logFile
    try process.run()
    self.process = process
  }

  var pid: Int32? { process?.processIdentifier }

  /// Kills the daemon with SIGKILL and waits for its end.
  func kill9() {
    guard let process else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    self.process = nil
  }

  /// The metrics file, once written.
  func metrics() -> String { (try? String(contentsOfFile: metricsPath, encoding: .utf8)) ?? "" }

  /// The status file, once written.
  func status() -> CoordinatorStatus? { try? CoordinatorStatus.read(path: statusPath) }
  var isRunning: Bool { process?.isRunning ?? false }

  /// Waits until the daemon has written its status file (it is running).
  func waitUntilRunning(timeout: Duration = .seconds(30)) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      guard isRunning else { throw ProcessTestFailure("the coordinator exited at start: \(log())") }
      if FileManager.default.fileExists(atPath: statusPath) { return }
      try await Task.sleep(for: .milliseconds(100))
    }
    throw ProcessTestFailure("the coordinator wrote no status file within \(timeout): \(log())")
  }

  func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

  /// Sends SIGTERM and waits at most `bound`; returns the exit status and how long it took, or
  /// throws (after SIGKILL) when the process did not end within the bound.
  func terminate(within bound: Duration) async throws -> (status: Int32, took: Duration) {
    guard let process else { throw ProcessTestFailure("not running") }
    let start = ContinuousClock.now
    kill(process.processIdentifier, SIGTERM)
    while process.isRunning && ContinuousClock.now - start < bound {
      try await Task.sleep(for: .milliseconds(50))
    }
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      self.process = nil
      throw ProcessTestFailure("the coordinator did not stop within \(bound) of SIGTERM: \(log().suffix(3000))")
    }
    process.waitUntilExit()
    self.process = nil
    return (process.terminationStatus, ContinuousClock.now - start)
  }

  /// Runs `hitech ARGUMENTS` to its end, at most `seconds`.
  static func runToEnd(_ arguments: [String], within seconds: Double = 60) async throws -> (status: Int32, output: String) {
    let process = ChildProcess()
    process.executableURL = try executable
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let deadline = ContinuousClock.now + .seconds(seconds)
    while process.isRunning && ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(50))
    }
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      let text = String(decoding: output.fileHandleForReading.readToEndRetryingInterrupts(), as: UTF8.self)
      throw ProcessTestFailure("hitech \(arguments.joined(separator: " ")) still ran after \(seconds) s: \(text)")
    }
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output.fileHandleForReading.readToEndRetryingInterrupts(), as: UTF8.self))
  }
}

struct ProcessTestFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// The coordinator daemon as a real process: one per store, and a bounded stop.
@Suite(.serialized)
struct CoordinatorProcessTests {
  @Test("a second coordinator on the same store exits 75 naming the lock and the first's PID; the operator commands still read the store", .timeLimit(.minutes(3)))
  func secondCoordinatorRefused() async throws {
    let coordinator = try CoordinatorUnderTest()
    try coordinator.start()
    try await coordinator.waitUntilRunning()
    let first = try #require(coordinator.pid)

    let second = try await CoordinatorUnderTest.runToEnd(["coordinator", "run", "--config", coordinator.configPath])
    #expect(second.status == 75, "\(second.output)")
    #expect(second.output.contains(coordinator.storePath + ".lock"), "\(second.output)")
    #expect(second.output.contains("locked by process \(first)"), "\(second.output)")
    #expect(coordinator.isRunning)

    let rounds = try await CoordinatorUnderTest.runToEnd(["coordinator", "rounds", "--config", coordinator.configPath])
    #expect(rounds.status == 0, "\(rounds.output)")
    #expect(rounds.output.contains("2025"), "\(rounds.output)")

    let stopped = try await coordinator.terminate(within: .seconds(60))
    #expect(stopped.status == 0)
    // Released with the process: a new one starts.
    try? FileManager.default.removeItem(atPath: coordinator.statusPath)
    try coordinator.start()
    try await coordinator.waitUntilRunning()
    try await Task.sleep(for: .milliseconds(500))
    #expect(coordinator.isRunning, "\(coordinator.log().suffix(2000))")
    #expect(try await coordinator.terminate(within: .seconds(60)).status == 0)
  }

  @Test("a coordinator whose call to the aggregator never ends (deadline 3600 s) stops on SIGTERM with status 0 within the grace period and a margin", .timeLimit(.minutes(3)))
  func sigtermBoundedWhileCallInFlight() async throws {
    let coordinator = try CoordinatorUnderTest(extra: ["callTimeoutSeconds": 3600, "shutdownGraceSeconds": 2])
    try coordinator.start()
    try await coordinator.waitUntilRunning()
    try await Task.sleep(for: .seconds(2))  // the round's opening is being applied: the call waits
    #expect(coordinator.isRunning)
    let stopped = try await coordinator.terminate(within: .seconds(40))
    #expect(stopped.status == 0, "\(coordinator.log().suffix(3000))")
    // The step was not applied: it is pending, driven again at the next start.
    let rounds = try await CoordinatorUnderTest.runToEnd(["coordinator", "rounds", "--config", coordinator.configPath])
    #expect(rounds.status == 0, "\(rounds.output)")
  }
}
