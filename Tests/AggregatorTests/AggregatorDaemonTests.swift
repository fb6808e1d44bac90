import Aggregator
import AggregatorStore
import Foundation
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import Logging
import Testing
import ZeroMQ

/// The aggregator as a real process: started, stopped with SIGTERM, killed with SIGKILL.
@Suite("The aggregator daemon as a process", .serialized, .timeLimit(.minutes(5)))
struct AggregatorDaemonTests {
  @Test("a node submits over CURVE; SIGTERM stops the daemon cleanly and the status file says so")
  func endToEnd() async throws {
    let aggregator = try AggregatorProcess(reporters: ["110000", "440300"])
    try await aggregator.start()
    let receipt = try await aggregator.withNode("110000") { client in
      try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
        .submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01"))
    }
    #expect(receipt.status == .accepted)
    let refused = await code {
      try await aggregator.withNode("440300") { client in
        try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
          .submit(try SampleSubmissions.submission(base: "SAMPLE-110000-02"))
      }
    }
    #expect(refused == .permissionDenied)
    // A key registered while the daemon runs is admitted within seconds, without a restart.
    let keys = aggregator.directory.appendingPathComponent("keys").path
    let late = try DaemonSupportKeys.generate(name: "310000", in: keys)
    try aggregator.runCLI(["registry", "register-key", "--reporter", "310000", "--public-key", late.publicKeyPath])
    try await Task.sleep(for: .seconds(3))
    let shanghai = try await aggregator.withNode(as: "310000", keys: late.keyPair) { client in
      try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
        .submit(try SampleSubmissions.submission(base: "SAMPLE-310000-01"))
    }
    #expect(shanghai.reporterCode == "310000")

    #expect(aggregator.terminate() == 0)
    let status = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: aggregator.statusPath))) as? [String: Any]
    #expect(status?["state"] as? String == "stopped")
    #expect(status?["committedSubmissions"] as? Int == 2)
  }

  @Test("a node that connected before its key was registered gets through once it is")
  func nodeConnectedBeforeRegistration() async throws {
    let aggregator = try AggregatorProcess(reporters: ["110000"])
    try await aggregator.start()
    let keys = aggregator.directory.appendingPathComponent("keys").path
    let late = try DaemonSupportKeys.generate(name: "310000", in: keys)
    let receipt = try await aggregator.withNode(as: "310000", keys: late.keyPair) { client in
      let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client)
      let submission = try SampleSubmissions.submission(base: "SAMPLE-310000-01")
      var options = CallOptions.defaults
      options.timeout = .seconds(5)
      let refused = await code { _ = try await ingest.submit(submission, options: options) }
      #expect(refused == .unauthenticated)
      try aggregator.runCLI(["registry", "register-key", "--reporter", "310000", "--public-key", late.publicKeyPath])
      // The same client, never restarted, is admitted once the daemon has reloaded its keys.
      let clock = ContinuousClock()
      let giveUp = clock.now.advanced(by: .seconds(20))
      while clock.now < giveUp {
        if let receipt = try? await ingest.submit(submission, options: options) { return receipt }
        try await Task.sleep(for: .milliseconds(200))
      }
      return try await ingest.submit(submission, options: options)
    }
    #expect(receipt.reporterCode == "310000")
    #expect(aggregator.terminate() == 0)
  }

  @Test("kill -9 right after a receipt: the report is stored, across many iterations")
  func killNineDurability() async throws {
    let aggregator = try AggregatorProcess(reporters: ["110000"])
    var receipts: [Ndrc_Hitech_V1_Receipt] = []
    for iteration in 0..<20 {
      try await aggregator.start()
      // Several bases and years per life, so every receipt is a new stored report.
      let year = Int32(2025)
      let base = ["SAMPLE-110000-01", "SAMPLE-110000-02"][iteration % 2]
      let revision = Int32(iteration / 2 + 1)
      let submission = try SampleSubmissions.submission(
        base: base, year: year, revision: revision, replaces: revision - 1,
        report: SampleSubmissions.report(scale: Int64(100 + iteration)))
      let receipt = try await aggregator.withNode("110000") { client in
        try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client).submit(submission)
      }
      aggregator.kill9()
      receipts.append(receipt)
    }
    let database = try AggregatorDatabase(path: aggregator.databasePath, logger: Logger(label: "test"))
    for receipt in receipts {
      let stored = try await database.receipt(accessionNumber: receipt.accessionNumber)
      #expect(stored?.submissionId == receipt.submissionID)
      #expect(stored?.revision == Int(receipt.revision))
    }
    try await database.close()
  }

  @Test("a truncated store file stops the daemon with a clear error, not a crash")
  func corruptStore() async throws {
    let aggregator = try AggregatorProcess(reporters: ["110000"])
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: aggregator.databasePath))
    try handle.truncate(atOffset: 1000)
    try handle.close()
    do {
      try await aggregator.start()
      Issue.record("the aggregator started on a truncated store")
    } catch {
      let log = aggregator.log()
      #expect(log.contains(aggregator.databasePath))
      #expect(!log.contains("Fatal error"))
    }
  }
}

import DaemonSupport

enum DaemonSupportKeys {
  static func generate(name: String, in directory: String) throws -> (publicKeyPath: String, keyPair: CurveKeyPair) {
    let generated = try CurveKeyFile.generate(name: name, in: directory)
    return (generated.publicKeyPath, generated.keyPair)
  }
}
