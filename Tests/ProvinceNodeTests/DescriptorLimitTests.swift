import Foundation
import TestProcesses
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Descriptors: a daemon raises its soft limit to the hard one at start and logs both, and the
/// systemd units set a limit for the peers each must hold.
@Suite(.serialized)
struct DescriptorLimitTests {
  /// The soft and hard "Max open files" of a process.
  static func limits(pid: Int32) -> (soft: String, hard: String)? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") })
    else { return nil }
    let fields = line.dropFirst("Max open files".count).split(separator: " ")
    guard fields.count >= 2 else { return nil }
    return (String(fields[0]), String(fields[1]))
  }

  @Test("a node started with a soft descriptor limit of 256 raises it to the hard limit and logs both", .timeLimit(.minutes(2)))
  func nodeRaisesSoftLimit() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: ["110000"], years: [2000])
    let node = try NodeUnderTest(reporter: "110000", aggregator: aggregator)
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    let hitech = try AggregatorUnderTest.executable.path
    process.arguments = ["-c", "ulimit -S -n 256 && exec '\(hitech)' node run --config '\(node.configPath)'"]
    _ = FileManager.default.createFile(atPath: node.logPath, contents: nil)
    let log = try FileHandle(forWritingTo: URL(fileURLWithPath: node.logPath))
    process.standardOutput = log
    process.standardError = log
    try process.run()
    defer {
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      process.waitUntilExit()
    }
    try await SenderRecoveryTests.waitFor("the node's log line on descriptors", timeout: .seconds(30)) {
      node.log().contains("open file descriptor limit")
    }
    let limits = try #require(Self.limits(pid: process.processIdentifier))
    #expect(limits.soft == limits.hard, "soft \(limits.soft), hard \(limits.hard)")
    #expect(limits.soft != "256")
    let line = node.log().split(separator: "\n").first { $0.contains("open file descriptor limit") } ?? ""
    #expect(line.contains("soft \(limits.soft), hard \(limits.hard)"), "\(line)")
    #expect(line.contains("raised from 256"), "\(line)")
    // SIGTERM once the daemon's services run (its status file is written).
    try await SenderRecoveryTests.waitFor("the node's status file", timeout: .seconds(30)) {
      FileManager.default.fileExists(atPath: node.statusPath)
    }
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
  }

  @Test("every systemd unit sets LimitNOFILE; the aggregator's leaves room for tens of thousands of peers")
  func unitsSetLimits() throws {
    let deploy = AggregatorUnderTest.repositoryRoot.appendingPathComponent("deploy")
    for (unit, minimum) in [("hitech-aggregator.service", 65_536), ("hitech-coordinator.service", 1_024), ("hitech-node.service", 1_024)] {
      let text = try String(contentsOf: deploy.appendingPathComponent(unit), encoding: .utf8)
      let value = text.split(separator: "\n").first { $0.hasPrefix("LimitNOFILE=") }.flatMap { Int($0.dropFirst("LimitNOFILE=".count)) }
      #expect((value ?? 0) >= minimum, "\(unit): LimitNOFILE=\(value.map(String.init) ?? "absent")")
    }
  }
}
