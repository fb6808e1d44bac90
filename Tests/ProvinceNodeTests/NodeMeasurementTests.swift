import Foundation
import GRPCCore
import HiTechSchema
import ProvinceNode
import Testing

/// Prints how long a backlog takes to drain and what an idle node costs (times not asserted;
/// delivery is), and checks a restart with a backlog of 100,000 files. Run only with
/// HITECH_MEASURE=1 (they take minutes): `HITECH_MEASURE=1 swift test --skip-build --filter
/// NodeMeasurementTests` (`HITECH_BACKLOG=N` makes the backlog test smaller).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["HITECH_MEASURE"] == "1"))
struct NodeMeasurementTests {
  @Test("a 2,000-file backlog drains; idle CPU and resident memory afterwards", .timeLimit(.minutes(15)))
  func backlogAndIdle() async throws {
    let count = 2000
    let samples = try NodeSamples.beijing(count)
    let years = NodeSamples.years(count)
    let aggregator = try await AggregatorUnderTest(reporters: ["110000"], years: years)
    try await aggregator.start(answeringAs: "110000")
    let node = try NodeUnderTest(reporter: "110000", aggregator: aggregator)
    for sample in samples { try node.drop(sample.name, sample.submission) }
    let started = ContinuousClock.now
    try node.start()
    try await node.waitUntilDone(count, timeout: .seconds(600))
    print("MEASURE: a backlog of \(count) files drained in \(ContinuousClock.now - started)")
    #expect(node.files("sent").count == count)

    try await Task.sleep(for: .seconds(3))
    let pid = try #require(node.pid)
    let before = Self.cpuTicks(pid)
    let seconds = 20.0
    try await Task.sleep(for: .seconds(seconds))
    let after = Self.cpuTicks(pid)
    let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    let cpu = Double(after - before) / ticksPerSecond / seconds * 100
    print("MEASURE: idle CPU \(String(format: "%.3f", cpu)) % over \(Int(seconds)) s; \(Self.rss(pid))")
    node.terminate()
    aggregator.terminate()
  }

  @Test("a backlog of 10,000 files over 100 bases drains: files per second", .timeLimit(.minutes(30)))
  func drainTenThousand() async throws {
    let count = 10_000
    let bases = 100
    let samples = try NodeSamples.spread(count, bases: bases)
    let years = NodeSamples.spreadYears(count, bases: bases)
    let aggregator = try await AggregatorUnderTest(reporters: ["110000"], years: years, loadBases: bases)
    try await aggregator.start(answeringAs: "110000")
    let node = try NodeUnderTest(reporter: "110000", aggregator: aggregator)
    for sample in samples { try node.drop(sample.name, sample.submission) }
    let started = ContinuousClock.now
    try node.start()
    try await node.waitUntilDone(count, timeout: .seconds(1500))
    let seconds = Self.seconds(ContinuousClock.now - started)
    print("MEASURE: a backlog of \(count) files drained in \(String(format: "%.1f", seconds)) s: \(String(format: "%.0f", Double(count) / seconds)) files/s (\(Self.buildMode))")
    #expect(node.count("sent") == count)
    #expect(node.terminate() == 0)
    try await Self.expectEachStoredOnce(aggregator, node: node, samples: samples, years: years)
  }

  /// The node's drain beside the aggregator's own ingest rate, in the same run and on the same
  /// aggregator process: first a client sends reports with 64 calls in flight on one CURVE
  /// connection (what the aggregator takes from one busy node), then a node drains a backlog of
  /// as many reports of the same kind. Prints both rates, their ratio and the aggregator's mean
  /// batch in each phase. `HITECH_BACKLOG=N` sets the number per phase (default 5,000).
  @Test("a backlog drains at a ratio of the aggregator's own ingest rate", .timeLimit(.minutes(30)))
  func drainBesideIngestRate() async throws {
    let count = Int(ProcessInfo.processInfo.environment["HITECH_BACKLOG"] ?? "") ?? 5000
    let bases = 100
    let samples = try NodeSamples.spread(2 * count, bases: bases)
    let years = NodeSamples.spreadYears(2 * count, bases: bases)
    // The per-key call rate must not be what limits either phase.
    let aggregator = try await AggregatorUnderTest(
      reporters: ["110000"], years: years, loadBases: bases, settings: ["callsPerSecondPerNode": 100_000])
    try await aggregator.start(answeringAs: "110000")

    let direct = Array(samples.prefix(count).map(\.submission))
    let window = 64
    let started = ContinuousClock.now
    try await aggregator.withNode("110000") { grpc in
      let client = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: grpc)
      try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<window {
          group.addTask {
            for index in stride(from: worker, to: direct.count, by: window) {
              _ = try await client.submit(direct[index])
            }
          }
        }
        try await group.waitForAll()
      }
    }
    let ingestSeconds = Self.seconds(ContinuousClock.now - started)
    try await Task.sleep(for: .seconds(3))  // the status file's next rewrite
    let afterIngest = try Self.batches(aggregator)

    let node = try NodeUnderTest(reporter: "110000", aggregator: aggregator)
    for sample in samples.dropFirst(count) { try node.drop(sample.name, sample.submission) }
    let drainStarted = ContinuousClock.now
    try node.start()
    try await node.waitUntilDone(count, timeout: .seconds(1500))
    let drainSeconds = Self.seconds(ContinuousClock.now - drainStarted)
    try await Task.sleep(for: .seconds(3))  // the status file's next rewrite
    let afterDrain = try Self.batches(aggregator)

    let ingestRate = Double(count) / ingestSeconds
    let drainRate = Double(count) / drainSeconds
    let drainBatch = Double(afterDrain.submissions - afterIngest.submissions) / Double(max(1, afterDrain.batches - afterIngest.batches))
    print("""
      MEASURE: the aggregator alone, \(window) calls in flight on one connection: \(count) reports in \(String(format: "%.1f", ingestSeconds)) s, \(String(format: "%.0f", ingestRate))/s, mean batch \(String(format: "%.1f", Double(afterIngest.submissions) / Double(max(1, afterIngest.batches))))
      MEASURE: a node draining a backlog of \(count): \(String(format: "%.1f", drainSeconds)) s, \(String(format: "%.0f", drainRate)) files/s, mean batch \(String(format: "%.1f", drainBatch))
      MEASURE: drain / ingest = \(String(format: "%.2f", drainRate / ingestRate)) (\(Self.buildMode))
      """)
    #expect(node.count("sent") == count)
    #expect(node.terminate() == 0)
    try await Self.expectEachStoredOnce(
      aggregator, node: node, samples: Array(samples.dropFirst(count)), years: years, storedBesides: direct)
  }

  /// The committed submissions and batches in the aggregator's status file.
  static func batches(_ aggregator: AggregatorUnderTest) throws -> (submissions: Int, batches: Int) {
    let data = try Data(contentsOf: URL(fileURLWithPath: aggregator.statusPath))
    let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    return ((object["committedSubmissions"] as? Int) ?? 0, (object["committedBatches"] as? Int) ?? 0)
  }

  /// "A restart with a backlog of 100,000 files": dropped while the node is down, then the node
  /// starts, is stopped (SIGTERM) and killed (SIGKILL) while it drains, and restarted each time.
  @Test("a restart with a backlog of 100,000 files: each ends in sent/ exactly once and is stored once", .timeLimit(.minutes(60)))
  func backlogOfHundredThousand() async throws {
    let count = Int(ProcessInfo.processInfo.environment["HITECH_BACKLOG"] ?? "") ?? 100_000
    let bases = 100
    let aggregator = try await AggregatorUnderTest(
      reporters: ["110000"], years: NodeSamples.spreadYears(count, bases: bases), loadBases: bases)
    try await aggregator.start(answeringAs: "110000")
    let node = try NodeUnderTest(reporter: "110000", aggregator: aggregator)
    let samples = try NodeSamples.spread(count, bases: bases)
    let dropping = ContinuousClock.now
    for sample in samples { try node.drop(sample.name, sample.submission) }
    print("MEASURE: dropped \(count) files in \(ContinuousClock.now - dropping)")

    let started = ContinuousClock.now
    try node.start()
    // Stop it gracefully once a tenth is sent, and kill it once a half is: each restart
    // recovers a spool with tens of thousands of claimed messages.
    try await node.waitUntilDone(count / 10, timeout: .seconds(1800))
    #expect(node.terminate() == 0)
    print("MEASURE: \(node.count("sent")) sent after \(ContinuousClock.now - started); SIGTERM, restart")
    try node.start()
    try await node.waitUntilDone(count / 2, timeout: .seconds(1800))
    node.kill9()
    print("MEASURE: \(node.count("sent")) sent after \(ContinuousClock.now - started); SIGKILL, restart")
    try node.start()
    try await node.waitUntilDone(count, timeout: .seconds(3000))
    let seconds = Self.seconds(ContinuousClock.now - started)
    print("MEASURE: a backlog of \(count) files (two restarts) drained in \(String(format: "%.1f", seconds)) s: \(String(format: "%.0f", Double(count) / seconds)) files/s (\(Self.buildMode))")
    #expect(node.terminate() == 0)
    #expect(node.count("rejected") == 0 && node.count("quarantine") == 0)
    #expect(node.count("claimed") == 0 && node.count("outbox") == 0)
    try await Self.expectEachStoredOnce(aggregator, node: node, samples: samples, years: NodeSamples.spreadYears(count, bases: bases))
  }

  /// Every file in sent/ exactly once (by the receipts' submission ids), and every submission
  /// stored exactly once by the aggregator (stopped here).
  static func expectEachStoredOnce(
    _ aggregator: AggregatorUnderTest, node: NodeUnderTest,
    samples: [(name: String, submission: Ndrc_Hitech_V1_Submission)], years: [Int],
    storedBesides others: [Ndrc_Hitech_V1_Submission] = []
  ) async throws {
    let expected = Set(samples.map(\.submission.submissionID))
    var receipts: [String: Int] = [:]
    for name in node.files("sent") {
      let receipt = try Ndrc_Hitech_V1_Receipt(jsonString: node.text("sent", name + ".receipt.json"))
      receipts[receipt.submissionID, default: 0] += 1
    }
    #expect(receipts.count == samples.count)
    #expect(receipts.values.allSatisfy { $0 == 1 })
    #expect(Set(receipts.keys) == expected)
    aggregator.terminate()
    let stored = try await aggregator.storedSubmissionIds(reporter: "110000", years: years)
    #expect(stored.count == samples.count + others.count)
    #expect(stored.values.allSatisfy { $0 == 1 })
    #expect(Set(stored.keys) == expected.union(others.map(\.submissionID)))
  }

  static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }

  static var buildMode: String {
    #if DEBUG
    "debug build"
    #else
    "release build"
    #endif
  }

  static func cpuTicks(_ pid: Int32) -> Int {
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
    // After "pid (comm)": state is field 0, utime 11, stime 12.
    guard fields.count > 12 else { return 0 }
    return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
  }

  static func rss(_ pid: Int32) -> String {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS") }).map(String.init) ?? "VmRSS unknown"
  }
}
