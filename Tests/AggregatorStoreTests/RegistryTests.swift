import Foundation
import GRDB
import Testing

@testable import AggregatorStore

let shenzhen = ReporterRecord(
  code: "440300", nameZh: "深圳市", nameEn: "Shenzhen", kind: .separatelyPlannedCity, parentCode: "440000")
let guangdong = ReporterRecord(code: "440000", nameZh: "广东省", nameEn: "Guangdong", kind: .provincial)

func base(_ id: String, reporter: String = "440300", firstYear: Int = 2020, status: BaseRecord.Status = .active)
  -> BaseRecord
{
  BaseRecord(
    baseId: id, nameZh: "基地 \(id)", nameEn: "Base \(id)", reporterCode: reporter, kind: .comprehensive,
    level: .national, fields: ["information", "new_energy"], cityCode: reporter, cityNameZh: "深圳市",
    recognitionDocument: "发改高技[2009]3211号", recognitionDate: "2009-12-16", firstReportYear: firstYear, status: status)
}

@Suite("Registry")
struct RegistryTests {
  @Test("reporters are created, updated and listed, with audit entries")
  func reporters() async throws {
    try await withStore { store, _ in
      try await store.upsertReporter(shenzhen, actor: "seed")
      try await store.upsertReporter(guangdong, actor: "seed")
      var renamed = shenzhen
      renamed.nameEn = "Shenzhen City"
      renamed.active = false
      try await store.upsertReporter(renamed, actor: "operator:li")

      #expect(try await store.reporters() == [guangdong, renamed])
      #expect(try await store.reporter(code: "440300") == renamed)
      #expect(try await store.reporter(code: "999999") == nil)

      let audit = try await store.auditLog()
      #expect(audit.map(\.action) == ["reporter.create", "reporter.create", "reporter.update"])
      #expect(audit.map(\.actor) == ["seed", "seed", "operator:li"])
      #expect(audit.map(\.subject) == ["440300", "440000", "440300"])
      #expect(audit.map(\.id) == audit.map(\.id).sorted())
    }
  }

  @Test("bases are created with their fields, updated, withdrawn and listed")
  func bases() async throws {
    try await withStore { store, _ in
      await #expect {
        try await store.upsertBase(base("HTB-1"), actor: "seed")
      } throws: { ($0 as? StoreError)?.code == .notFound }

      try await store.upsertReporter(shenzhen, actor: "seed")
      try await store.upsertReporter(guangdong, actor: "seed")
      try await store.upsertBase(base("HTB-2"), actor: "seed")
      try await store.upsertBase(base("HTB-1"), actor: "seed")
      try await store.upsertBase(base("HTB-GD", reporter: "440000"), actor: "seed")
      var changed = base("HTB-1")
      changed.fields = ["ocean"]
      changed.kind = .specialized
      try await store.upsertBase(changed, actor: "seed")

      #expect(try await store.base(id: "HTB-1") == changed)
      #expect(try await store.bases(reporterCode: "440300").map(\.baseId) == ["HTB-1", "HTB-2"])
      #expect(try await store.bases().map(\.baseId) == ["HTB-GD", "HTB-1", "HTB-2"])

      try await store.retireBase("HTB-2", actor: "operator:li")
      try await store.retireBase("HTB-2", actor: "operator:li")  // no-op
      #expect(try await store.base(id: "HTB-2")?.status == .withdrawn)
      #expect(try await store.bases(reporterCode: "440300", includeWithdrawn: false).map(\.baseId) == ["HTB-1"])
      await #expect {
        try await store.retireBase("HTB-404", actor: "x")
      } throws: { ($0 as? StoreError)?.code == .notFound }
      await #expect {
        var twice = base("HTB-3")
        twice.fields = ["ocean", "ocean"]
        try await store.upsertBase(twice, actor: "x")
      } throws: { ($0 as? StoreError)?.code == .invalidArgument }

      let actions = try await store.auditLog().map(\.action)
      #expect(actions.filter { $0.hasPrefix("base.") } == ["base.create", "base.create", "base.create", "base.update", "base.retire"])
    }
  }

  @Test("keys are registered, looked up, listed and retired")
  func keys() async throws {
    try await withStore { store, _ in
      try await store.upsertReporter(shenzhen, actor: "seed")
      try await store.upsertReporter(guangdong, actor: "seed")

      try await store.registerKey(z85Key(1), reporterCode: "440300", comment: "sz-node-1", actor: "op")
      try await store.registerKey(z85Key(1), reporterCode: "440300", actor: "op")  // same again: nothing
      try await store.registerKey(z85Key(2), reporterCode: "440000", actor: "op")
      try await store.registerKey(z85Key(3), reporterCode: "440300", comment: "sz-node-2", actor: "op")

      #expect(try await store.reporterCode(forKey: z85Key(1)) == "440300")
      #expect(try await store.reporterCode(forKey: z85Key(2)) == "440000")
      #expect(try await store.reporterCode(forKey: z85Key(9)) == nil)
      #expect(try await store.keys(reporterCode: "440300").map(\.publicKeyZ85) == [z85Key(1), z85Key(3)])
      #expect(try await store.keys().count == 3)

      await #expect {
        try await store.registerKey(z85Key(1), reporterCode: "440000", actor: "op")
      } throws: { ($0 as? StoreError)?.code == .alreadyExists }
      await #expect {
        try await store.registerKey("too short", reporterCode: "440300", actor: "op")
      } throws: { ($0 as? StoreError)?.code == .invalidArgument }
      await #expect {
        try await store.registerKey(z85Key(4), reporterCode: "999999", actor: "op")
      } throws: { ($0 as? StoreError)?.code == .notFound }

      try await store.retireKey(z85Key(1), actor: "op")
      try await store.retireKey(z85Key(1), actor: "op")  // no-op
      #expect(try await store.reporterCode(forKey: z85Key(1)) == nil)
      #expect(try await store.keys(reporterCode: "440300", includeRetired: false).map(\.publicKeyZ85) == [z85Key(3)])
      #expect(try await store.keys(reporterCode: "440300").first { $0.publicKeyZ85 == z85Key(1) }?.isActive == false)
      await #expect {
        try await store.registerKey(z85Key(1), reporterCode: "440300", actor: "op")
      } throws: { ($0 as? StoreError)?.code == .alreadyExists }
      await #expect {
        try await store.retireKey(z85Key(8), actor: "op")
      } throws: { ($0 as? StoreError)?.code == .notFound }

      // An inactive reporter's keys are refused.
      var inactive = guangdong
      inactive.active = false
      try await store.upsertReporter(inactive, actor: "op")
      #expect(try await store.reporterCode(forKey: z85Key(2)) == nil)

      let keyActions = try await store.auditLog().map(\.action).filter { $0.hasPrefix("key.") }
      #expect(keyActions == ["key.register", "key.register", "key.register", "key.retire"])
    }
  }

  @Test("the audit log is append-only: UPDATE and DELETE fail")
  func auditLogAppendOnly() async throws {
    try await withStore { store, _ in
      try await store.upsertReporter(shenzhen, actor: "seed")
      let finding = StoredFinding(ruleCode: "R-OUTPUT-YOY-JUMP", severity: .warning, message: "jump")
      _ = try await store.ingest(request("s-1", status: .acceptedWithWarnings, findings: [finding]))
      let before = try await store.auditLog()
      #expect(before.count == 2)

      for sql in [
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = 1",
        "UPDATE submissions SET status = 'rejected'",
        "DELETE FROM submissions",
        "DELETE FROM report_revisions",
        "UPDATE submission_bytes SET bytes = x'00'",
        "DELETE FROM findings",
      ] {
        await #expect(throws: DatabaseError.self, "\(sql) should fail") {
          try await store.pool.write { db in try db.execute(sql: sql) }
        }
      }
      #expect(try await store.auditLog() == before)
    }
  }
}
