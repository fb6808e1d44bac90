import DaemonSupport
import Foundation
import TestProcesses
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import SwiftProtobuf
import Synchronization
import Testing
import ZeroMQ
import ZeroMQTransport

/// `hitech status --watch` as a real process against the aggregator as a real process.
@Suite("hitech status --watch (real processes)")
struct StatusWatchProcessTests {
  /// The lines a child process prints, read as they come.
  final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    private let partial = Mutex<String>("")

    func append(_ data: Data) {
      let text = partial.withLock { partial -> String in
        partial += String(decoding: data, as: UTF8.self)
        guard let cut = partial.lastIndex(of: "\n") else { return "" }
        let complete = String(partial[..<cut])
        partial = String(partial[partial.index(after: cut)...])
        return complete
      }
      guard !text.isEmpty else { return }
      lines.withLock { $0 += text.split(separator: "\n").map(String.init) }
    }

    var all: [String] { lines.withLock { $0 } }

    /// Waits (generously) until `count` lines were printed.
    func wait(for count: Int) async throws -> [String] {
      let deadline = ContinuousClock.now + .seconds(90)
      while ContinuousClock.now < deadline {
        let current = all
        if current.count >= count { return current }
        try await Task.sleep(for: .milliseconds(50))
      }
      return all
    }
  }

  @Test("prints arrivals and round steps as they happen, and across an aggregator restart none twice or missing", .timeLimit(.minutes(4)))
  func printsTheFeed() async throws {
    let aggregator = try AggregatorProcess(reporters: ["110000", "440300"])
    let coordinator = try CurveKeyFile.generate(name: "coordinator", in: aggregator.keysDirectory)
    try aggregator.runCLI([
      "registry", "register-key", "--role", "coordinator", "--name", "central", "--public-key", coordinator.publicKeyPath,
    ])
    let operatorKey = try CurveKeyFile.generate(name: "ops", in: aggregator.keysDirectory)
    try aggregator.runCLI(["registry", "register-key", "--role", "operator", "--name", "ops", "--public-key", operatorKey.publicKeyPath])
    try await aggregator.start()

    let watcher = ChildProcess()
    watcher.executableURL = try AggregatorProcess.executable
    watcher.arguments = [
      "status", "--watch", "--endpoint", aggregator.endpoint, "--server-key", aggregator.serverPublicKeyPath,
      "--secret-key", aggregator.keysDirectory + "/ops.key", "--year", "2025", "--after", "0",
    ]
    let output = Pipe()
    let lines = Lines()
    output.fileHandleForReading.readabilityHandler = { handle in lines.append(handle.availableData) }
    watcher.standardOutput = output
    watcher.standardError = FileHandle.nullDevice
    try watcher.run()
    defer {
      if watcher.isRunning { watcher.terminate() }
      watcher.waitUntilExit()
      output.fileHandleForReading.readabilityHandler = nil
    }

    @Sendable func submit(_ reporter: String, _ n: Int) async throws {
      _ = try await aggregator.withNode(reporter) { client in
        try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client).submit(try nthSubmission(reporter, n))
      }
    }
    @Sendable func step(_ id: String, _ state: Ndrc_Hitech_V1_RoundState) async throws {
      var request = Ndrc_Hitech_V1_ApplyRoundStepRequest()
      request.stepID = id
      request.round.reportYear = 2025
      request.round.state = state
      request.round.latePolicy = .acceptMarkLate
      // The round's calendar: 2025-03-10, running a day per real second.
      request.calendarNow = Google_Protobuf_Timestamp(seconds: 1_741_564_800)
      request.calendarSpeed = 86_400
      if id.contains("reminder") { request.reminder = .init() } else if state == .closed { request.closed = .init() }
      let sent = request
      _ = try await aggregator.withNode(as: "coordinator:central", keys: coordinator.keyPair) { client in
        try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client).applyRoundStep(sent)
      }
    }

    try await submit("110000", 0)
    try await step("2025/reminder/1209600s", .open)
    try await submit("440300", 0)
    let before = try await lines.wait(for: 3)
    #expect(before.count == 3)
    #expect(before[0].contains("110000-0") && before[0].contains("accepted"))
    #expect(before[1].contains("round  2025  reminded  (open)") && before[1].contains("2025/reminder/1209600s"))
    #expect(before[2].contains("440300-0") && before[2].contains("round calendar 2025-03-1"))

    // The aggregator stops and comes back: the watcher resubscribes after the last line it printed.
    #expect(aggregator.terminate() == 0)
    try await aggregator.start()
    try await submit("110000", 1)
    try await step("2025/closed", .closed)
    try await submit("440300", 1)
    let after = try await lines.wait(for: 6)
    #expect(after.count == 6)
    #expect(after[3].contains("110000-1"))
    #expect(after[4].contains("closed  (closed)"))
    #expect(after[5].contains("440300-1") && after[5].contains("late"))
    let sequences = after.compactMap { $0.split(separator: " ").first.map(String.init) }
    #expect(Set(sequences).count == 6)
    #expect(sequences.map { Int($0.dropFirst()) ?? 0 } == sequences.map { Int($0.dropFirst()) ?? 0 }.sorted())
    // Nothing more than what happened.
    try await Task.sleep(for: .milliseconds(500))
    #expect(lines.all.count == 6)
    aggregator.terminate()
  }
}
