import Aggregator
@testable import AggregatorStore
import Foundation
import GRDB
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import SwiftProtobuf
import Testing

@Suite("ReportIngest over CURVE with a real store", .timeLimit(.minutes(2)))
struct ReportIngestServiceTests {
  @Test("an accepted report gets a receipt after it is stored, and the same submission the same receipt")
  func acceptAndReplay() async throws {
    let harness = try await IngestHarness()
    try await harness.run { node in
      let submission = try SampleSubmissions.submission(base: "SAMPLE-110000-01")
      let receipt = try await node("110000").submit(submission)
      #expect(receipt.status == .accepted)
      #expect(receipt.accessionNumber.hasPrefix("HT-2025-"))
      #expect(receipt.reporterCode == "110000")
      #expect(receipt.revision == 1)
      let again = try await node("110000").submit(submission)
      #expect(again == receipt)
      var byNumber = Ndrc_Hitech_V1_GetReceiptRequest()
      byNumber.accessionNumber = receipt.accessionNumber
      #expect(try await node("110000").getReceipt(byNumber) == receipt)
    }
    let stored = try await harness.database.latestReport(baseId: "SAMPLE-110000-01", reportYear: 2025)
    #expect(stored?.revision == 1)
  }

  @Test("identical content under a new id is a duplicate answered with the original receipt")
  func duplicateContent() async throws {
    let harness = try await IngestHarness()
    try await harness.run { node in
      let first = try await node("110000").submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01"))
      let second = try await node("110000").submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01"))
      #expect(second.status == .duplicate)
      #expect(second.accessionNumber == first.accessionNumber)
    }
  }

  @Test("revisions: a second first report is refused, a correction names what it replaces")
  func revisions() async throws {
    let harness = try await IngestHarness()
    try await harness.run { node in
      let client = node("110000")
      _ = try await client.submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01"))
      let conflicting = try SampleSubmissions.submission(base: "SAMPLE-110000-01", report: SampleSubmissions.report(scale: 101))
      #expect(await code { try await client.submit(conflicting) } == .alreadyExists)
      let correction = try SampleSubmissions.submission(
        base: "SAMPLE-110000-01", revision: 2, replaces: 1, report: SampleSubmissions.report(scale: 101))
      let corrected = try await client.submit(correction)
      #expect(corrected.revision == 2)
      let stale = try SampleSubmissions.submission(
        base: "SAMPLE-110000-01", revision: 2, replaces: 1, report: SampleSubmissions.report(scale: 102))
      #expect(await code { try await client.submit(stale) } != nil)
      // Reusing a submission id for other content is refused.
      var reused = try SampleSubmissions.submission(id: correction.submissionID, base: "SAMPLE-110000-01", revision: 3, replaces: 2)
      reused = try reused.sealed()
      #expect(await code { try await client.submit(reused) } == .alreadyExists)
    }
    #expect(try await harness.database.revisions(baseId: "SAMPLE-110000-01", reportYear: 2025).count == 2)
  }

  @Test("a reporter may report only its own bases; the message field cannot claim another identity")
  func authorisation() async throws {
    let harness = try await IngestHarness()
    try await harness.run { node in
      let shenzhenBase = try SampleSubmissions.submission(base: "SAMPLE-440300-01")
      #expect(await code { try await node("110000").submit(shenzhenBase) } == .permissionDenied)
      var claimed = try SampleSubmissions.submission(base: "SAMPLE-440300-01")
      claimed.reporterCode = "440300"
      #expect(await code { try await node("110000").submit(claimed) } == .permissionDenied)
      let unknown = try SampleSubmissions.submission(base: "NO-SUCH-BASE")
      #expect(await code { try await node("110000").submit(unknown) } == .notFound)
      // The owner can.
      #expect(try await node("440300").submit(shenzhenBase).status == .accepted)
      // Receipts of others are not visible.
      var lookup = Ndrc_Hitech_V1_GetReceiptRequest()
      lookup.submissionID = shenzhenBase.submissionID
      #expect(await code { try await node("110000").getReceipt(lookup) } == .notFound)
    }
  }

  @Test("a rejected report lists every finding and carries the receipt in trailing metadata")
  func rejection() async throws {
    let harness = try await IngestHarness()
    try await harness.run { node in
      var report = SampleSubmissions.report()
      report.valueAdded = SampleSubmissions.amount(2_000_000)
      report.employees = -1
      let submission = try SampleSubmissions.submission(base: "SAMPLE-110000-01", report: report)
      do {
        _ = try await node("110000").submit(submission)
        Issue.record("an invalid report was accepted")
      } catch let error as RPCError {
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("R-VALUE-ADDED-LE-OUTPUT report.value_added"))
        #expect(error.message.contains("R-COUNT-NON-NEGATIVE report.employees"))
        let bytes = try #require(error.metadata[binaryValues: "hitech-receipt-bin"].first(where: { _ in true }))
        let receipt = try Ndrc_Hitech_V1_Receipt(serializedBytes: bytes)
        #expect(receipt.status == .rejected)
        #expect(receipt.findings.map(\.ruleCode).contains("R-VALUE-ADDED-LE-OUTPUT"))
      }
    }
    #expect(try await harness.database.latestReport(baseId: "SAMPLE-110000-01", reportYear: 2025) == nil)
  }

  @Test("warnings are stored with the report; an explanation overrides them")
  func warnings() async throws {
    let harness = try await IngestHarness()
    try await harness.run { node in
      try await harness.database.setRound(RoundRecord(reportYear: 2024, state: .open, latePolicy: .acceptMarkLate), actor: "test")
      _ = try await node("110000").submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01", year: 2024, report: SampleSubmissions.report(scale: 10)))
      let jump = try await node("110000").submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01"))
      #expect(jump.status == .acceptedWithWarnings)
      #expect(jump.findings.contains { $0.ruleCode == "R-OUTPUT-YOY-JUMP" && !$0.overridden })
      let explained = try await node("110000").submit(try SampleSubmissions.submission(
        base: "SAMPLE-110000-01", revision: 2, replaces: 1, report: SampleSubmissions.report(scale: 99),
        overrides: ["R-OUTPUT-YOY-JUMP": "two parks merged", "R-VALUE-ADDED-YOY-JUMP": "same merger", "R-RD-YOY-JUMP": "same merger"]))
      #expect(explained.findings.filter { $0.ruleCode.hasSuffix("YOY-JUMP") }.allSatisfy { $0.overridden && $0.overrideExplanation == "two parks merged" || $0.overrideExplanation == "same merger" })
    }
  }

  @Test("dry run validates exactly as submit and stores nothing")
  func dryRun() async throws {
    let harness = try await IngestHarness()
    try await harness.run { node in
      var report = SampleSubmissions.report()
      report.rdExpenditure = SampleSubmissions.amount(2_000_000)
      let bad = try SampleSubmissions.submission(base: "SAMPLE-110000-01", report: report)
      let result = try await node("110000").validateSubmission(bad)
      #expect(!result.valid)
      #expect(result.findings.map(\.ruleCode) == ["R-RD-LE-OUTPUT"])
      #expect(result.predictedStatus == .rejected)
      let good = try SampleSubmissions.submission(base: "SAMPLE-110000-01")
      #expect(try await node("110000").validateSubmission(good).valid)
      var lookup = Ndrc_Hitech_V1_GetReceiptRequest()
      lookup.submissionID = good.submissionID
      #expect(await code { try await node("110000").getReceipt(lookup) } == .notFound)
    }
    #expect(try await harness.database.latestReport(baseId: "SAMPLE-110000-01", reportYear: 2025) == nil)
  }

  @Test("the envelope is checked: hash, schema version, submission id")
  func envelope() async throws {
    let harness = try await IngestHarness()
    try await harness.run { node in
      var tampered = try SampleSubmissions.submission(base: "SAMPLE-110000-01")
      tampered.report.patentsGranted = 1
      #expect(await code { try await node("110000").submit(tampered) } == .invalidArgument)
      var noVersion = try SampleSubmissions.submission(base: "SAMPLE-110000-01")
      noVersion.schemaVersion = .unspecified
      #expect(await code { try await node("110000").submit(noVersion) } == .invalidArgument)
      let badID = try SampleSubmissions.submission(id: "has space", base: "SAMPLE-110000-01")
      #expect(await code { try await node("110000").submit(badID) } == .invalidArgument)
    }
  }

  @Test("round policy: closed with late reports accepted marks them late; refusing gives failedPrecondition")
  func lateness() async throws {
    let accepting = try await IngestHarness(round: .closed, latePolicy: .acceptMarkLate)
    try await accepting.run { node in
      let receipt = try await node("110000").submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01"))
      #expect(receipt.status == .acceptedLate)
      #expect(receipt.late)
    }
    let refusing = try await IngestHarness(round: .closed, latePolicy: .refuse)
    try await refusing.run { node in
      #expect(await code { try await node("110000").submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01")) } == .failedPrecondition)
      var otherYear = try SampleSubmissions.submission(base: "SAMPLE-110000-01", year: 2030)
      otherYear = try otherYear.sealed()
      #expect(await code { try await node("110000").submit(otherYear) } == .failedPrecondition)
    }
  }

  @Test("a full disk: no receipt, a retryable unavailable, nothing stored; then it recovers")
  func diskFull() async throws {
    let harness = try await IngestHarness()
    try await harness.run { node in
      _ = try await node("110000").submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01"))
      try await harness.database.pool.writeWithoutTransaction { db in
        let pages = try Int.fetchOne(db, sql: "PRAGMA page_count")!
        try db.execute(sql: "PRAGMA max_page_count = \(pages)")
      }
      var big = SampleSubmissions.report()
      big.remarks = String(repeating: "填", count: 200_000)
      let submission = try SampleSubmissions.submission(base: "SAMPLE-110000-02", report: big)
      do {
        _ = try await node("110000").submit(submission)
        Issue.record("a submission was acknowledged on a full disk")
      } catch let error as RPCError {
        #expect(error.code == .unavailable)
        #expect(error.message.contains("nothing was stored"))
      }
      var lookup = Ndrc_Hitech_V1_GetReceiptRequest()
      lookup.submissionID = submission.submissionID
      #expect(await code { try await node("110000").getReceipt(lookup) } == .notFound)
      try await harness.database.pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA max_page_count = 1073741823")
      }
      // The node's retry with the same submission id now succeeds.
      #expect(try await node("110000").submit(submission).status == .accepted)
    }
  }

  @Test("concurrent submissions from many clients are each stored once")
  func concurrency() async throws {
    let reporters = ["110000", "440300", "310000", "370200", "330200"]
    let harness = try await IngestHarness(reporters: reporters)
    let basesByReporter = ["110000": "SAMPLE-110000-01", "440300": "SAMPLE-440300-01", "310000": "SAMPLE-310000-01", "370200": "SAMPLE-370200-01", "330200": "SAMPLE-330200-01"]
    let accessions = try await harness.run { node in
      try await withThrowingTaskGroup(of: String.self) { group in
        for reporter in reporters {
          // The same report, sent ten times concurrently with one id and ten times with new ids.
          let submission = try SampleSubmissions.submission(base: basesByReporter[reporter]!)
          for index in 0..<20 {
            group.addTask {
              let copy = index < 10 ? submission : try SampleSubmissions.submission(base: basesByReporter[reporter]!)
              return try await node(reporter).submit(copy).accessionNumber
            }
          }
        }
        var all: [String] = []
        for try await accession in group { all.append(accession) }
        return all
      }
    }
    #expect(accessions.count == 100)
    #expect(Set(accessions).count == reporters.count)
    for base in basesByReporter.values {
      #expect(try await harness.database.revisions(baseId: base, reportYear: 2025).count == 1)
    }
  }
}
