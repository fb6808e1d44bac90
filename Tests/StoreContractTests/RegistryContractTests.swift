import AggregatorStore
import Testing

@Suite("Store contract: registry, keys, audit")
struct RegistryContractTests {
  @Test("reporters and bases are created, replaced, withdrawn and listed, each change audited", arguments: Backend.available)
  func reportersAndBases(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      try await store.upsertReporter(reporter("440300"), actor: "operator:alice")
      try await store.upsertReporter(reporter("110000"), actor: "operator:alice")
      var renamed = reporter("440300")
      renamed.nameEn = "Shenzhen DRC"
      try await store.upsertReporter(renamed, actor: "operator:alice")
      #expect(try await store.reporters().map(\.code) == ["110000", "440300"])
      #expect(try await store.reporter(code: "440300") == renamed)
      #expect(try await store.reporter(code: "999999") == nil)

      let comprehensive = base("HTB-440300-CMP", reporter: "440300", fields: ["information", "biology"])
      try await store.upsertBase(comprehensive, actor: "operator:alice")
      try await store.upsertBase(base("HTB-110000-INF", reporter: "110000"), actor: "operator:alice")
      #expect(try await store.base(id: "HTB-440300-CMP") == comprehensive)
      var changed = comprehensive
      changed.fields = ["biology", "ocean", "information"]
      try await store.upsertBase(changed, actor: "operator:alice")
      #expect(try await store.base(id: "HTB-440300-CMP")?.fields == ["biology", "ocean", "information"])
      await #expect(throws: StoreError.self) {
        try await store.upsertBase(base("HTB-X", reporter: "999999"), actor: "operator:alice")
      }
      await #expect(throws: StoreError.self) {
        try await store.upsertBase(base("HTB-Y", reporter: "440300", fields: ["ocean", "ocean"]), actor: "operator:alice")
      }

      try await store.retireBase("HTB-110000-INF", actor: "operator:bob")
      try await store.retireBase("HTB-110000-INF", actor: "operator:bob")  // again: nothing
      #expect(try await store.base(id: "HTB-110000-INF")?.status == .withdrawn)
      #expect(try await store.bases(reporterCode: nil, includeWithdrawn: false).map(\.baseId) == ["HTB-440300-CMP"])
      #expect(try await store.bases(reporterCode: nil, includeWithdrawn: true).map(\.baseId) == ["HTB-110000-INF", "HTB-440300-CMP"])
      #expect(try await store.bases(reporterCode: "110000", includeWithdrawn: true).count == 1)
      await #expect(throws: StoreError.self) { try await store.retireBase("nope", actor: "operator:bob") }

      let actions = try await store.auditLog(afterId: 0, limit: 100).map(\.action)
      #expect(
        actions == [
          "reporter.create", "reporter.create", "reporter.update", "base.create", "base.create", "base.update",
          "base.retire",
        ])
    }
  }

  @Test("keys: registered once, refused for another owner, retired for good, looked up for ZAP", arguments: Backend.available)
  func keys(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      try await store.upsertReporter(reporter("440300"), actor: "seed")
      try await store.upsertReporter(reporter("110000"), actor: "seed")
      try await store.upsertReporter(reporter("120000", active: false), actor: "seed")
      try await store.registerKey(z85Key(1), reporterCode: "440300", comment: "node 1", actor: "operator:alice")
      try await store.registerKey(z85Key(1), reporterCode: "440300", comment: "again", actor: "operator:alice")
      try await store.registerKey(z85Key(3), reporterCode: "120000", comment: "", actor: "operator:alice")
      #expect(try await store.reporterCode(forKey: z85Key(1)) == "440300")
      #expect(try await store.reporterCode(forKey: z85Key(3)) == nil)  // inactive reporter
      #expect(try await store.reporterCode(forKey: z85Key(9)) == nil)

      func code(_ body: () async throws -> Void) async -> StoreError.Code? {
        do {
          try await body()
          return nil
        } catch let error as StoreError {
          return error.code
        } catch {
          return .internalError
        }
      }
      #expect(await code { try await store.registerKey(z85Key(1), reporterCode: "110000", comment: "", actor: "x") } == .alreadyExists)
      #expect(await code { try await store.registerKey("short", reporterCode: "440300", comment: "", actor: "x") } == .invalidArgument)
      #expect(await code { try await store.registerKey(z85Key(2), reporterCode: "999999", comment: "", actor: "x") } == .notFound)

      try await store.retireKey(z85Key(1), actor: "operator:bob")
      try await store.retireKey(z85Key(1), actor: "operator:bob")  // again: nothing
      #expect(try await store.reporterCode(forKey: z85Key(1)) == nil)
      #expect(await code { try await store.registerKey(z85Key(1), reporterCode: "440300", comment: "", actor: "x") } == .alreadyExists)
      #expect(await code { try await store.retireKey(z85Key(8), actor: "x") } == .notFound)
      let all = try await store.keys(reporterCode: "440300", includeRetired: true)
      #expect(all.map(\.publicKeyZ85) == [z85Key(1)])
      #expect(all.first?.comment == "node 1")
      #expect(all.first?.isActive == false)
      #expect(try await store.keys(reporterCode: nil, includeRetired: false).map(\.publicKeyZ85) == [z85Key(3)])

      try await store.registerPrincipalKey(z85Key(5), role: .coordinator, name: "central", comment: "", actor: "seed")
      try await store.registerPrincipalKey(z85Key(5), role: .coordinator, name: "central", comment: "", actor: "seed")
      #expect(
        await code { try await store.registerPrincipalKey(z85Key(5), role: .operator, name: "alice", comment: "", actor: "x") }
          == .alreadyExists)
      #expect(
        await code { try await store.registerPrincipalKey(z85Key(3), role: .operator, name: "alice", comment: "", actor: "x") }
          == .alreadyExists)
      #expect(
        await code { try await store.registerPrincipalKey(z85Key(6), role: .operator, name: "a:b", comment: "", actor: "x") }
          == .invalidArgument)
      #expect(try await store.principalKeys(includeRetired: false).map(\.identity) == ["coordinator:central"])
      try await store.retireKey(z85Key(5), actor: "operator:bob")
      #expect(try await store.principalKeys(includeRetired: false).isEmpty)
      #expect(try await store.principalKeys(includeRetired: true).first?.isActive == false)

      let audit = try await store.auditLog(afterId: 0, limit: 100)
      #expect(audit.filter { $0.action == "key.register" }.count == 3)
      #expect(audit.filter { $0.action == "key.retire" }.map(\.subject) == [z85Key(1), z85Key(5)])
    }
  }

  @Test("the audit log only grows: ids increase, pages follow, the newest come first on request", arguments: Backend.available)
  func audit(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      for i in 0..<7 {
        try await store.upsertReporter(reporter("\(110000 + i)"), actor: "seed")
      }
      let all = try await store.auditLog(afterId: 0, limit: 100)
      #expect(all.count == 7)
      #expect(all.map(\.id) == all.map(\.id).sorted())
      #expect(Set(all.map(\.id)).count == 7)
      #expect(all.allSatisfy { $0.actor == "seed" && $0.action == "reporter.create" })
      let after = try await store.auditLog(afterId: all[2].id, limit: 3)
      #expect(after == Array(all[3..<6]))
      let recent = try await store.recentAuditEntries(limit: 2)
      #expect(recent == [all[6], all[5]])
    }
  }
}
