import Foundation
import GRDB
import Testing

@testable import AggregatorStore

@Suite("Ingest: deduplication and revisions")
struct IngestDecisionTests {
  @Test("an accepted submission gets an accession number and a stored receipt")
  func accepted() async throws {
    try await withStore { store, _ in
      let warning = StoredFinding(
        ruleCode: "R-OUTPUT-YOY-JUMP", severity: .warning, fieldPath: "report.total_output_value",
        message: "total output rose 80 %", overridden: true, overrideExplanation: "two parks merged")
      var req = request("s-1", status: .acceptedWithWarnings, findings: [warning])
      req.explanations = [.init(ruleCode: "R-OUTPUT-YOY-JUMP", explanation: "two parks merged")]
      let outcome = try await store.ingest(req)
      guard case .accepted(let receipt) = outcome else {
        Issue.record("expected accepted, got \(outcome)")
        return
      }
      #expect(receipt.accessionNumber == "HT-2024-00000001")
      #expect(receipt.submissionId == "s-1")
      #expect(receipt.status == .acceptedWithWarnings)
      #expect(receipt.revision == 1)
      #expect(receipt.findings == [warning])
      #expect(receipt.baseId == "HTB-440300-INF")
      #expect(receipt.reportYear == 2024)
      #expect(receipt.contentSHA256 == hash("report A"))
      #expect(receipt.reporterCode == "440300")
      #expect(receipt.late == false)
      #expect(receipt.duplicateOfSubmissionId == "")
      #expect(receipt.receivedAtMicros == req.receivedAtMicros)

      #expect(try await store.receipt(submissionId: "s-1") == receipt)
      #expect(try await store.receipt(accessionNumber: "HT-2024-00000001") == receipt)
      let latest = try #require(try await store.latestReport(baseId: "HTB-440300-INF", reportYear: 2024))
      #expect(latest.originalBytes == req.originalBytes)
      #expect(latest.accessionNumber == receipt.accessionNumber)
      let explanations = try await store.pool.read { db in
        try String.fetchOne(db, sql: "SELECT explanations FROM submissions")
      }
      #expect(explanations?.contains("two parks merged") == true)
      #expect(try await store.auditLog().last?.action == "submission.accepted")
    }
  }

  @Test("the same id with the same content replays the original receipt")
  func replay() async throws {
    try await withStore { store, _ in
      let first = try #require(try await store.ingest(request("s-1")).receipt)
      var retry = request("s-1", receivedAt: 1_760_000_000_000_000)  // later, other envelope bytes
      retry.originalBytes = [1, 2, 3]
      let outcome = try await store.ingest(retry)
      #expect(outcome == .replayed(first))
      #expect(try await store.revisions(baseId: "HTB-440300-INF", reportYear: 2024).count == 1)
    }
  }

  @Test("the same id with other content is refused with ALREADY_EXISTS")
  func idReuse() async throws {
    try await withStore { store, _ in
      _ = try await store.ingest(request("s-1"))
      let conflict = try #require(try await store.ingest(request("s-1", content: "report B")).conflict)
      #expect(conflict.code == .alreadyExists)
      #expect(conflict.ruleCode == "R-SUBMISSION-ID-REUSED")
      #expect(
        conflict.message
          == "submission id s-1 was already used for different content (accession HT-2024-00000001); use a new id")
      // Even as a correction under the same id.
      let again = try await store.ingest(request("s-1", revision: 2, replaces: 1, content: "report B"))
      #expect(again.conflict?.ruleCode == "R-SUBMISSION-ID-REUSED")
    }
  }

  @Test("identical content under a new id is a duplicate, and the new id replays it")
  func duplicate() async throws {
    try await withStore { store, _ in
      let original = try #require(try await store.ingest(request("s-1")).receipt)
      let outcome = try await store.ingest(request("s-2", receivedAt: 1_760_000_000_000_000))
      guard case .duplicate(let receipt) = outcome else {
        Issue.record("expected duplicate, got \(outcome)")
        return
      }
      #expect(receipt.status == .duplicate)
      #expect(receipt.submissionId == "s-2")
      #expect(receipt.accessionNumber == original.accessionNumber)
      #expect(receipt.revision == 1)
      #expect(receipt.duplicateOfSubmissionId == "s-1")
      #expect(receipt.receivedAtMicros == original.receivedAtMicros)
      #expect(try await store.receipt(submissionId: "s-2") == receipt)
      #expect(try await store.ingest(request("s-2")) == .replayed(receipt))
      // A duplicate that claims to be a correction is still the same content: a duplicate.
      let asCorrection = try await store.ingest(request("s-3", revision: 2, replaces: 1))
      #expect(asCorrection.kind == "duplicate")
      #expect(try await store.revisions(baseId: "HTB-440300-INF", reportYear: 2024).count == 1)
      // No accession number was used up.
      let next = try #require(try await store.ingest(request("s-4", base: "OTHER")).receipt)
      #expect(next.accessionNumber == "HT-2024-00000002")
    }
  }

  @Test("the revision matrix: second first report, correction, stale, gap, out of nothing")
  func revisions() async throws {
    try await withStore { store, _ in
      let r1 = try #require(try await store.ingest(request("s-1", content: "v1")).receipt)

      let second = try #require(try await store.ingest(request("s-2", content: "other v1")).conflict)
      #expect(second.code == .alreadyExists)
      #expect(second.ruleCode == "R-REVISION-CONFLICT")
      #expect(
        second.message
          == "base HTB-440300-INF already has a report for 2024 (revision 1, accession HT-2024-00000001); "
          + "to correct it, submit revision 2 with replaces_revision 1")

      let r2Outcome = try await store.ingest(request("s-3", revision: 2, replaces: 1, content: "v2"))
      let r2 = try #require(r2Outcome.receipt)
      #expect(r2Outcome.kind == "accepted")
      #expect(r2.revision == 2)
      #expect(r2.accessionNumber == "HT-2024-00000002")

      let stale = try #require(try await store.ingest(request("s-4", revision: 3, replaces: 1, content: "v3")).conflict)
      #expect(stale.code == .failedPrecondition)
      #expect(stale.ruleCode == "R-REVISION-STALE")
      #expect(stale.message.contains("latest stored revision of base HTB-440300-INF for 2024, which is revision 2"))
      #expect(stale.message.contains("send revision 3 with replaces_revision 2"))

      let gap = try #require(try await store.ingest(request("s-5", revision: 4, replaces: 2, content: "v4")).conflict)
      #expect(gap.code == .failedPrecondition)
      #expect(gap.ruleCode == "R-REVISION-GAP")
      #expect(gap.message.contains("send revision 3 with replaces_revision 2"))

      let nothing = try #require(
        try await store.ingest(request("s-6", base: "EMPTY", revision: 2, replaces: 1, content: "x")).conflict)
      #expect(nothing.code == .failedPrecondition)
      #expect(nothing.message.contains("send the first report as revision 1 with replaces_revision 0"))

      // The content of revision 1 again, as revision 1 under a new id: not the latest, so a conflict.
      #expect(try await store.ingest(request("s-7", content: "v1")).conflict?.ruleCode == "R-REVISION-CONFLICT")
      // ...but as a proper correction back to it, a new revision.
      let r3 = try #require(try await store.ingest(request("s-8", revision: 3, replaces: 2, content: "v1")).receipt)
      #expect(r3.status == .accepted)
      #expect(r3.revision == 3)

      let all = try await store.revisions(baseId: "HTB-440300-INF", reportYear: 2024)
      #expect(all.map(\.revision) == [1, 2, 3])
      #expect(all.map(\.accessionNumber) == [r1.accessionNumber, r2.accessionNumber, r3.accessionNumber])
      #expect(try await store.latestReport(baseId: "HTB-440300-INF", reportYear: 2024)?.revision == 3)
      // Refused submissions left nothing behind.
      for id in ["s-2", "s-4", "s-5", "s-6", "s-7"] {
        #expect(try await store.receipt(submissionId: id) == nil)
      }
    }
  }

  @Test("a rejected submission is stored with its findings but is never a revision")
  func rejected() async throws {
    try await withStore { store, _ in
      let error = StoredFinding(
        ruleCode: "R-VALUE-ADDED-LE-OUTPUT", severity: .error, fieldPath: "report.value_added",
        message: "value added 120 > total output 100")
      let outcome = try await store.ingest(request("s-1", status: .rejected, findings: [error]))
      guard case .rejected(let receipt) = outcome else {
        Issue.record("expected rejected, got \(outcome)")
        return
      }
      #expect(receipt.accessionNumber == "")
      #expect(receipt.revision == 0)
      #expect(receipt.status == .rejected)
      #expect(receipt.findings == [error])
      #expect(try await store.receipt(submissionId: "s-1") == receipt)
      #expect(try await store.latestReport(baseId: "HTB-440300-INF", reportYear: 2024) == nil)
      #expect(try await store.ingest(request("s-1", status: .rejected, findings: [error])) == .replayed(receipt))

      // The fixed report, as revision 1 under a new id, is the first revision and the first accession.
      let fixed = try #require(try await store.ingest(request("s-2", content: "fixed")).receipt)
      #expect(fixed.status == .accepted)
      #expect(fixed.accessionNumber == "HT-2024-00000001")
      // A rejected submission of content that is stored is still just rejected.
      let again = try await store.ingest(request("s-3", content: "fixed", status: .rejected, findings: [error]))
      #expect(again.kind == "rejected")
      #expect(try await store.revisions(baseId: "HTB-440300-INF", reportYear: 2024).count == 1)
    }
  }

  @Test("malformed requests are refused without storing anything")
  func malformed() async throws {
    try await withStore { store, _ in
      var shortHash = request("s-1")
      shortHash.contentSHA256 = [1, 2, 3]
      #expect(try await store.ingest(shortHash).conflict?.code == .invalidArgument)
      #expect(try await store.ingest(request("s-2", status: .duplicate)).conflict?.code == .invalidArgument)
      #expect(try await store.ingest(request("", content: "x")).conflict?.code == .invalidArgument)
      #expect(try await store.ingest(request("s-3", year: 12345)).conflict?.code == .invalidArgument)
      #expect(try await store.ingest(request("s-4", revision: 0)).conflict?.code == .failedPrecondition)
      let count = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM submissions") }
      #expect(count == 0)
    }
  }

  @Test("racing submissions in one batch resolve in queue order")
  func racingInOneBatch() async throws {
    try await withStore { store, _ in
      await store.writer.pause()
      var tasks: [Task<IngestOutcome, any Error>] = []
      for (n, req) in [
        request("first", content: "A"),
        request("second", content: "B"),
        request("third", content: "A"),
        request("first", content: "A"),
        request("fourth", revision: 2, replaces: 1, content: "C"),
      ].enumerated() {
        tasks.append(Task { try await store.ingest(req) })
        try await eventually { await store.writer.queuedCount == n + 1 }
      }
      await store.writer.resume()
      var outcomes: [IngestOutcome] = []
      for task in tasks { outcomes.append(try await task.value) }

      #expect(outcomes.map(\.kind) == ["accepted", "conflict", "duplicate", "replayed", "accepted"])
      #expect(outcomes[1].conflict?.ruleCode == "R-REVISION-CONFLICT")
      #expect(outcomes[2].receipt?.duplicateOfSubmissionId == "first")
      #expect(outcomes[3] == .replayed(outcomes[0].receipt!))
      #expect(outcomes[4].receipt?.accessionNumber == "HT-2024-00000002")
      let stats = await store.ingestStatistics
      #expect(stats.committedBatches == 1)
      #expect(stats.largestBatch == 5)
      #expect(try await store.revisions(baseId: "HTB-440300-INF", reportYear: 2024).map(\.revision) == [1, 2])
    }
  }
}
