import AggregatorStore
import Foundation
import HiTechTestSupport
import Testing
import TestProcesses

/// Applications through real processes: a running aggregator, the clerks' `hitech application`
/// commands over CURVE, and the evaluating office's `hitech coordinator evaluate` on the store.
@Suite("Applications end to end: filed, corrected, evaluated, decided, registered")
struct ApplicationProcessTests {
  /// Runs `hitech` with `arguments`; the exit status and everything it printed.
  static func hitech(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = ChildProcess()
    process.executableURL = try AggregatorProcess.executable
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readToEndRetryingInterrupts()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  @Test("two provinces apply, one corrects; three experts score, a same-province expert is refused; two recognised, one not")
  func wholeCourse() async throws {
    let provincialBase: [String: Any] = [
      "baseId": "HTB-320500-NM", "nameZh": "苏州新材料高技术产业基地", "nameEn": "Suzhou New Materials Base",
      "kind": "BASE_KIND_SPECIALIZED", "fields": ["FIELD_NEW_MATERIALS"], "level": "BASE_LEVEL_PROVINCIAL",
      "reporterCode": "320000", "cityCode": "320500", "cityNameZh": "苏州市",
      "recognition": [
        "documentNumber": "苏发改高技[2015]7号", "date": ["year": 2015, "month": 5, "day": 4],
        "level": "BASE_LEVEL_PROVINCIAL", "issuer": "江苏省发展改革委",
      ] as [String: Any],
      "status": "BASE_STATUS_ACTIVE", "firstReportYear": 2016,
    ]
    let aggregator = try AggregatorProcess(reporters: ["440000", "320000", "110000"], years: [], extraBases: [provincialBase])
    try aggregator.runCLI(["coordinator", "evaluate", "call", "--year", "2026", "--state", "open", "--reason", "2026 call"])
    try await aggregator.start()
    defer { _ = aggregator.terminate() }
    let folder = aggregator.directory.path

    func file(_ reporter: String, _ path: String) throws -> (status: Int32, output: String) {
      try Self.hitech([
        "application", "file", path, "--endpoint", aggregator.endpoint, "--server-key", aggregator.serverPublicKeyPath,
        "--secret-key", aggregator.secretKeyPath(reporter),
      ])
    }
    func template(_ arguments: [String], to path: String) throws {
      let made = try Self.hitech(["application", "template", "--call-year", "2026", "--output", path] + arguments)
      #expect(made.status == 0, "\(made.output)")
      let checked = try Self.hitech(["application", "check", path])
      #expect(checked.status == 0, "\(checked.output)")
    }

    // Guangdong: a new base in Guangzhou; Jiangsu: the upgrade of its Suzhou base; Beijing: a new base.
    try template(["--reporter", "440000", "--ref", "GD-BIO", "--city", "440100"], to: "\(folder)/gd.json")
    try template(
      ["--reporter", "320000", "--ref", "JS-NM", "--kind", "upgrade", "--upgrades", "HTB-320500-NM", "--city", "320500"],
      to: "\(folder)/js.json")
    try template(["--reporter", "110000", "--ref", "BJ-AERO", "--city", "110100"], to: "\(folder)/bj.json")
    for (reporter, name) in [("440000", "gd"), ("320000", "js"), ("110000", "bj")] {
      let filed = try file(reporter, "\(folder)/\(name).json")
      #expect(filed.status == 0 && filed.output.contains("\"applicationId\":\"APP-2026-"), "\(filed.output)")
    }

    // A file that breaks the rules is refused, every finding named, offline and at the centre.
    var broken = try String(contentsOfFile: "\(folder)/gd.json", encoding: .utf8)
    broken = broken.replacingOccurrences(of: "\"cityCode\":\"440100\"", with: "\"cityCode\":\"110100\"")
    try broken.write(toFile: "\(folder)/gd-broken.json", atomically: true, encoding: .utf8)
    let offline = try Self.hitech(["application", "check", "\(folder)/gd-broken.json"])
    #expect(offline.status == 1 && offline.output.contains("R-APP-CITY"), "\(offline.output)")

    // Guangdong corrects its application once.
    var corrected = try String(contentsOfFile: "\(folder)/gd.json", encoding: .utf8)
    corrected = corrected.replacingOccurrences(of: "\"revision\":1,", with: "\"revision\":2,\"replacesRevision\":1,")
      .replacingOccurrences(of: "国家生物高技术产业基地（示例）", with: "国家生物高技术产业基地（广州）")
    try corrected.write(toFile: "\(folder)/gd-2.json", atomically: true, encoding: .utf8)
    let second = try file("440000", "\(folder)/gd-2.json")
    #expect(second.status == 0 && second.output.contains("\"revision\":2"), "\(second.output)")

    let store = try await aggregator.openStore()
    let applications = try #require(store as? any ApplicationStore)
    let filed = try await applications.applications(callYear: 2026, reporterCode: nil, states: [.submitted])
    try await store.close()
    #expect(filed.count == 3)
    let gd = try #require(filed.first { $0.reporterCode == "440000" })
    let js = try #require(filed.first { $0.reporterCode == "320000" })
    let bj = try #require(filed.first { $0.reporterCode == "110000" })
    #expect(gd.latestRevision == 2 && gd.proposedBase.nameZh == "国家生物高技术产业基地（广州）")

    // The office: close the call, start, open the evaluation window, register experts, score.
    try aggregator.runCLI(["coordinator", "evaluate", "call", "--year", "2026", "--state", "closed"])
    for application in [gd, js, bj] {
      try aggregator.runCLI(["coordinator", "evaluate", "start", "--application", application.applicationId, "--reason", "panel 2026-1"])
    }
    try aggregator.runCLI(["coordinator", "evaluate", "call", "--year", "2026", "--state", "evaluating"])
    for (id, province) in [("EXP-SH", "310000"), ("EXP-XJ", "650000"), ("EXP-ZJ", "330000"), ("EXP-GD", "440000")] {
      try aggregator.runCLI(["coordinator", "evaluate", "expert", "--id", id, "--province", province])
    }
    for (application, points) in [(gd, "82"), (js, "75.5"), (bj, "55")] {
      for expert in ["EXP-SH", "EXP-XJ", "EXP-ZJ"] {
        try aggregator.runCLI([
          "coordinator", "evaluate", "score", "--application", application.applicationId, "--expert", expert, "--all", points,
          "--score", "innovation_capacity=90",
        ])
      }
    }
    let conflict = try Self.hitech([
      "coordinator", "evaluate", "score", "--application", gd.applicationId, "--expert", "EXP-GD", "--all", "99",
      "--database", aggregator.databasePath, "--actor", "test",
    ])
    #expect(conflict.status == 1 && conflict.output.contains("R-APP-EXPERT-CONFLICT"), "\(conflict.output)")

    // Decisions: Guangdong recognised (a new base), Jiangsu upgraded, Beijing not recognised.
    let shown = try aggregator.runCLI(["coordinator", "evaluate", "show", "--application", bj.applicationId])
    #expect(shown.contains("not recommended"), "\(shown)")
    try aggregator.runCLI([
      "coordinator", "evaluate", "decide", "--application", gd.applicationId, "--recognised", "--document", "发改高技[2026]88号",
      "--date", "2026-11-20", "--base-id", "HTB-440100-BIO",
    ])
    try aggregator.runCLI([
      "coordinator", "evaluate", "decide", "--application", js.applicationId, "--recognised", "--document", "发改高技[2026]89号",
      "--date", "2026-11-20",
    ])
    let unreasoned = try Self.hitech([
      "coordinator", "evaluate", "decide", "--application", bj.applicationId, "--no-recognised", "--document", "发改高技函[2026]5号",
      "--date", "2026-11-21", "--database", aggregator.databasePath, "--actor", "test",
    ])
    #expect(unreasoned.status == 1 && unreasoned.output.contains("R-APP-DECISION-REASON"), "\(unreasoned.output)")
    try aggregator.runCLI([
      "coordinator", "evaluate", "decide", "--application", bj.applicationId, "--no-recognised", "--document", "发改高技函[2026]5号",
      "--date", "2026-11-21", "--reason", "评估得分未达推荐线",
    ])

    // The registry, the level history, and the next round's arrival status.
    try await aggregator.openRounds([2026])
    let after = try await aggregator.openStore()
    let apps = try #require(after as? any ApplicationStore)
    let registered = try #require(try await after.base(id: "HTB-440100-BIO"))
    #expect(registered.level == .national && registered.reporterCode == "440000" && registered.firstReportYear == 2026)
    #expect(registered.nameZh == "国家生物高技术产业基地（广州）")
    let upgraded = try #require(try await after.base(id: "HTB-320500-NM"))
    #expect(upgraded.level == .national && upgraded.recognitionDocument == "苏发改高技[2015]7号")
    #expect(try await apps.levelHistory(baseId: "HTB-320500-NM").map(\.documentNumber) == ["苏发改高技[2015]7号", "发改高技[2026]89号"])
    let arrivals = try await after.arrivalStatus(reportYear: 2026, reporterCode: nil)
    #expect(arrivals.bases.contains { $0.baseId == "HTB-440100-BIO" && $0.state == .missing })
    #expect(try await apps.application(id: bj.applicationId)?.state == .notRecognised)
    let refused = try await after.auditLog(afterId: 0, limit: 1000).filter { $0.action == "application.score.refused" }
    #expect(refused.count == 1 && refused[0].detail.contains("EXP-GD"))
    try await after.close()

    // The published list of 2026, twice: the same bytes.
    let published = "\(folder)/published"
    try aggregator.runCLI(["coordinator", "evaluate", "publish", "--year", "2026", "--output", published])
    var first: [String: Data] = [:]
    for name in ["recognitions-2026.json", "recognitions-2026.csv", "recognitions-2026.html"] {
      first[name] = try Data(contentsOf: URL(fileURLWithPath: "\(published)/\(name)"))
    }
    let again = try aggregator.runCLI(["coordinator", "evaluate", "publish", "--year", "2026", "--output", published])
    #expect(again.contains("(unchanged)"), "\(again)")
    for (name, bytes) in first {
      #expect(try Data(contentsOf: URL(fileURLWithPath: "\(published)/\(name)")) == bytes, "\(name) changed")
    }
    let csv = String(decoding: try #require(first["recognitions-2026.csv"]), as: UTF8.self)
    #expect(csv.contains("HTB-440100-BIO") && csv.contains("HTB-320500-NM") && !csv.contains(bj.applicationId))
  }
}
