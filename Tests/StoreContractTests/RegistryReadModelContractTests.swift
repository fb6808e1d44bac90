import AggregatorStore
import Testing

/// The registry and rounds Submit keeps in memory (``RegistryReadModel``) must never be stale:
/// a change committed through ANOTHER store instance on the same database (another aggregator
/// process on PostgreSQL, another process on the SQLite file) is seen by the next call.
@Suite("Store contract: the registry read model")
struct RegistryReadModelContractTests {
  @Test("a base or round changed through another store instance is seen by the next Submit's context", arguments: Backend.available)
  func changesThroughAnotherInstance(_ backend: Backend) async throws {
    let database = try await ContractDatabase.make(backend)
    let mine = try await database.open()
    let other = try await database.open()
    do {
      try await mine.upsertReporter(reporter("440300"), actor: "seed")
      try await mine.upsertBase(base("HTB-440300-A", reporter: "440300", fields: ["information"]), actor: "seed")
      try await mine.setRound(RoundRecord(reportYear: 2025, state: .open, latePolicy: .refuse), actor: "seed")
      let model = RegistryReadModel(store: mine)

      var context = try await model.submissionContext(baseId: "HTB-440300-A", reportYear: 2025)
      #expect(context.base?.fields == ["information"])
      #expect(context.round?.state == .open)
      #expect(try await model.submissionContext(baseId: "HTB-440300-B", reportYear: 2025).base == nil)

      // The base re-levelled and given another field, by the other instance.
      var relevelled = base("HTB-440300-A", reporter: "440300", fields: ["information", "biology"])
      relevelled.level = .provincial
      try await other.upsertBase(relevelled, actor: "operator:alice")
      context = try await model.submissionContext(baseId: "HTB-440300-A", reportYear: 2025)
      #expect(context.base == relevelled)

      // A new base, by the other instance.
      try await other.upsertBase(base("HTB-440300-B", reporter: "440300"), actor: "operator:alice")
      #expect(try await model.submissionContext(baseId: "HTB-440300-B", reportYear: 2025).base?.baseId == "HTB-440300-B")

      // The base withdrawn, by the other instance.
      try await other.retireBase("HTB-440300-B", actor: "operator:alice")
      #expect(try await model.submissionContext(baseId: "HTB-440300-B", reportYear: 2025).base?.status == .withdrawn)

      // The round closed by a round step, by the other instance.
      _ = try await other.applyRoundStep(
        stepId: "2025/closed", round: RoundRecord(reportYear: 2025, state: .closed, latePolicy: .acceptMarkLate),
        roundDetail: [], actor: "coordinator:central", makeNotices: { _ in [] })
      context = try await model.submissionContext(baseId: "HTB-440300-A", reportYear: 2025)
      #expect(context.round?.state == .closed)
      #expect(context.round?.latePolicy == .acceptMarkLate)

      // A round recorded by an operator, by the other instance.
      #expect(try await model.submissionContext(baseId: "HTB-440300-A", reportYear: 2026).round == nil)
      try await other.setRound(RoundRecord(reportYear: 2026, state: .open, latePolicy: .refuse), actor: "operator:alice")
      #expect(try await model.submissionContext(baseId: "HTB-440300-A", reportYear: 2026).round?.state == .open)

      try await mine.close()
      try await other.close()
    } catch {
      try? await mine.close()
      try? await other.close()
      await database.remove()
      throw error
    }
    await database.remove()
  }

  @Test("submissions do not reload the registry, and last year's report comes with every context", arguments: Backend.available)
  func ingestKeepsTheCopy(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      try await store.upsertReporter(reporter("440300"), actor: "seed")
      try await store.upsertBase(base("HTB-440300-INF", reporter: "440300"), actor: "seed")
      try await store.setRound(RoundRecord(reportYear: 2024, state: .open, latePolicy: .refuse), actor: "seed")
      let model = RegistryReadModel(store: store)
      #expect(try await model.submissionContext(baseId: "HTB-440300-INF", reportYear: 2025).previousYearReport == nil)
      let loads = model.loadCount

      _ = try await store.ingest(request("s1", year: 2024, content: "first"))
      _ = try await store.ingest(request("s2", year: 2024, revision: 2, replaces: 1, content: "second"))
      let context = try await model.submissionContext(baseId: "HTB-440300-INF", reportYear: 2025)
      #expect(context.previousYearReport?.submissionId == "s2")
      #expect(context.previousYearReport?.revision == 2)
      #expect(context.previousYearReport?.originalBytes == request("s2", content: "second").originalBytes)
      #expect(context.base?.baseId == "HTB-440300-INF")
      #expect(model.loadCount == loads)

      // The store's own one-snapshot read agrees.
      #expect(try await store.submissionContext(baseId: "HTB-440300-INF", reportYear: 2025) == context)
    }
  }

  @Test("every write to the registry or the rounds raises the generation; submissions do not", arguments: Backend.available)
  func generation(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      func generation() async throws -> Int64 {
        try await store.submissionFacts(baseId: "none", previousYear: 2024).generation
      }
      var last = try await generation()
      func expectRaised(_ what: String) async throws {
        let now = try await generation()
        #expect(now > last, "\(what) did not raise the registry generation")
        last = now
      }
      try await store.upsertReporter(reporter("440300"), actor: "seed")
      try await expectRaised("a reporter")
      try await store.registerKey(z85Key(1), reporterCode: "440300", comment: "", actor: "seed")
      try await expectRaised("a reporter's key")
      try await store.retireKey(z85Key(1), actor: "seed")
      try await expectRaised("a retired key")
      try await store.registerPrincipalKey(z85Key(2), role: .coordinator, name: "central", comment: "", actor: "seed")
      try await expectRaised("a principal's key")
      try await store.upsertBase(base("HTB-440300-INF", reporter: "440300"), actor: "seed")
      try await expectRaised("a base")
      try await store.setRound(RoundRecord(reportYear: 2024, state: .open, latePolicy: .refuse), actor: "seed")
      try await expectRaised("a round")
      _ = try await store.ingest(request("s1", year: 2024))
      #expect(try await generation() == last)
      let snapshot = try await store.registrySnapshot()
      #expect(snapshot.generation == last)
      #expect(snapshot.bases.keys.sorted() == ["HTB-440300-INF"])
      #expect(snapshot.rounds.keys.sorted() == [2024])
    }
  }
}
