import Assessment
import Crypto
import Foundation
import HiTechSchema
import Testing

@testable import Coordinator

/// The published results name the submissions log's signed tree head they were computed from,
/// and each ranked base's leaf (proto-schemas/ASSESSMENT.md "Which reports were assessed").
@Suite("Results name the submissions log's tree head", .timeLimit(.minutes(1)))
struct PublishedLogHeadTests {
  /// SHA-256(0x00 || attestation), as RECEIPTS.md defines a leaf hash: computed here apart
  /// from the TransparencyLog library.
  static func leafHash(_ attestation: Data) -> String {
    SHA256.hash(data: Data([0]) + attestation).map { String(format: "%02x", $0) }.joined()
  }

  @Test("the head and every ranked base's leaf are in the JSON, the CSV and the page")
  func headPublished() async throws {
    let rig = try await Fixture.Rig(schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"))
    for (_, due) in Fixture.steps() { await rig.run(at: due) }
    let files = try rig.published()
    let results = try ResultsPublication.decode(json: Array(try #require(files["results-2025.json"])))
    let head = try #require(results.submissionsLog)
    let expected = Fixture.treeHead(size: 3)
    #expect(head.treeSize == 3)
    #expect(head.rootHash == String(repeating: "ab", count: 32))
    #expect(head.signingKeyId == "test-key")
    #expect(Data(base64Encoded: head.encoded) == expected.encoded)
    #expect(Data(base64Encoded: head.signature) == expected.signature)
    #expect(head.signedAt == "2026-01-01T00:00:00.000000005Z")

    let inputs = Dictionary(uniqueKeysWithValues: Fixture.inputs().map { ($0.base.baseID, $0) })
    for base in results.bases {
      let input = try #require(inputs[base.baseId])
      if base.reported {
        #expect(base.logLeaf == SubmissionsLogLeaf(index: input.receipt.logIndex, leafHash: Self.leafHash(input.receipt.attestation)))
      } else {
        #expect(base.logLeaf == nil)
      }
    }
    let csv = String(decoding: try #require(files["results-2025.csv"]), as: UTF8.self)
    let lines = csv.components(separatedBy: "\r\n")
    #expect(lines[0].hasSuffix(",log_index,log_leaf_hash"))
    let beijing = try #require(lines.first { $0.hasPrefix("2025,HTB-110000-INF,") })
    #expect(beijing.hasSuffix(",0,\(Self.leafHash(inputs["HTB-110000-INF"]!.receipt.attestation))"))
    let page = String(decoding: try #require(files["results-2025.html"]), as: UTF8.self)
    #expect(page.contains("tree size 3") && page.contains(head.rootHash))
  }

  @Test("a ranked report the head does not cover stops the assessment until a head covers it")
  func headMustCoverEveryInput() async throws {
    let rig = try await Fixture.Rig(schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"))
    rig.link.setTreeSize(1)  // leaf 1 (Shenzhen's report) is beyond it
    let steps = Fixture.steps()
    for (_, due) in steps.prefix(4) { await rig.run(at: due) }
    let assessed = await rig.run(at: steps[4].due)
    let failure = try #require(assessed.failure)
    #expect(failure.retryable)
    #expect(failure.message.contains("HTB-440300-INF") && failure.message.contains("log index 1"))
    #expect(try await rig.engine.round(2025)?.step("2025/assessed")?.state != .applied)
    #expect(!FileManager.default.fileExists(atPath: rig.publishDirectory + "/results-2025.json"))

    rig.link.setTreeSize(2)
    let retried = await rig.run(at: steps[4].due.addingTimeInterval(60))
    #expect(retried.applied == ["2025/assessed"])
    await rig.run(at: steps[5].due)
    let results = try ResultsPublication.decode(json: Array(try #require(try rig.published()["results-2025.json"])))
    #expect(results.submissionsLog?.treeSize == 2)
  }

  @Test("no base reported: no head is asked for and none is named")
  func nothingReported() async throws {
    let inputs = Fixture.inputs().map { input -> Ndrc_Hitech_V1_AssessmentInput in
      var input = input
      input.clearReport()
      input.clearReceipt()
      return input
    }
    let rig = try await Fixture.Rig(
      schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"), link: FakeAggregator(inputs: inputs))
    rig.link.setTreeSize(0)
    for (_, due) in Fixture.steps() { await rig.run(at: due) }
    let results = try ResultsPublication.decode(json: Array(try #require(try rig.published()["results-2025.json"])))
    #expect(results.submissionsLog == nil)
    #expect(results.bases.allSatisfy { !$0.reported && $0.logLeaf == nil })
  }
}
