import AggregatorStore
import HiTechDomain
import Testing

/// The store's contract for applications (proto-schemas/APPLICATIONS.md), on every backend.
@Suite("Store contract: applications, evaluation, recognition")
struct ApplicationContractTests {
  static let call2026 = ApplicationCallRecord(callYear: 2026, state: .open)

  static func filing(
    _ submissionId: String, reporter: String = "440000", ref: String = "GD-2026-BIO", revision: Int = 1,
    replaces: Int = 0, content: String = "application A", kind: ApplicationKindRecord = .newNationalBase,
    upgrades: String = "", name: String = "国家生物高技术产业基地（广州）"
  ) -> ApplicationFiling {
    ApplicationFiling(
      submissionId: submissionId, reporterCode: reporter, applicationRef: ref, callYear: 2026, revision: revision,
      replacesRevision: replaces, kind: kind, upgradesBaseId: upgrades,
      proposedBase: ProposedBaseRecord(
        nameZh: name, nameEn: "Guangzhou Biology Base", kind: .specialized, fields: ["biology"], cityCode: "440100",
        cityNameZh: "广州市"),
      contentSHA256: hash(content), bytes: Array("bytes of \(submissionId): \(content)".utf8))
  }

  static func scores(_ milli: Int64) -> [EvaluationCriterion: Int64] {
    Dictionary(uniqueKeysWithValues: EvaluationCriterion.allCases.map { ($0, milli) })
  }

  func applications(_ store: any ReportStore) throws -> any ApplicationStore {
    try #require(store as? any ApplicationStore, "\(type(of: store)) keeps no applications")
  }

  func seed(_ store: any ReportStore) async throws {
    for code in ["440000", "320000", "110000", "310000"] {
      try await store.upsertReporter(reporter(code), actor: "seed")
    }
  }

  @Test("filing follows the rules of reports: replay, duplicate, corrections, conflicts", arguments: Backend.available)
  func filing(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let apps = try applications(store)
      try await seed(store)

      // No call yet: refused, nothing stored.
      #expect(try await apps.fileApplication(Self.filing("s1")).conflict?.ruleCode == "R-APP-CALL-NOT-OPEN")
      try await apps.setCall(Self.call2026, reason: "announced", actor: "coordinator:central")
      #expect(try await apps.call(year: 2026) == Self.call2026)

      guard case .accepted(let first) = try await apps.fileApplication(Self.filing("s1")) else {
        Issue.record("revision 1 not accepted")
        return
      }
      #expect(first.applicationId.hasPrefix("APP-2026-") && first.applicationId.count == "APP-2026-000001".count)
      #expect(first.revision == 1 && first.applicationState == .submitted)

      // The same id and content: the first receipt again; other content: refused.
      #expect(try await apps.fileApplication(Self.filing("s1")) == .replayed(first))
      #expect(try await apps.fileApplication(Self.filing("s1", content: "other")).conflict?.ruleCode == "R-SUBMISSION-ID-REUSED")
      // Identical content under a new id: a duplicate naming the original.
      guard case .duplicate(let duplicate) = try await apps.fileApplication(Self.filing("s1-again")) else {
        Issue.record("not a duplicate")
        return
      }
      #expect(duplicate.duplicateOfSubmissionId == "s1" && duplicate.applicationId == first.applicationId)
      #expect(try await apps.fileApplication(Self.filing("s1-again")) == .replayed(duplicate))
      // A second revision 1, a gap, a stale correction.
      #expect(try await apps.fileApplication(Self.filing("s2", content: "B")).conflict?.ruleCode == "R-REVISION-CONFLICT")
      #expect(try await apps.fileApplication(Self.filing("s3", revision: 3, replaces: 1, content: "B")).conflict?.ruleCode == "R-REVISION-GAP")

      // A correction: revision 2 replacing 1.
      guard case .accepted(let second) = try await apps.fileApplication(
        Self.filing("s4", revision: 2, replaces: 1, content: "B", name: "国家生物高技术产业基地（广州市）"))
      else {
        Issue.record("correction not accepted")
        return
      }
      #expect(second.applicationId == first.applicationId && second.revision == 2)
      let stored = try #require(try await apps.application(id: first.applicationId))
      #expect(stored.latestRevision == 2 && stored.proposedBase.nameZh == "国家生物高技术产业基地（广州市）")
      #expect(try await apps.application(reporterCode: "440000", applicationRef: "GD-2026-BIO") == stored)
      #expect(try await apps.application(reporterCode: "320000", applicationRef: "GD-2026-BIO") == nil)
      let revisions = try await apps.applicationRevisions(applicationId: first.applicationId)
      #expect(revisions.map(\.revision) == [1, 2] && revisions.map(\.submissionId) == ["s1", "s4"])
      #expect(revisions[0].bytes == Array("bytes of s1: application A".utf8))

      // Another applicant's application gets another id; lists filter.
      guard case .accepted(let other) = try await apps.fileApplication(Self.filing("j1", reporter: "320000", ref: "JS-1")) else {
        Issue.record("second application not accepted")
        return
      }
      #expect(other.applicationId != first.applicationId)
      #expect(try await apps.applications(callYear: 2026, reporterCode: nil, states: []).count == 2)
      #expect(try await apps.applications(callYear: nil, reporterCode: "320000", states: [.submitted]).map(\.applicationId) == [other.applicationId])
      #expect(try await apps.applications(callYear: 2025, reporterCode: nil, states: []).isEmpty)

      // Once closed: no new application, corrections still taken.
      try await apps.setCall(ApplicationCallRecord(callYear: 2026, state: .closed), reason: "deadline", actor: "coordinator:central")
      #expect(try await apps.fileApplication(Self.filing("n1", reporter: "110000", ref: "BJ-1")).conflict?.ruleCode == "R-APP-CALL-NOT-OPEN")
      if case .accepted = try await apps.fileApplication(Self.filing("j2", reporter: "320000", ref: "JS-1", revision: 2, replaces: 1, content: "J2")) {
      } else {
        Issue.record("a correction in a closed call was refused")
      }
      let history = try await apps.applicationHistory(applicationId: first.applicationId)
      #expect(history.map(\.to) == [.submitted] && history[0].from == nil && history[0].actor == "440000")
    }
  }

  @Test(
    "evaluation: states, window, conflict of interest, decisions; recognition registers and re-levels bases",
    arguments: Backend.available)
  func evaluationAndRecognition(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let apps = try applications(store)
      try await seed(store)
      var provincial = base("HTB-320500-NM", reporter: "320000", fields: ["new_materials"])
      provincial.level = .provincial
      provincial.recognitionDocument = "苏发改高技[2015]7号"
      try await store.upsertBase(provincial, actor: "seed")
      try await apps.setCall(Self.call2026, reason: "", actor: "coordinator:central")
      guard case .accepted(let new) = try await apps.fileApplication(Self.filing("g1")),
        case .accepted(let upgrade) = try await apps.fileApplication(
          Self.filing("j1", reporter: "320000", ref: "JS-UP", content: "upgrade", kind: .upgradeToNational, upgrades: "HTB-320500-NM"))
      else {
        Issue.record("filings not accepted")
        return
      }
      for (id, province) in [("EXP-BJ", "110000"), ("EXP-SH", "310000"), ("EXP-GD", "440000"), ("EXP-JS", "320000"), ("EXP-XJ", "650000")] {
        try await apps.upsertExpert(ExpertRecord(expertId: id, name: id, domain: "technical", provinceCode: province), actor: "operator:office")
      }
      #expect(try await apps.experts().count == 5)

      // Not before the call is closed.
      await #expect(throws: StoreError.self) {
        try await apps.startEvaluation(applicationId: new.applicationId, reason: "", actor: "operator:office")
      }
      try await apps.setCall(ApplicationCallRecord(callYear: 2026, state: .closed), reason: "", actor: "coordinator:central")
      let started = try await apps.startEvaluation(applicationId: new.applicationId, reason: "panel 1", actor: "operator:office")
      #expect(started.state == .underEvaluation)
      #expect(try await apps.startEvaluation(applicationId: new.applicationId, reason: "", actor: "operator:office") == started)
      _ = try await apps.startEvaluation(applicationId: upgrade.applicationId, reason: "panel 1", actor: "operator:office")
      // A correction under evaluation is refused.
      #expect(
        try await apps.fileApplication(Self.filing("g2", revision: 2, replaces: 1, content: "late fix")).conflict?.ruleCode
          == "R-APP-NOT-CORRECTABLE")

      // Scores only in the evaluation window.
      let early = ExpertEvaluationRecord(applicationId: new.applicationId, expertId: "EXP-BJ", scoresMilli: Self.scores(80_000), recommends: true)
      await #expect(throws: StoreError.self) { try await apps.recordEvaluation(early, actor: "operator:office") }
      try await apps.setCall(ApplicationCallRecord(callYear: 2026, state: .evaluating), reason: "", actor: "coordinator:central")

      // The conflict of interest: an expert of Guangdong may not score Guangdong's application.
      do {
        try await apps.recordEvaluation(
          ExpertEvaluationRecord(applicationId: new.applicationId, expertId: "EXP-GD", scoresMilli: Self.scores(99_000), recommends: true),
          actor: "operator:office")
        Issue.record("the conflicting expert was not refused")
      } catch let error as StoreError {
        #expect(error.code == .permissionDenied && error.message.hasPrefix("R-APP-EXPERT-CONFLICT"))
      }
      // Incomplete scores, unknown experts.
      var incomplete = Self.scores(80_000)
      incomplete[.growthRate] = nil
      await #expect(throws: StoreError.self) {
        try await apps.recordEvaluation(
          ExpertEvaluationRecord(applicationId: new.applicationId, expertId: "EXP-BJ", scoresMilli: incomplete, recommends: true),
          actor: "operator:office")
      }
      await #expect(throws: StoreError.self) {
        try await apps.recordEvaluation(
          ExpertEvaluationRecord(applicationId: new.applicationId, expertId: "EXP-NOBODY", scoresMilli: Self.scores(1), recommends: true),
          actor: "operator:office")
      }

      // Three experts score the new base well; a later entry replaces an earlier one.
      for (expert, milli) in [("EXP-BJ", Int64(60_000)), ("EXP-SH", 82_000), ("EXP-XJ", 78_000), ("EXP-BJ", 80_000)] {
        try await apps.recordEvaluation(
          ExpertEvaluationRecord(applicationId: new.applicationId, expertId: expert, scoresMilli: Self.scores(milli), recommends: true),
          actor: "operator:office")
      }
      let evaluations = try await apps.evaluations(applicationId: new.applicationId)
      #expect(evaluations.map(\.expertId) == ["EXP-BJ", "EXP-SH", "EXP-XJ"])
      #expect(evaluations[0].scoresMilli == Self.scores(80_000))

      // Too few experts for the upgrade's decision.
      try await apps.recordEvaluation(
        ExpertEvaluationRecord(applicationId: upgrade.applicationId, expertId: "EXP-BJ", scoresMilli: Self.scores(75_000), recommends: true),
        actor: "operator:office")
      await #expect(throws: StoreError.self) {
        try await apps.recordDecision(
          ApplicationDecisionRecord(applicationId: upgrade.applicationId, recognised: true, documentNumber: "发改高技[2026]9号", documentDate: "2026-11-02"),
          weighting: .standard, actor: "operator:office")
      }
      for expert in ["EXP-SH", "EXP-GD"] {
        try await apps.recordEvaluation(
          ExpertEvaluationRecord(applicationId: upgrade.applicationId, expertId: expert, scoresMilli: Self.scores(75_000), recommends: true),
          actor: "operator:office")
      }

      // Recognise the new base: a bad or taken base id is refused, nothing recorded.
      let decision = ApplicationDecisionRecord(
        applicationId: new.applicationId, recognised: true, documentNumber: "发改高技[2026]8号", documentDate: "2026-11-02",
        baseId: "HTB-440100-BIO")
      var taken = decision
      taken.baseId = "HTB-320500-NM"
      await #expect(throws: StoreError.self) { try await apps.recordDecision(taken, weighting: .standard, actor: "operator:office") }
      var malformed = decision
      malformed.baseId = "htb lower"
      await #expect(throws: StoreError.self) { try await apps.recordDecision(malformed, weighting: .standard, actor: "operator:office") }
      #expect(try await apps.decision(applicationId: new.applicationId) == nil)

      let recognised = try await apps.recordDecision(decision, weighting: .standard, actor: "operator:office")
      #expect(recognised.state == .recognised)
      let registered = try #require(try await store.base(id: "HTB-440100-BIO"))
      #expect(registered.level == .national && registered.reporterCode == "440000" && registered.fields == ["biology"])
      #expect(registered.nameZh == "国家生物高技术产业基地（广州）" && registered.firstReportYear == 2026)
      #expect(registered.recognitionDocument == "发改高技[2026]8号" && registered.recognitionDate == "2026-11-02")
      let stored = try #require(try await apps.decision(applicationId: new.applicationId))
      #expect(stored.scoreMilli == 80_000 && stored.recommended && stored.weightingId == ApplicationWeighting.standard.weightingId)
      #expect(stored.decidedBy == "operator:office")
      let history = try await apps.levelHistory(baseId: "HTB-440100-BIO")
      #expect(history.map(\.applicationId) == [new.applicationId] && history[0].reason == "认定 \(new.applicationId)")
      // A decided application takes no second decision, no score, no withdrawal.
      await #expect(throws: StoreError.self) { try await apps.recordDecision(decision, weighting: .standard, actor: "operator:office") }
      await #expect(throws: StoreError.self) {
        try await apps.withdrawApplication(id: new.applicationId, reporterCode: "440000", reason: "", actor: "440000")
      }

      // The upgrade (75 points, recommended) re-levels the provincial base, keeping its first
      // recognition in the history.
      _ = try await apps.recordDecision(
        ApplicationDecisionRecord(
          applicationId: upgrade.applicationId, recognised: true, documentNumber: "发改高技[2026]9号", documentDate: "2026-11-03"),
        weighting: .standard, actor: "operator:office")
      let upgraded = try #require(try await store.base(id: "HTB-320500-NM"))
      #expect(upgraded.level == .national && upgraded.recognitionDocument == "苏发改高技[2015]7号")
      let levels = try await apps.levelHistory(baseId: "HTB-320500-NM")
      #expect(levels.map(\.level) == [.provincial, .national])
      #expect(levels.map(\.documentNumber) == ["苏发改高技[2015]7号", "发改高技[2026]9号"])
      #expect(levels[1].applicationId == upgrade.applicationId)

      #expect(try await apps.decisions(documentYear: 2026, recognisedOnly: true).map(\.applicationId) == [new.applicationId, upgrade.applicationId])
      #expect(try await apps.decisions(documentYear: 2025, recognisedOnly: false).isEmpty)
      let actions = try await store.auditLog(afterId: 0, limit: 500).map(\.action)
      #expect(actions.contains("application.score.refused"))
      #expect(actions.filter { $0 == "application.decide" }.count == 2)
      #expect(actions.contains("base.create") && actions.contains("base.update"))
    }
  }

  @Test("a refusal needs a reason; withdrawal by the applicant only", arguments: Backend.available)
  func refusalAndWithdrawal(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let apps = try applications(store)
      try await seed(store)
      try await apps.setCall(Self.call2026, reason: "", actor: "coordinator:central")
      guard case .accepted(let a) = try await apps.fileApplication(Self.filing("a1")),
        case .accepted(let b) = try await apps.fileApplication(Self.filing("b1", reporter: "110000", ref: "BJ-1", content: "b"))
      else {
        Issue.record("filings not accepted")
        return
      }
      await #expect(throws: StoreError.self) {
        try await apps.withdrawApplication(id: b.applicationId, reporterCode: "440000", reason: "not mine", actor: "440000")
      }
      let withdrawn = try await apps.withdrawApplication(id: b.applicationId, reporterCode: "110000", reason: "plan revised", actor: "110000")
      #expect(withdrawn.state == .withdrawn)
      #expect(try await apps.withdrawApplication(id: b.applicationId, reporterCode: "110000", reason: "", actor: "110000") == withdrawn)

      try await apps.setCall(ApplicationCallRecord(callYear: 2026, state: .evaluating), reason: "", actor: "coordinator:central")
      _ = try await apps.startEvaluation(applicationId: a.applicationId, reason: "", actor: "operator:office")
      for (id, province) in [("E1", "110000"), ("E2", "310000"), ("E3", "320000")] {
        try await apps.upsertExpert(ExpertRecord(expertId: id, name: "", domain: "economic", provinceCode: province), actor: "operator:office")
        try await apps.recordEvaluation(
          ExpertEvaluationRecord(applicationId: a.applicationId, expertId: id, scoresMilli: Self.scores(50_000), recommends: false),
          actor: "operator:office")
      }
      let refusal = ApplicationDecisionRecord(
        applicationId: a.applicationId, recognised: false, documentNumber: "发改高技函[2026]3号", documentDate: "2026-12-01")
      await #expect(throws: StoreError.self) { try await apps.recordDecision(refusal, weighting: .standard, actor: "operator:office") }
      var reasoned = refusal
      reasoned.reason = "评估得分低于推荐线"
      let decided = try await apps.recordDecision(reasoned, weighting: .standard, actor: "operator:office")
      #expect(decided.state == .notRecognised)
      #expect(try await apps.decision(applicationId: a.applicationId)?.recommended == false)
      #expect(try await store.bases(reporterCode: "440000", includeWithdrawn: true).isEmpty)
      #expect(try await apps.applicationHistory(applicationId: a.applicationId).map(\.to) == [.submitted, .underEvaluation, .notRecognised])
    }
  }
}

extension ApplicationFilingOutcome {
  var conflict: IngestConflict? {
    if case .conflict(let c) = self { return c }
    return nil
  }
}
