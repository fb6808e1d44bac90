import Aggregator
import AggregatorStore
import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import Logging
import SwiftProtobuf
import Testing
import ZeroMQ
import ZeroMQTransport

/// ApplicationIntake on a real SQLite store behind a real CURVE ZeroMQ server.
@Suite("ApplicationIntake: filing applications over CURVE")
struct ApplicationIntakeServiceTests {
  static let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

  func withIntake(
    _ body: @Sendable (AggregatorDatabase, _ client: @escaping @Sendable (String) -> Ndrc_Hitech_V1_ApplicationIntake.Client<ZeroMQTransport.Client>) async throws -> Void
  ) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("intake-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let database = try AggregatorDatabase(path: directory.appendingPathComponent("store.sqlite").path, logger: Self.silent)
    try await Registry.seedReporters(database, actor: "test")
    try await database.setCall(ApplicationCallRecord(callYear: 2026, state: .open), reason: "", actor: "test")
    var provincial = BaseRecord(
      baseId: "HTB-320500-NM", nameZh: "苏州新材料基地", nameEn: "Suzhou", reporterCode: "320000", kind: .specialized,
      level: .provincial, fields: ["new_materials"], cityCode: "320500", cityNameZh: "苏州市", firstReportYear: 2016)
    try await database.upsertBase(provincial, actor: "test")
    provincial.baseId = "HTB-440300-INF"
    provincial.reporterCode = "440300"
    provincial.level = .national
    try await database.upsertBase(provincial, actor: "test")

    let serverKeys = try CurveKeyPair.generate()
    var nodeKeys: [String: CurveKeyPair] = [:]
    for reporter in ["440000", "320000", "440300"] { nodeKeys[reporter] = try CurveKeyPair.generate() }
    let operatorKeys = try CurveKeyPair.generate()
    var allowed = Dictionary(uniqueKeysWithValues: nodeKeys.map { ($0.value.publicKey, $0.key) })
    allowed[operatorKeys.publicKey] = "operator:office"
    let transport = ZeroMQTransport.Server(
      endpoint: "tcp://127.0.0.1:*", security: .curveServer(keyPair: serverKeys, policy: CurveAllowList(allowed)))
    let server = GRPCServer(transport: transport, services: [ApplicationIntakeService(store: database, logger: Self.silent)])
    nodeKeys["operator"] = operatorKeys
    let keys = nodeKeys
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let endpoint = try await transport.listeningEndpoint()
      let clients = keys.mapValues { pair in
        GRPCClient(transport: ZeroMQTransport.Client(
          endpoint: endpoint, security: .curveClient(keyPair: pair, serverPublicKey: serverKeys.publicKey)))
      }
      for client in clients.values { group.addTask { try await client.runConnections() } }
      do {
        try await body(database) { who in Ndrc_Hitech_V1_ApplicationIntake.Client(wrapping: clients[who]!) }
      } catch {
        for client in clients.values { client.beginGracefulShutdown() }
        server.beginGracefulShutdown()
        try? await group.waitForAll()
        throw error
      }
      for client in clients.values { client.beginGracefulShutdown() }
      server.beginGracefulShutdown()
      try await group.waitForAll()
    }
    try await database.close()
  }

  static func application(_ reporter: String, ref: String, id: String, city: String? = nil) throws -> Ndrc_Hitech_V1_ApplicationSubmission {
    var submission = ApplicationTemplate.sample(reporterCode: reporter, callYear: 2026, applicationRef: ref, cityCode: city)
    submission.submissionID = id
    return try submission.sealed()
  }

  static func status(_ body: () async throws -> Void) async -> (RPCError.Code, String)? {
    do {
      try await body()
      return nil
    } catch let error as RPCError {
      return (error.code, error.message)
    } catch {
      return (.unknown, "\(error)")
    }
  }

  @Test("a valid application is stored once; retries replay; a correction is revision 2; findings name field and rule")
  func filing() async throws {
    try await withIntake { database, client in
      let gd = client("440000")
      let first = try Self.application("440000", ref: "GD-BIO", id: "a-1")
      let receipt = try await gd.file(first)
      #expect(receipt.status == .accepted && receipt.revision == 1 && receipt.applicationID.hasPrefix("APP-2026-"))
      #expect(receipt.reporterCode == "440000" && receipt.applicationStatus == .submitted)
      let again = try await gd.file(first)
      #expect(again.applicationID == receipt.applicationID && again.revision == 1 && again.receivedAt == receipt.receivedAt)

      // Every problem at once, each naming its field and rule; nothing stored.
      var bad = try Self.application("440000", ref: "GD-BAD", id: "bad-1")
      bad.application.figures[1].valueAdded.value = bad.application.figures[1].totalOutputValue.value + 1
      bad.application.figures.removeLast()
      bad.application.base.fields = [.biology, .ocean]
      bad.application.attachments = [ApplicationTemplate.attachment(name: "../plan.pdf", mediaType: "application/pdf", content: [1, 2, 3])]
      bad.application.attachments[0].sha256 = Data(repeating: 0, count: 32)
      bad = try bad.sealed()
      let refusal = await Self.status { _ = try await gd.file(bad) }
      #expect(refusal?.0 == .invalidArgument)
      let message = refusal?.1 ?? ""
      for expected in [
        "R-VALUE-ADDED-LE-OUTPUT application.figures[2024].value_added", "R-APP-FIGURES-YEARS application.figures",
        "R-APP-KIND-FIELDS application.base.fields", "R-APP-ATTACHMENT-NAME application.attachments[0].name",
        "R-APP-ATTACHMENT-SHA256 application.attachments[0].sha256",
      ] {
        #expect(message.contains(expected), "\(expected) missing from: \(message)")
      }
      #expect(try await database.application(reporterCode: "440000", applicationRef: "GD-BAD") == nil)
      // The dry run says the same without storing.
      let checked = try await gd.check(bad)
      #expect(!checked.valid && checked.predictedStatus == .rejected && checked.findings.count >= 5)

      // A correction.
      var second = try Self.application("440000", ref: "GD-BIO", id: "a-2")
      second.revision = 2
      second.replacesRevision = 1
      second.application.base.nameZh = "国家生物高技术产业基地（广州）"
      second = try second.sealed()
      let corrected = try await gd.file(second)
      #expect(corrected.applicationID == receipt.applicationID && corrected.revision == 2)
      let record = try await gd.getApplication(.with { $0.applicationRef = "GD-BIO" })
      #expect(record.revision == 2 && record.latest.application.base.nameZh == "国家生物高技术产业基地（广州）")
      #expect(record.history.map(\.to) == [.submitted])

      // The content hash is checked; the reporter is the key's, not the message's.
      var tampered = first
      tampered.submissionID = "a-3"
      tampered.application.contact = "someone else"
      #expect(await Self.status { _ = try await gd.file(tampered) }?.0 == .invalidArgument)
      var impostor = try Self.application("110000", ref: "BJ", id: "bj-1", city: "440100")
      impostor.reporterCode = "110000"
      #expect(await Self.status { _ = try await gd.file(try impostor.sealed()) }?.0 == .permissionDenied)
    }
  }

  @Test("an upgrade names the applicant's own provincial base; others see nothing of it; operators may not file")
  func upgradesAndAuthority() async throws {
    try await withIntake { database, client in
      var upgrade = ApplicationTemplate.sample(
        reporterCode: "320000", callYear: 2026, applicationRef: "JS-UP", kind: .upgradeToNational, upgradesBaseId: "HTB-320500-NM",
        cityCode: "320500")
      upgrade.submissionID = "js-1"
      let receipt = try await client("320000").file(try upgrade.sealed())
      #expect(receipt.status == .accepted)
      #expect(try await database.application(id: receipt.applicationID)?.kind == .upgradeToNational)

      // Another reporter's base: PERMISSION_DENIED; a national base or an unknown one: findings.
      var stolen = ApplicationTemplate.sample(
        reporterCode: "440000", callYear: 2026, applicationRef: "GD-UP", kind: .upgradeToNational, upgradesBaseId: "HTB-320500-NM")
      stolen.submissionID = "gd-up"
      #expect(await Self.status { _ = try await client("440000").file(try stolen.sealed()) }?.0 == .permissionDenied)
      var national = ApplicationTemplate.sample(
        reporterCode: "440300", callYear: 2026, applicationRef: "SZ-UP", kind: .upgradeToNational, upgradesBaseId: "HTB-440300-INF",
        cityCode: "440300")
      national.submissionID = "sz-up"
      let refusal = await Self.status { _ = try await client("440300").file(try national.sealed()) }
      #expect(refusal?.0 == .invalidArgument && refusal?.1.contains("R-APP-UPGRADE-BASE") == true)

      #expect(await Self.status { _ = try await client("440000").getApplication(.with { $0.applicationID = receipt.applicationID }) }?.0 == .notFound)
      #expect(try await client("440000").listApplications(.with { $0.callYear = 2026 }).applications.isEmpty)
      #expect(try await client("320000").listApplications(.with { $0.callYear = 2026 }).applications.map(\.applicationID) == [receipt.applicationID])
      var byOperator = try Self.application("440000", ref: "OP", id: "op-1")
      byOperator.reporterCode = ""
      #expect(await Self.status { _ = try await client("operator").file(byOperator) }?.0 == .permissionDenied)

      // Withdrawal by the applicant, with a reason.
      #expect(await Self.status { _ = try await client("320000").withdraw(.with { $0.applicationID = receipt.applicationID }) }?.0 == .invalidArgument)
      let withdrawn = try await client("320000").withdraw(.with {
        $0.applicationID = receipt.applicationID
        $0.reason = "规划调整"
      })
      #expect(withdrawn.status == .withdrawn && withdrawn.history.map(\.to) == [.submitted, .withdrawn])
    }
  }
}
