import AggregatorStore
import Testing

@Suite("Store contract: rounds, round steps, notices, arrival status")
struct RoundContractTests {
  @Test("rounds are recorded, listed newest first, and audited", arguments: Backend.available)
  func rounds(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      try await store.setRound(
        RoundRecord(reportYear: 2023, state: .closed, latePolicy: .refuse, opensAtMicros: 1, deadlineMicros: 2), actor: "op")
      try await store.setRound(RoundRecord(reportYear: 2024, state: .open, latePolicy: .acceptMarkLate), actor: "op")
      try await store.setRound(RoundRecord(reportYear: 2024, state: .closed, latePolicy: .acceptMarkLate), actor: "op")
      #expect(try await store.rounds().map(\.reportYear) == [2024, 2023])
      let round2023 = try #require(try await store.round(reportYear: 2023))
      #expect(round2023.state == .closed)
      #expect(round2023.latePolicy == .refuse)
      #expect(round2023.opensAtMicros == 1)
      #expect(round2023.deadlineMicros == 2)
      #expect(try await store.round(reportYear: 2024)?.state == .closed)
      #expect(try await store.round(reportYear: 2030) == nil)
      #expect(try await store.roundDetail(reportYear: 2030) == nil)
      let details = try await store.auditLog(afterId: 0, limit: 10).map(\.detail)
      #expect(details.last == "open (accept_mark_late) -> closed (accept_mark_late)")
    }
  }

  @Test("a round step records the round and its notices once; notices are read by sequence", arguments: Backend.available)
  func steps(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      try await store.upsertReporter(reporter("440300"), actor: "seed")
      try await store.upsertReporter(reporter("110000"), actor: "seed")
      try await store.upsertBase(base("HTB-440300-INF", reporter: "440300"), actor: "seed")
      try await store.upsertBase(base("HTB-110000-INF", reporter: "110000"), actor: "seed")
      try await store.upsertBase(base("HTB-110000-NEW", reporter: "110000", firstYear: 2030), actor: "seed")
      #expect(try await store.lastNoticeSequence() == 0)

      let open = RoundRecord(reportYear: 2024, state: .open, latePolicy: .acceptMarkLate)
      let applied = try await store.applyRoundStep(
        stepId: "2024-open", round: open, roundDetail: [1, 2, 3], actor: "coordinator:central"
      ) { snapshot in
        #expect(snapshot.expectedBases.map(\.baseId) == ["HTB-110000-INF", "HTB-440300-INF"])
        #expect(snapshot.status.reporters.map(\.reporterCode) == ["110000", "440300"])
        return snapshot.expectedBases.map { OutgoingNotice(reporterCode: $0.reporterCode, bytes: Array($0.baseId.utf8)) }
      }
      #expect(!applied.alreadyApplied)
      #expect(applied.addressedReporterCodes == ["110000", "440300"])
      #expect(applied.firstSequence > 0)
      #expect(applied.lastSequence > applied.firstSequence)
      #expect(try await store.round(reportYear: 2024)?.state == .open)
      #expect(try await store.roundDetail(reportYear: 2024) == [1, 2, 3])

      let again = try await store.applyRoundStep(
        stepId: "2024-open", round: open, roundDetail: [9], actor: "coordinator:central"
      ) { _ in
        Issue.record("an applied step must not address notices again")
        return []
      }
      #expect(again.alreadyApplied)
      #expect(again.firstSequence == applied.firstSequence)
      #expect(again.lastSequence == applied.lastSequence)
      #expect(again.addressedReporterCodes == applied.addressedReporterCodes)
      #expect(try await store.roundDetail(reportYear: 2024) == [1, 2, 3])

      let closed = RoundRecord(reportYear: 2024, state: .closed, latePolicy: .acceptMarkLate)
      let close = try await store.applyRoundStep(stepId: "2024-close", round: closed, roundDetail: [4], actor: "coordinator:central") {
        snapshot in [OutgoingNotice(reporterCode: "440300", bytes: [7])]
      }
      #expect(close.firstSequence > applied.lastSequence)
      #expect(try await store.lastNoticeSequence() == close.lastSequence)
      await #expect(throws: StoreError.self) {
        _ = try await store.applyRoundStep(stepId: "2024-reopen", round: open, roundDetail: [], actor: "coordinator:central") { _ in [] }
      }

      let forShenzhen = try await store.notices(reporterCode: "440300", afterSequence: 0, reportYears: [], limit: 100)
      #expect(forShenzhen.map(\.bytes) == [Array("HTB-440300-INF".utf8), [7]])
      #expect(forShenzhen.map(\.stepId) == ["2024-open", "2024-close"])
      #expect(forShenzhen.allSatisfy { $0.reportYear == 2024 && $0.reporterCode == "440300" })
      let later = try await store.notices(
        reporterCode: "440300", afterSequence: forShenzhen[0].sequence, reportYears: [], limit: 100)
      #expect(later.map(\.sequence) == [forShenzhen[1].sequence])
      #expect(try await store.notices(reporterCode: "440300", afterSequence: 0, reportYears: [2023], limit: 100).isEmpty)
      #expect(try await store.notices(reporterCode: "440300", afterSequence: 0, reportYears: [2023, 2024], limit: 1).count == 1)
      #expect(try await store.auditLog(afterId: 0, limit: 100).filter { $0.action == "round.step" }.count == 2)
    }
  }

  @Test("arrival status counts each expected base's own reports: accepted, late, rejected, missing", arguments: Backend.available)
  func arrival(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      try await store.upsertReporter(reporter("440300"), actor: "seed")
      try await store.upsertReporter(reporter("110000"), actor: "seed")
      try await store.upsertReporter(reporter("120000", active: false), actor: "seed")
      for id in ["A", "B", "C", "D"] {
        try await store.upsertBase(base("HTB-440300-\(id)", reporter: "440300"), actor: "seed")
      }
      try await store.upsertBase(base("HTB-110000-A", reporter: "110000"), actor: "seed")
      try await store.upsertBase(base("HTB-110000-OLD", reporter: "110000"), actor: "seed")
      try await store.retireBase("HTB-110000-OLD", actor: "seed")

      let warning = StoredFinding(
        ruleCode: "R-W", severity: .warning, fieldPath: "report.x", message: "jump", overridden: false, overrideExplanation: "")
      let error = StoredFinding(
        ruleCode: "R-E", severity: .error, fieldPath: "report.y", message: "bad", overridden: false, overrideExplanation: "")
      // A: on time, then corrected with a warning. B: late. C: rejected twice. D: nothing.
      _ = try await store.ingest(request("a1", base: "HTB-440300-A", content: "a1", receivedAt: 100))
      _ = try await store.ingest(
        request("a2", base: "HTB-440300-A", revision: 2, replaces: 1, content: "a2", status: .acceptedWithWarnings,
          findings: [warning], receivedAt: 200))
      _ = try await store.ingest(request("b1", base: "HTB-440300-B", content: "b1", status: .acceptedLate, late: true, receivedAt: 300))
      _ = try await store.ingest(request("c1", base: "HTB-440300-C", content: "c1", status: .rejected, findings: [error], receivedAt: 400))
      _ = try await store.ingest(request("c2", base: "HTB-440300-C", content: "c2", status: .rejected, findings: [error, warning], receivedAt: 500))
      _ = try await store.ingest(request("h1", base: "HTB-110000-A", content: "h1", reporter: "110000", receivedAt: 700))

      let status = try await store.arrivalStatus(reportYear: 2024, reporterCode: nil)
      #expect(status.reportYear == 2024)
      #expect(status.reporters.map(\.reporterCode) == ["110000", "440300"])
      let byBase = Dictionary(uniqueKeysWithValues: status.bases.map { ($0.baseId, $0) })
      #expect(status.bases.map(\.baseId) == ["HTB-110000-A", "HTB-440300-A", "HTB-440300-B", "HTB-440300-C", "HTB-440300-D"])
      let a = try #require(byBase["HTB-440300-A"])
      #expect(a.state == .accepted)
      #expect(a.currentRevision == 2)
      #expect(a.acceptedRevisions == 2)
      #expect(a.warnings == 1)
      #expect(a.lastSubmissionAtMicros == 200)
      #expect(isAccession(a.accessionNumber, year: 2024))
      #expect(byBase["HTB-440300-B"]?.state == .acceptedLate)
      let c = try #require(byBase["HTB-440300-C"])
      #expect(c.state == .rejected)
      #expect(c.rejectedSubmissions == 2)
      #expect(c.lastRejectionFindings == [error, warning])
      #expect(c.currentRevision == 0)
      #expect(c.accessionNumber == "")
      let d = try #require(byBase["HTB-440300-D"])
      #expect(d.state == .missing)
      #expect(d.acceptedRevisions == 0)
      #expect(d.lastSubmissionAtMicros == nil)
      #expect(d.currentRevision == 0)

      let shenzhen = try #require(status.reporters.first { $0.reporterCode == "440300" })
      #expect(shenzhen.expected == 4)
      #expect(shenzhen.accepted == 2)
      #expect(shenzhen.late == 1)
      #expect(shenzhen.rejected == 1)
      #expect(shenzhen.missing == 2)
      #expect(shenzhen.rejectedSubmissions == 2)
      #expect(shenzhen.lastSubmissionAtMicros == 500)
      let beijing = try #require(status.reporters.first { $0.reporterCode == "110000" })
      #expect(beijing.expected == 1)
      #expect(beijing.accepted == 1)
      #expect(beijing.lastSubmissionAtMicros == 700)

      let one = try await store.arrivalStatus(reportYear: 2024, reporterCode: "110000")
      #expect(one.reporters.map(\.reporterCode) == ["110000"])
      #expect(one.bases.map(\.baseId) == ["HTB-110000-A"])

      let rejections = try await store.rejectedSubmissions(reportYear: 2024, reporterCode: nil, limit: 10)
      #expect(rejections.map(\.submissionId) == ["c2", "c1"])
      #expect(rejections.first?.findings == [error, warning])
      #expect(rejections.first?.baseNameZh == "基地HTB-440300-C")
      #expect(try await store.rejectedSubmissions(reportYear: 2024, reporterCode: "110000", limit: 10).isEmpty)
      #expect(try await store.rejectedSubmissions(reportYear: 2024, reporterCode: nil, limit: 1).count == 1)
      let late = try await store.lateSubmissions(reportYear: 2024, reporterCode: "440300", limit: 10)
      #expect(late.map(\.submissionId) == ["b1"])
      #expect(late.first?.revision == 1)
      let firsts = try await store.firstAcceptances(reportYear: 2024, reporterCode: nil)
      #expect(firsts.map(\.baseId) == ["HTB-440300-A", "HTB-440300-B", "HTB-110000-A"])
      #expect(firsts.map(\.late) == [false, true, false])
      #expect(try await store.activeReporterCount(sinceMicros: 0) == 2)
      #expect(try await store.activeReporterCount(sinceMicros: 650) == 1)
      #expect(try await store.activeReporterCount(sinceMicros: 701) == 0)

      let context = try await store.submissionContext(baseId: "HTB-440300-A", reportYear: 2025)
      #expect(context.base?.baseId == "HTB-440300-A")
      #expect(context.previousYearReport?.revision == 2)
      #expect(context.round == nil)
      let reports = try await store.latestReports(baseId: "HTB-440300-A", reportYear: 2025)
      #expect(reports.current == nil)
      #expect(reports.previousYear?.submissionId == "a2")
    }
  }
}
