import Foundation
import HiTechSchema
import Logging
import Synchronization
import Testing

@testable import ProvinceNode

#if canImport(Glibc)
import Glibc
#endif

/// Switches an injected spool fault on and off, and counts how often it struck.
final class FaultSwitch: Sendable {
  struct Fault: Sendable {
    var operation: FileOperation
    /// Every listed string must occur in the path.
    var pathContains: [String]
    var errno: Int32
  }

  private let fault = Mutex<Fault?>(nil)
  private let strikes = Atomic<Int>(0)

  var hits: Int { strikes.load(ordering: .relaxed) }

  func set(_ operation: FileOperation, _ pathContains: [String], errno: Int32) {
    fault.withLock { $0 = Fault(operation: operation, pathContains: pathContains, errno: errno) }
  }

  func clear() { fault.withLock { $0 = nil } }

  var injector: FaultInjector {
    { operation, path in
      let code = self.fault.withLock { fault -> Int32? in
        guard let fault, fault.operation == operation, fault.pathContains.allSatisfy(path.contains) else { return nil }
        return fault.errno
      }
      if code != nil { self.strikes.add(1, ordering: .relaxed) }
      return code
    }
  }
}

/// The node daemon run in this process (so that faults can be injected into its spool) against
/// the real aggregator process: spool I/O errors never stop it, and what they held up is
/// delivered, once, when they are gone.
@Suite(.serialized)
struct SenderRecoveryTests {
  static let reporter = "110000"

  /// The daemon in a task; `finished` tells whether `run` returned (it must not, until cancelled).
  final class RunningDaemon: Sendable {
    let task: Task<Void, any Error>
    private let ended: StopFlag
    var finished: Bool { ended.isSet }

    init(_ daemon: NodeDaemon) {
      let ended = StopFlag()
      self.ended = ended
      task = Task {
        defer { ended.set() }
        try await daemon.run(signals: [])
      }
    }

    /// Cancels the daemon and waits for it to return (the test's time limit bounds the wait).
    func stop() async {
      task.cancel()
      _ = try? await task.value
    }
  }

  static func start(node: NodeUnderTest, faults: FaultSwitch) async throws -> RunningDaemon {
    let configuration = try await NodeConfiguration.load(file: node.configPath, environment: [:])
    var logger = Logger(label: "test.node")
    logger.logLevel = .error
    var daemon = NodeDaemon(configuration: configuration, logger: logger)
    daemon.spoolFaults = faults.injector
    return RunningDaemon(daemon)
  }

  static func waitFor(_ what: String, timeout: Duration = .seconds(60), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
      guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for \(what)") }
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  static func expectStoredOnce(_ aggregator: AggregatorUnderTest, _ samples: [(name: String, submission: Ndrc_Hitech_V1_Submission)]) async throws {
    aggregator.terminate()
    let stored = try await aggregator.storedSubmissionIds(reporter: reporter, years: NodeSamples.years(samples.count))
    #expect(stored.count == samples.count)
    #expect(stored.values.allSatisfy { $0 == 1 })
    #expect(Set(stored.keys) == Set(samples.map(\.submission.submissionID)))
  }

  @Test(
    "a claimed file that cannot be read is skipped, retried after a backoff and recovery, and sent once the fault is gone",
    .timeLimit(.minutes(3)))
  func unreadableClaimedFile() async throws {
    let samples = try NodeSamples.beijing(6)
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: NodeSamples.years(samples.count))
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    let faults = FaultSwitch()
    faults.set(.readToSend, ["/claimed/", "_faulty.json"], errno: EIO)
    let daemon = try await Self.start(node: node, faults: faults)

    try node.drop("faulty.json", samples[0].submission)
    for sample in samples[1...] { try node.drop(sample.name, sample.submission) }
    // The files behind the unreadable one are not held up.
    try await Self.waitFor("the five readable files in sent/") { node.files("sent").count == 5 }
    // It is retried (with a growing pause), and the daemon keeps running.
    try await Self.waitFor("three failed reads") { faults.hits >= 3 }
    #expect(!daemon.finished)
    #expect(node.files("claimed").count == 1)
    #expect(node.files("claimed").first?.hasSuffix("_faulty.json") == true)
    #expect(node.files("quarantine").isEmpty)

    faults.clear()
    try await node.waitUntilDone(6, timeout: .seconds(30))
    #expect(!daemon.finished)
    #expect(node.files("sent").count == 6)
    #expect(node.files("claimed").isEmpty)
    await daemon.stop()
    try await Self.expectStoredOnce(aggregator, samples)
  }

  @Test(
    "a message whose move to sent/ fails is not stuck in claimed/: the spool is recovered, the message re-sent and stored once",
    .timeLimit(.minutes(3)))
  func markSentFails() async throws {
    let samples = try NodeSamples.beijing(8)
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: NodeSamples.years(samples.count))
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    let faults = FaultSwitch()
    faults.set(.rename, ["/sent/", "_marky.json"], errno: EIO)
    let daemon = try await Self.start(node: node, faults: faults)

    try node.drop("marky.json", samples[0].submission)
    for sample in samples[1...] { try node.drop(sample.name, sample.submission) }
    try await Self.waitFor("the other seven files in sent/") { node.files("sent").count == 7 }
    // Sent, answered, not recorded — again and again, without stopping the daemon.
    try await Self.waitFor("three failed moves to sent/") { faults.hits >= 3 }
    #expect(!daemon.finished)
    #expect(node.files("claimed").count == 1)

    faults.clear()
    try await node.waitUntilDone(8, timeout: .seconds(30))
    #expect(!daemon.finished)
    let sent = node.files("sent")
    #expect(sent.count == 8)
    #expect(sent.filter { $0.hasSuffix("_marky.json") }.count == 1)
    if let marky = sent.first(where: { $0.hasSuffix("_marky.json") }) {
      let receipt = try Ndrc_Hitech_V1_Receipt(jsonString: node.text("sent", marky + ".receipt.json"))
      #expect(receipt.submissionID == samples[0].submission.submissionID)
    }
    #expect(node.files("claimed").isEmpty)
    await daemon.stop()
    try await Self.expectStoredOnce(aggregator, samples)
  }

  @Test(
    "every journal append fails for a while (a full disk): claims and marks fail, the daemon keeps running, and everything arrives once afterwards",
    .timeLimit(.minutes(3)))
  func journalFull() async throws {
    let samples = try NodeSamples.beijing(30)
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: NodeSamples.years(samples.count))
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    let faults = FaultSwitch()
    let daemon = try await Self.start(node: node, faults: faults)

    for sample in samples[..<10] { try node.drop(sample.name, sample.submission) }
    try await node.waitUntilDone(10, timeout: .seconds(30))
    faults.set(.journal, ["spool.journal"], errno: ENOSPC)
    for sample in samples[10...] { try node.drop(sample.name, sample.submission) }
    try await Self.waitFor("three failed journal appends") { faults.hits >= 3 }
    try await Self.waitFor("the error in the status file") {
      ((try? NodeStatus.read(path: node.statusPath))?.lastError ?? "").contains("No space left")
    }
    #expect(!daemon.finished)
    #expect(node.files("sent").count == 10)

    faults.clear()
    try await node.waitUntilDone(30, timeout: .seconds(30))
    #expect(!daemon.finished)
    #expect(node.files("sent").count == 30)
    #expect(node.files("claimed").isEmpty)
    #expect(node.files("outbox").isEmpty)
    #expect(node.files("rejected").isEmpty && node.files("quarantine").isEmpty)
    await daemon.stop()
    try await Self.expectStoredOnce(aggregator, samples)
  }

  @Test("cancelling the daemon's task ends it promptly, even while it pauses after spool errors", .timeLimit(.minutes(1)))
  func cancellationEndsEveryWait() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: [2000])
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    let faults = FaultSwitch()
    faults.set(.readToSend, ["/claimed/"], errno: EIO)
    let daemon = try await Self.start(node: node, faults: faults)
    try node.drop("stuck.json", try NodeSamples.submission(base: "SAMPLE-110000-01", year: 2000))
    try await Self.waitFor("two failed reads") { faults.hits >= 2 }
    let started = ContinuousClock.now
    await daemon.stop()
    #expect(ContinuousClock.now - started < .seconds(10))
    #expect(daemon.finished)
    aggregator.terminate()
  }
}
