import Foundation
import Testing

@testable import AggregatorStore

@Suite("Queries")
struct QueryTests {
  @Test("a reporter's submissions are paged newest first")
  func paging() async throws {
    try await withStore { store, _ in
      for i in 0..<25 {
        _ = try await store.ingest(request("s-\(i)", base: "B-\(i % 5)", revision: 1 + i / 5, replaces: i / 5, content: "c\(i)"))
      }
      _ = try await store.ingest(request("other-reporter", base: "GD", content: "x", reporter: "440000"))
      _ = try await store.ingest(request("other-year", base: "B-0", year: 2023, content: "x"))

      var ids: [String] = []
      var token: String? = nil
      var pages = 0
      repeat {
        let page = try await store.submissions(reporterCode: "440300", reportYear: 2024, pageSize: 10, pageToken: token)
        ids += page.receipts.map(\.submissionId)
        token = page.nextPageToken
        pages += 1
      } while token != nil
      #expect(pages == 3)
      #expect(ids == (0..<25).reversed().map { "s-\($0)" })

      let one = try await store.submissions(reporterCode: "440300", reportYear: 2024, baseId: "B-1", pageSize: 100)
      #expect(one.receipts.map(\.submissionId) == ["s-21", "s-16", "s-11", "s-6", "s-1"])
      #expect(one.nextPageToken == nil)

      await #expect {
        _ = try await store.submissions(reporterCode: "440300", reportYear: 2024, pageToken: "garbage")
      } throws: { ($0 as? StoreError)?.code == .invalidArgument }
    }
  }

  @Test("the latest report of this year and of last year, with original bytes")
  func latestReports() async throws {
    try await withStore { store, _ in
      _ = try await store.ingest(request("y23", year: 2023, content: "2023", bytes: [23]))
      _ = try await store.ingest(request("y24", year: 2024, content: "2024", bytes: [24]))
      _ = try await store.ingest(request("y24b", year: 2024, revision: 2, replaces: 1, content: "2024b", bytes: [24, 2]))
      let (current, previous) = try await store.latestReports(baseId: "HTB-440300-INF", reportYear: 2024)
      #expect(current?.originalBytes == [24, 2])
      #expect(current?.revision == 2)
      #expect(previous?.originalBytes == [23])
      #expect(previous?.submissionId == "y23")
      #expect(try await store.latestReport(baseId: "HTB-440300-INF", reportYear: 2022) == nil)
    }
  }

  @Test("arrival status counts expected, accepted, rejected, missing and late bases")
  func arrival() async throws {
    try await withStore { store, _ in
      try await store.upsertReporter(shenzhen, actor: "seed")
      try await store.upsertReporter(guangdong, actor: "seed")
      try await store.upsertBase(base("SZ-1"), actor: "seed")
      try await store.upsertBase(base("SZ-2"), actor: "seed")
      try await store.upsertBase(base("SZ-3"), actor: "seed")
      try await store.upsertBase(base("SZ-NEW", firstYear: 2026), actor: "seed")
      try await store.upsertBase(base("SZ-OLD", status: .withdrawn), actor: "seed")
      try await store.upsertBase(base("GD-1", reporter: "440000"), actor: "seed")

      let warning = StoredFinding(ruleCode: "R-OUTPUT-YOY-JUMP", severity: .warning, message: "jump")
      let error = StoredFinding(ruleCode: "R-AMOUNT-NON-NEGATIVE", severity: .error, fieldPath: "report.rd_expenditure", message: "negative")
      // SZ-1: late first revision with a warning, then a correction.
      _ = try await store.ingest(request("a", base: "SZ-1", content: "1", status: .acceptedLate, late: true, findings: [warning], receivedAt: 100))
      _ = try await store.ingest(request("b", base: "SZ-1", revision: 2, replaces: 1, content: "2", findings: [], receivedAt: 200))
      // SZ-2: two rejections.
      _ = try await store.ingest(request("c", base: "SZ-2", content: "x", status: .rejected, findings: [error], receivedAt: 300))
      _ = try await store.ingest(request("d", base: "SZ-2", content: "y", status: .rejected, findings: [error, warning], receivedAt: 400))
      // SZ-3: nothing. GD-1: on time, with a warning.
      _ = try await store.ingest(request("e", base: "GD-1", content: "g", status: .acceptedWithWarnings, reporter: "440000", findings: [warning], receivedAt: 50))
      // Shenzhen submitting for Guangdong's base does not count for it.
      _ = try await store.ingest(request("f", base: "GD-1", content: "h", status: .rejected, reporter: "440300", findings: [error], receivedAt: 500))

      let status = try await store.arrivalStatus(reportYear: 2024)
      #expect(status.bases.map(\.baseId) == ["GD-1", "SZ-1", "SZ-2", "SZ-3"])
      let byId = Dictionary(uniqueKeysWithValues: status.bases.map { ($0.baseId, $0) })
      #expect(byId["SZ-1"]?.state == .acceptedLate)
      #expect(byId["SZ-1"]?.currentRevision == 2)
      #expect(byId["SZ-1"]?.accessionNumber == "HT-2024-00000002")
      #expect(byId["SZ-1"]?.acceptedRevisions == 2)
      #expect(byId["SZ-1"]?.warnings == 0)
      #expect(byId["SZ-1"]?.lastSubmissionAtMicros == 200)
      #expect(byId["SZ-2"]?.state == .rejected)
      #expect(byId["SZ-2"]?.rejectedSubmissions == 2)
      #expect(byId["SZ-2"]?.lastRejectionFindings == [error, warning])
      #expect(byId["SZ-3"]?.state == .missing)
      #expect(byId["SZ-3"]?.lastSubmissionAtMicros == nil)
      #expect(byId["GD-1"]?.state == .accepted)
      #expect(byId["GD-1"]?.warnings == 1)
      #expect(byId["GD-1"]?.rejectedSubmissions == 0)

      #expect(status.reporters.map(\.reporterCode) == ["440000", "440300"])
      let sz = try #require(status.reporters.last)
      #expect(sz.expected == 3)
      #expect(sz.accepted == 1)
      #expect(sz.rejected == 1)
      #expect(sz.missing == 2)
      #expect(sz.late == 1)
      #expect(sz.rejectedSubmissions == 3)
      #expect(sz.lastSubmissionAtMicros == 500)
      let gd = try #require(status.reporters.first)
      #expect(gd.expected == 1 && gd.accepted == 1 && gd.missing == 0 && gd.late == 0)

      let onlySz = try await store.arrivalStatus(reportYear: 2024, reporterCode: "440300")
      #expect(onlySz.reporters.map(\.reporterCode) == ["440300"])
      #expect(onlySz.bases.map(\.baseId) == ["SZ-1", "SZ-2", "SZ-3"])
    }
  }
}
