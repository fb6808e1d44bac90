import AggregatorStore
import Testing

@Suite("Store contract: ingest decisions, group commit, receipts")
struct IngestContractTests {
  @Test("PostgreSQL cases run", .enabled(if: Backend.postgresURL != nil, "\(Backend.skippedMessage)"))
  func postgresAvailable() async throws {
    // The cases below run against PostgreSQL too; this one says so in the test list.
    #expect(Backend.available.contains(.postgres))
  }

  @Test("an accepted submission gets an accession number and a stored receipt", arguments: Backend.available)
  func accepted(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let warning = StoredFinding(
        ruleCode: "R-OUTPUT-YOY-JUMP", severity: .warning, fieldPath: "report.total_output_value",
        message: "total output rose 80 %", overridden: true, overrideExplanation: "two parks merged")
      let req = request("s-1", status: .acceptedWithWarnings, findings: [warning])
      guard case .accepted(let receipt) = try await store.ingest(req) else {
        Issue.record("expected accepted")
        return
      }
      #expect(isAccession(receipt.accessionNumber, year: 2024))
      #expect(receipt.submissionId == "s-1")
      #expect(receipt.status == .acceptedWithWarnings)
      #expect(receipt.revision == 1)
      #expect(receipt.findings == [warning])
      #expect(receipt.contentSHA256 == hash("report A"))
      #expect(receipt.reporterCode == "440300")
      #expect(receipt.late == false)
      #expect(receipt.duplicateOfSubmissionId == "")
      #expect(receipt.receivedAtMicros == req.receivedAtMicros)
      #expect(try await store.receipt(submissionId: "s-1") == receipt)
      #expect(try await store.receipt(accessionNumber: receipt.accessionNumber) == receipt)
      let latest = try #require(try await store.latestReport(baseId: "HTB-440300-INF", reportYear: 2024))
      #expect(latest.originalBytes == req.originalBytes)
      #expect(latest.accessionNumber == receipt.accessionNumber)
      #expect(try await store.auditLog(afterId: 0, limit: 100).last?.action == "submission.accepted")
      #expect(try await store.receipt(submissionId: "nope") == nil)
    }
  }

  @Test("the same id with the same content replays the first receipt; with other content it is refused", arguments: Backend.available)
  func sameId(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let first = try #require(try await store.ingest(request("s-1")).receipt)
      var retry = request("s-1", receivedAt: 1_760_000_000_000_000)
      retry.originalBytes = [1, 2, 3]
      #expect(try await store.ingest(retry) == .replayed(first))
      let reused = try #require(try await store.ingest(request("s-1", content: "report B")).conflict)
      #expect(reused.code == .alreadyExists)
      #expect(reused.ruleCode == "R-SUBMISSION-ID-REUSED")
      #expect(reused.message.contains(first.accessionNumber))
      #expect(try await store.revisions(baseId: "HTB-440300-INF", reportYear: 2024).count == 1)
    }
  }

  @Test("identical content under a new id is a duplicate answered with the original receipt", arguments: Backend.available)
  func duplicate(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let first = try #require(try await store.ingest(request("s-1")).receipt)
      guard case .duplicate(let dup) = try await store.ingest(request("s-2", receivedAt: 1_760_000_000_000_000)) else {
        Issue.record("expected duplicate")
        return
      }
      #expect(dup.submissionId == "s-2")
      #expect(dup.status == .duplicate)
      #expect(dup.accessionNumber == first.accessionNumber)
      #expect(dup.revision == 1)
      #expect(dup.receivedAtMicros == first.receivedAtMicros)
      #expect(dup.duplicateOfSubmissionId == "s-1")
      #expect(try await store.receipt(submissionId: "s-2") == dup)
      #expect(try await store.revisions(baseId: "HTB-440300-INF", reportYear: 2024).count == 1)
      #expect(try await store.auditLog(afterId: 0, limit: 100).last?.action == "submission.duplicate")
    }
  }

  @Test("a correction is revision N+1; a second first report, a stale or a gapped revision is refused", arguments: Backend.available)
  func revisions(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let first = try #require(try await store.ingest(request("s-1")).receipt)
      let conflicting = try #require(try await store.ingest(request("s-2", content: "report B")).conflict)
      #expect(conflicting.code == .alreadyExists)
      #expect(conflicting.ruleCode == "R-REVISION-CONFLICT")

      guard case .accepted(let second) = try await store.ingest(request("s-3", revision: 2, replaces: 1, content: "report B"))
      else {
        Issue.record("expected the correction accepted")
        return
      }
      #expect(second.revision == 2)
      #expect(second.accessionNumber != first.accessionNumber)
      #expect(isAccession(second.accessionNumber, year: 2024))

      let stale = try #require(try await store.ingest(request("s-4", revision: 3, replaces: 1, content: "report C")).conflict)
      #expect(stale.code == .failedPrecondition)
      #expect(stale.ruleCode == "R-REVISION-STALE")
      let gap = try #require(try await store.ingest(request("s-5", revision: 4, replaces: 2, content: "report C")).conflict)
      #expect(gap.ruleCode == "R-REVISION-GAP")
      let gapOnly = try #require(try await store.ingest(request("s-6", revision: 4, replaces: 3, content: "report C")).conflict)
      #expect(gapOnly.ruleCode == "R-REVISION-STALE")
      let noFirst = try #require(try await store.ingest(request("s-7", base: "OTHER", revision: 2, replaces: 1)).conflict)
      #expect(noFirst.ruleCode == "R-REVISION-GAP")
      let malformed = try #require(try await store.ingest(request("", content: "x")).conflict)
      #expect(malformed.ruleCode == "R-REQUEST-INVALID")

      let all = try await store.revisions(baseId: "HTB-440300-INF", reportYear: 2024)
      #expect(all.map(\.revision) == [1, 2])
      #expect(all.map(\.submissionId) == ["s-1", "s-3"])
      #expect(try await store.latestReport(baseId: "HTB-440300-INF", reportYear: 2024)?.revision == 2)
      // Identical to the previous revision but not the latest: a new revision, not a duplicate.
      guard case .accepted(let third) = try await store.ingest(request("s-8", revision: 3, replaces: 2, content: "report A"))
      else {
        Issue.record("expected revision 3 accepted")
        return
      }
      #expect(third.revision == 3)
    }
  }

  @Test("a rejected submission is recorded with its findings, never as a revision", arguments: Backend.available)
  func rejected(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let error = StoredFinding(
        ruleCode: "R-VALUE-ADDED-LE-OUTPUT", severity: .error, fieldPath: "report.value_added",
        message: "value added exceeds total output", overridden: false, overrideExplanation: "")
      guard case .rejected(let receipt) = try await store.ingest(request("s-1", status: .rejected, findings: [error])) else {
        Issue.record("expected rejected")
        return
      }
      #expect(receipt.status == .rejected)
      #expect(receipt.accessionNumber == "")
      #expect(receipt.revision == 0)
      #expect(try await store.receipt(submissionId: "s-1") == receipt)
      #expect(try await store.revisions(baseId: "HTB-440300-INF", reportYear: 2024).isEmpty)
      #expect(try await store.ingest(request("s-1", status: .rejected, findings: [error])) == .replayed(receipt))
      // A later good report of the same base is its first revision.
      #expect(try await store.ingest(request("s-2", content: "fixed")).receipt?.revision == 1)
    }
  }

  @Test("a reporter's receipts page newest first with tokens; a foreign token is refused", arguments: Backend.available)
  func pages(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      for i in 1...5 {
        _ = try await store.ingest(request("s-\(i)", base: "B-\(i)", content: "c\(i)"))
      }
      _ = try await store.ingest(request("other", base: "B-9", content: "c9", reporter: "110000"))
      let page1 = try await store.submissions(reporterCode: "440300", reportYear: 2024, baseId: nil, pageSize: 2, pageToken: nil)
      #expect(page1.receipts.map(\.submissionId) == ["s-5", "s-4"])
      let token = try #require(page1.nextPageToken)
      let page2 = try await store.submissions(reporterCode: "440300", reportYear: 2024, baseId: nil, pageSize: 2, pageToken: token)
      #expect(page2.receipts.map(\.submissionId) == ["s-3", "s-2"])
      let page3 = try await store.submissions(
        reporterCode: "440300", reportYear: 2024, baseId: nil, pageSize: 2, pageToken: page2.nextPageToken)
      #expect(page3.receipts.map(\.submissionId) == ["s-1"])
      #expect(page3.nextPageToken == nil)
      let oneBase = try await store.submissions(reporterCode: "440300", reportYear: 2024, baseId: "B-3", pageSize: 10, pageToken: nil)
      #expect(oneBase.receipts.map(\.submissionId) == ["s-3"])
      await #expect(throws: StoreError.self) {
        _ = try await store.submissions(reporterCode: "440300", reportYear: 2024, baseId: nil, pageSize: 2, pageToken: "bogus")
      }
    }
  }

  @Test("submissions queued together are decided in order in one transaction", arguments: Backend.available)
  func groupCommit(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let writer = try writer(of: store)
      let before = await store.ingestStatistics
      await writer.pause()
      // Twenty submissions, two of them the same id (a retry racing its original), one a
      // duplicate of another's content: decided in order, as if they came one after the other.
      var requests = (1...17).map { request("s-\($0)", base: "B-\($0)", content: "c\($0)") }
      requests.append(request("s-1", base: "B-1", content: "c1"))
      requests.append(request("s-dup", base: "B-2", content: "c2"))
      requests.append(request("s-18", base: "B-18", content: "c18"))
      var tasks: [Task<IngestOutcome, any Error>] = []
      for req in requests {
        tasks.append(Task { try await store.ingest(req) })
        try await eventually { await writer.queuedCount == tasks.count }
      }
      await writer.resume()
      var outcomes: [IngestOutcome] = []
      for task in tasks { outcomes.append(try await task.value) }

      let after = await store.ingestStatistics
      #expect(after.committedBatches == before.committedBatches + 1)
      #expect(after.largestBatch == 20)
      #expect(outcomes[17] == .replayed(try #require(outcomes[0].receipt)))
      guard case .duplicate(let dup) = outcomes[18] else {
        Issue.record("expected a duplicate, got \(outcomes[18])")
        return
      }
      #expect(dup.duplicateOfSubmissionId == "s-2")
      let accessions = outcomes.enumerated().filter { ![17, 18].contains($0.offset) }.compactMap { $0.element.receipt?.accessionNumber }
      #expect(accessions.count == 18)
      #expect(Set(accessions).count == 18)
      #expect(accessions.allSatisfy { isAccession($0, year: 2024) })
      #expect(accessions == accessions.sorted())
    }
  }

  @Test(
    "PostgreSQL: a request the database refuses in a batch fails alone; the rest of the batch is stored",
    .enabled(if: Backend.postgresURL != nil, "\(Backend.skippedMessage)"))
  func refusedRequestInBatch() async throws {
    try await withStore(.postgres) { store in
      let writer = try writer(of: store)
      await writer.pause()
      // PostgreSQL's text refuses a NUL character: the batch statement fails on its data, and
      // the batch is decided again one request at a time.
      let bad = StoredFinding(
        ruleCode: "R-X", severity: .warning, fieldPath: "report", message: "nul \u{0} inside", overridden: true,
        overrideExplanation: "")
      let requests = [
        request("s-1", base: "B-1", content: "c1"),
        request("s-2", base: "B-2", content: "c2", status: .acceptedWithWarnings, findings: [bad]),
        request("s-3", base: "B-3", content: "c3"),
      ]
      var tasks: [Task<IngestOutcome, any Error>] = []
      for req in requests {
        tasks.append(Task { try await store.ingest(req) })
        try await eventually { await writer.queuedCount == tasks.count }
      }
      await writer.resume()
      #expect(try await tasks[0].value.receipt?.revision == 1)
      await #expect(throws: StoreError.self) { _ = try await tasks[1].value }
      #expect(try await tasks[2].value.receipt?.revision == 1)
      #expect(try await store.receipt(submissionId: "s-2") == nil)
      #expect(try await store.receipt(submissionId: "s-3") != nil)
    }
  }

  @Test("a batch whose transaction fails stores nothing, fails every caller retryably, and the writer goes on", arguments: Backend.available)
  func failedBatch(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let writer = try writer(of: store)
      _ = try await store.ingest(request("before", base: "B-0", content: "before"))
      let auditBefore = try await store.auditLog(afterId: 0, limit: 1000)
      await writer.setFaultInjector { index in
        if index == 3 { throw ContractError("injected storage failure") }
      }
      await writer.pause()
      var tasks: [Task<IngestOutcome, any Error>] = []
      for i in 1...5 {
        let req = request("s-\(i)", base: "B-\(i)", content: "c\(i)")
        tasks.append(Task { try await store.ingest(req) })
        try await eventually { await writer.queuedCount == i }
      }
      await writer.resume()
      for task in tasks {
        await #expect {
          _ = try await task.value
        } throws: { error in
          (error as? StoreError)?.isRetryable == true
        }
      }
      for i in 1...5 { #expect(try await store.receipt(submissionId: "s-\(i)") == nil) }
      #expect(try await store.auditLog(afterId: 0, limit: 1000) == auditBefore)
      await writer.setFaultInjector(nil)
      for i in 1...5 {
        #expect(try await store.ingest(request("s-\(i)", base: "B-\(i)", content: "c\(i)")).receipt?.revision == 1)
      }
    }
  }

  @Test("two stores on one database: the same submission sent to both at once is stored once, with one receipt", arguments: Backend.available)
  func twoStores(_ backend: Backend) async throws {
    let database = try await ContractDatabase.make(backend)
    let one = try await database.open()
    let two = try await database.open()
    do {
      // Each pair races the same submission id through both stores; a second pair of ids
      // races identical content (a duplicate across stores) and two different first reports.
      for round in 0..<10 {
        async let a = one.ingest(request("same-\(round)", base: "B-\(round)", content: "c\(round)"))
        async let b = two.ingest(request("same-\(round)", base: "B-\(round)", content: "c\(round)"))
        let (ra, rb) = try await (a, b)
        let receiptA = try #require(ra.receipt)
        let receiptB = try #require(rb.receipt)
        #expect(receiptA == receiptB)
        #expect([ra, rb].filter { if case .accepted = $0 { true } else { false } }.count == 1)
        #expect(try await one.receipt(submissionId: "same-\(round)") == receiptA)
        #expect(try await two.receipt(submissionId: "same-\(round)") == receiptA)

        async let c = one.ingest(request("x-\(round)", base: "D-\(round)", content: "d\(round)"))
        async let d = two.ingest(request("y-\(round)", base: "D-\(round)", content: "d\(round)"))
        let (rc, rd) = try await (c, d)
        let kinds = [rc, rd].map { outcome -> String in
          switch outcome {
          case .accepted: "accepted"
          case .duplicate: "duplicate"
          default: "other: \(outcome)"
          }
        }
        #expect(kinds.sorted() == ["accepted", "duplicate"])
        #expect(rc.receipt?.accessionNumber == rd.receipt?.accessionNumber)

        async let e = one.ingest(request("p-\(round)", base: "E-\(round)", content: "e\(round)"))
        async let f = two.ingest(request("q-\(round)", base: "E-\(round)", content: "f\(round)"))
        let (re, rf) = try await (e, f)
        let refused = [re, rf].compactMap(\.conflict)
        #expect(refused.count == 1)
        #expect(refused.first?.ruleCode == "R-REVISION-CONFLICT")
        #expect(try await one.revisions(baseId: "E-\(round)", reportYear: 2024).count == 1)
      }
      let page = try await two.submissions(reporterCode: "440300", reportYear: 2024, baseId: nil, pageSize: 1000, pageToken: nil)
      #expect(page.receipts.filter { $0.submissionId.hasPrefix("same-") }.count == 10)
      let accessions = page.receipts.filter { $0.status != .duplicate && $0.status != .rejected }.map(\.accessionNumber)
      #expect(Set(accessions).count == accessions.count)
      try await one.close()
      try await two.close()
    } catch {
      try? await one.close()
      try? await two.close()
      await database.remove()
      throw error
    }
    await database.remove()
  }
}
