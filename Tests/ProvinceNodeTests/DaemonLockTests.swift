import DaemonSupport
import Foundation
import TestProcesses
import GRPCCore
import HiTechSchema
import ProvinceNode
import Testing
import ZeroMQTransport

#if canImport(Glibc)
import Glibc
#endif

/// One daemon per state, with real processes: a second node on a spool, or a second aggregator
/// on a store, refuses to start (exit 75, naming the lock file and the holder's PID) while the
/// first runs; the lock goes with the holder however it ends (SIGKILL included); the CLI still
/// writes the store of a running aggregator.
@Suite(.serialized)
struct DaemonLockTests {
  static let reporter = "110000"

  /// Runs `hitech ARGUMENTS` to its end (bounded: a second daemon that does not refuse would
  /// run forever) and returns its exit status and output.
  static func runToEnd(_ arguments: [String], within seconds: Double = 60) async throws -> (status: Int32, output: String) {
    let process = ChildProcess()
    process.executableURL = try AggregatorUnderTest.executable
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
      throw TestFailure("hitech \(arguments.joined(separator: " ")) still ran after \(seconds) s (a second daemon on the same state): \(text)")
    }
    process.waitUntilExit()
    let text = String(decoding: output.fileHandleForReading.readToEndRetryingInterrupts(), as: UTF8.self)
    return (process.terminationStatus, text)
  }

  @Test("a second node on the same spool exits 75 naming the lock and the first node's PID; after the first is killed with SIGKILL a new one starts", .timeLimit(.minutes(3)))
  func secondNodeRefused() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: [2000])
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    try node.start()
    try await SenderRecoveryTests.waitFor("the first node's status file", timeout: .seconds(30)) {
      (try? NodeStatus.read(path: node.statusPath))?.state == "running"
    }
    let first = try #require(node.pid)

    for _ in 0..<3 {
      let second = try await Self.runToEnd(["node", "run", "--config", node.configPath])
      #expect(second.status == 75, "\(second.output)")
      #expect(second.output.contains(node.spool + "/.lock"), "\(second.output)")
      #expect(second.output.contains("locked by process \(first)"), "\(second.output)")
      #expect(second.output.contains("is in use"), "\(second.output)")
    }
    #expect(node.isRunning)
    #expect(StateLock.holderPID(path: node.spool + "/.lock") == first)

    // The first still works: a file dropped now is sent by it.
    try node.drop("after.json", try NodeSamples.submission(base: "SAMPLE-110000-01", year: 2000))
    try await node.waitUntilDone(1, timeout: .seconds(30))

    // kill -9: the kernel releases the lock; the lock file stays and does not block.
    node.kill9()
    #expect(FileManager.default.fileExists(atPath: node.spool + "/.lock"))
    try node.start()
    let restarted = try #require(node.pid)
    try await SenderRecoveryTests.waitFor("the restarted node holding the lock", timeout: .seconds(30)) {
      StateLock.holderPID(path: node.spool + "/.lock") == restarted
    }
    try await Task.sleep(for: .milliseconds(500))
    #expect(node.isRunning, "the restarted node did not start: \(node.log().suffix(2000))")
    #expect(node.terminate() == 0)
    aggregator.terminate()
  }

  @Test("a second aggregator on the same store exits 75 naming the lock and the PID; registry commands still write the store while the first runs", .timeLimit(.minutes(3)))
  func secondAggregatorRefused() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: [2000])
    try await aggregator.start(answeringAs: Self.reporter)
    let holder = try #require(StateLock.holderPID(path: aggregator.databasePath + ".lock"))

    let second = try await Self.runToEnd(["aggregator", "run", "--config", aggregator.configPath])
    #expect(second.status == 75, "\(second.output)")
    #expect(second.output.contains(aggregator.databasePath + ".lock"), "\(second.output)")
    #expect(second.output.contains("locked by process \(holder)"), "\(second.output)")

    // SQLite's own locking serves the CLI beside the running daemon.
    let keys = try CurveKeyFile.generate(name: "440300", in: aggregator.keysDirectory)
    let registered = try aggregator.runCLI(["registry", "register-key", "--reporter", "440300", "--public-key", keys.publicKeyPath])
    #expect(!registered.isEmpty)
    // The running daemon admits the new key (it reloads the keys from the store).
    let transport = { ZeroMQTransport.Client(
      endpoint: aggregator.endpoint,
      security: .curveClient(keyPair: keys.keyPair, serverPublicKey: aggregator.serverKeys.publicKey)) }
    var identity: String?
    let deadline = ContinuousClock.now + .seconds(30)
    while identity != "440300" && ContinuousClock.now < deadline {
      identity = try? await withGRPCClient(transport: transport()) { client in
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        return try await Ndrc_Hitech_V1_Diagnostics.Client(wrapping: client)
          .whoAmI(Ndrc_Hitech_V1_WhoAmIRequest(), options: options).authenticatedIdentity
      }
      if identity != "440300" { try await Task.sleep(for: .milliseconds(200)) }
    }
    #expect(identity == "440300")

    #expect(aggregator.terminate() == 0)
  }
}
