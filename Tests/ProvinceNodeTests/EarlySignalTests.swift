import Foundation
import TestProcesses
import HiTechTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM while a daemon still starts (before its ServiceGroup listens for signals) stops it
/// cleanly: exit status 0, not 143, and its state lock released.
@Suite(.serialized)
struct EarlySignalTests {
  /// Starts `hitech ARGUMENTS` with its output in `log`, and sends SIGTERM as soon as the log
  /// shows the daemon's first line (its descriptor limit, logged before it takes its state
  /// lock and opens its store). Returns the exit status, or nil if it still ran 30 s later.
  static func terminateWhileStarting(_ arguments: [String], log: String) async throws -> (status: Int32?, log: String) {
    FileManager.default.createFile(atPath: log, contents: nil)
    let process = ChildProcess()
    process.executableURL = try AggregatorProcess.executable
    process.arguments = arguments
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    process.standardOutput = output
    process.standardError = output
    try process.run()
    defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    func text() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    let started = ContinuousClock.now
    while process.isRunning, !text().contains("open file descriptor limit"), ContinuousClock.now - started < .seconds(30) {
      usleep(500)  // not a cooperative-pool hop: SIGTERM must follow the line at once
    }
    kill(process.processIdentifier, SIGTERM)
    let deadline = ContinuousClock.now + .seconds(30)
    while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    guard !process.isRunning else { return (nil, text()) }
    let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    return (status, text())
  }

  /// Whether nobody holds the flock on `path` (`flock -n` succeeds).
  static func lockIsFree(_ path: String) throws -> Bool {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
    process.arguments = ["-n", path, "true"]
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0
  }

  @Test("a node sent SIGTERM while it starts exits 0 and frees its spool", .timeLimit(.minutes(2)))
  func nodeEarlySigterm() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: ["110000"], years: [2000])
    let node = try NodeUnderTest(reporter: "110000", aggregator: aggregator)
    let (status, log) = try await Self.terminateWhileStarting(["node", "run", "--config", node.configPath], log: node.logPath)
    #expect(status == 0, "exit status \(status.map(String.init) ?? "none: still running"): \(log.suffix(2000))")
    #expect(try Self.lockIsFree(node.spool + "/.lock"))
  }

  @Test("an aggregator sent SIGTERM while it starts exits 0 and frees its store", .timeLimit(.minutes(2)))
  func aggregatorEarlySigterm() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: ["110000"], years: [2000])
    let (status, log) = try await Self.terminateWhileStarting(
      ["aggregator", "run", "--config", aggregator.configPath], log: aggregator.logPath)
    #expect(status == 0, "exit status \(status.map(String.init) ?? "none: still running"): \(log.suffix(2000))")
    #expect(try Self.lockIsFree(aggregator.databasePath + ".lock"))
  }
}
