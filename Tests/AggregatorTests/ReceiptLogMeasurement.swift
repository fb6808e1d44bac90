import Aggregator
import AggregatorStore
import Foundation
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import Testing
import TransparencyLog
import ZeroMQTransport

/// Not a test: a measurement of what signed receipts and the submissions log cost, run on demand
/// with `HITECH_MEASURE=1 swift test --filter ReceiptLogMeasurement`. In one run it prints:
/// Submit end to end (CURVE, 50 concurrent callers, durable store) with receipts signed and
/// unsigned, alternating three times each (the submissions log is appended either way: it is
/// part of the store's transaction); Ed25519 signatures per second alone; inclusion proofs
/// served per second over CURVE (10 concurrent callers) beside the store computing the same
/// proofs in process. Instructions per Submit for signing and logging: Benchmarks/callgrind-submit.sh.
@Suite("Receipt signing and the submissions log (measurement)", .enabled(if: ProcessInfo.processInfo.environment["HITECH_MEASURE"] != nil))
struct ReceiptLogMeasurement {
  static let bases = [
    "110000": ["SAMPLE-110000-01", "SAMPLE-110000-02"], "310000": ["SAMPLE-310000-01", "SAMPLE-310000-02"],
    "440300": ["SAMPLE-440300-01", "SAMPLE-440300-02"], "370200": ["SAMPLE-370200-01"], "330200": ["SAMPLE-330200-01"],
  ]

  /// One identity per proof caller: the server's per-key budget of new calls (500/s) would
  /// otherwise be what is measured.
  static let operators = (0..<10).map { "operator:ops\($0)" }

  @Test("ingest with and without signing, signatures/s, proofs/s")
  func measure() async throws {
    let harness = try await CurveServiceHarness(identities: Array(Self.bases.keys) + Self.operators, name: "log-measure")
    for year in 2001...2999 {
      try await harness.database.setRound(RoundRecord(reportYear: year, state: .open, latePolicy: .refuse), actor: "measure")
    }
    let key = LogSigningKey()
    var nextYear = 2001
    var signed: [Double] = []
    var unsigned: [Double] = []
    // 50 callers (10 per reporter), 500 distinct reports per pass; passes alternate.
    for pass in 0..<6 {
      let firstYear = nextYear
      nextYear += 100
      let signer = pass % 2 == 0 ? key : nil
      let rate = try await harness.run(services: { database, logger in
        [ReportIngestService(database: database, logger: logger, signer: signer)]
      }) { client in
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
          for (reporter, bases) in Self.bases {
            for caller in 0..<10 {
              group.addTask {
                let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client(reporter))
                for k in 0..<10 {
                  let base = bases[caller % bases.count]
                  let year = firstYear + (caller / bases.count) * 10 + k
                  let receipt = try await ingest.submit(try SampleSubmissions.submission(base: base, year: Int32(year)))
                  guard receipt.status == .accepted || receipt.status == .acceptedWithWarnings else {
                    throw AggregatorProcess.Failure("\(base) \(year): \(receipt.status) \(receipt.findings.map(\.ruleCode))")
                  }
                }
              }
            }
          }
          try await group.waitForAll()
        }
        return 500 / (ContinuousClock.now - start).seconds
      }
      if signer == nil { unsigned.append(rate) } else { signed.append(rate) }
    }

    // Signatures alone.
    let attestation = [UInt8](repeating: 0x5A, count: 200)
    let signStart = ContinuousClock.now
    for _ in 0..<5_000 { _ = try key.sign(attestation) }
    let signaturesPerSecond = 5_000 / (ContinuousClock.now - signStart).seconds

    // Proofs: the store alone, then served over CURVE.
    let size = try await harness.database.logSize()
    let storeStart = ContinuousClock.now
    for index in 0..<UInt64(2_000) { _ = try await harness.database.logInclusionProof(leafIndex: index % size, treeSize: size) }
    let storeProofs = 2_000 / (ContinuousClock.now - storeStart).seconds
    let head = TreeHead(
      treeSize: size, rootHash: try await harness.database.logRoot(size: size), timestamp: LogTimestamp(seconds: 1, nanos: 0))
    try await harness.database.appendTreeHead(StoredTreeHead(head: head, signed: try key.sign(head.encoded)))
    let served = try await harness.run(services: { database, logger in
      [SubmissionLogService(database: database, logger: logger)]
    }) { client in
      let start = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { group in
        for caller in 0..<10 {
          group.addTask {
            let log = Ndrc_Hitech_V1_SubmissionLog.Client(wrapping: client(Self.operators[caller]))
            for k in 0..<200 {
              var request = Ndrc_Hitech_V1_GetInclusionProofRequest()
              request.logIndex = Int64((caller * 200 + k) % Int(size))
              request.treeSize = size
              let proof = try await log.getInclusionProof(request)
              guard !proof.attestation.isEmpty else { throw AggregatorProcess.Failure("an empty proof") }
            }
          }
        }
        try await group.waitForAll()
      }
      return 2_000 / (ContinuousClock.now - start).seconds
    }

    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    print("""
      Submit, 50 callers, receipts signed:   \(Int(median(signed))) submissions/s (passes: \(signed.map { Int($0) }))
      Submit, 50 callers, receipts unsigned: \(Int(median(unsigned))) submissions/s (passes: \(unsigned.map { Int($0) }))
      ratio signed / unsigned: \(String(format: "%.2f", median(signed) / median(unsigned)))
      Ed25519 signatures alone: \(Int(signaturesPerSecond))/s (\(String(format: "%.1f", 1e6 / signaturesPerSecond)) µs each)
      inclusion proofs, tree of \(size) leaves: store in process \(Int(storeProofs))/s; served over CURVE, 10 callers (one key each) \(Int(served))/s
      """)
    #expect(signed.allSatisfy { $0 > 0 } && served > 0)
  }
}
