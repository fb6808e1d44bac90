import AggregatorStore
import Foundation
import Monitoring
import Testing

@Suite("hitech status output")
struct StatusReportTests {
  /// The fixture's round and status, with each base's fields.
  static func load(_ fixture: Fixture) async throws -> (RoundRecord, ArrivalStatus, [String: [String]]) {
    let round = try #require(try await fixture.database.round(reportYear: Fixture.year))
    let status = try await fixture.database.arrivalStatus(reportYear: Fixture.year)
    let fields = Dictionary(uniqueKeysWithValues: try await fixture.database.bases().map { ($0.baseId, $0.fields) })
    return (round, status, fields)
  }

  @Test("the reporter table lines up, CJK names included, with a total line")
  func table() async throws {
    try await withFixture { fixture in
      let (round, status, fields) = try await Self.load(fixture)
      let text = StatusReport.table(status: status, round: round, fieldsByBase: fields, nowMicros: Fixture.now)
      let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
      #expect(lines[0] == "Round 2025: closed (late policy accept_mark_late), deadline 2026-03-31 00:00:00 UTC (passed)")
      #expect(lines[1] == "")
      #expect(lines[2] == "REPORTER  NAME           EXPECTED  ACCEPTED  REJECTED  MISSING  LATE  LAST SUBMISSION")
      #expect(lines[3] == "110000    北京市                3         2         0        1     0  2026-01-21 00:00:00 UTC")
      #expect(lines[4] == "440000    广东省                2         1         1        1     1  2026-04-02 00:01:00 UTC")
      #expect(lines[5] == "440300    深圳市                2         1         0        1     0  2026-04-02 00:03:00 UTC")
      #expect(lines[6] == "TOTAL     3 reporter(s)         7         4         1        3     1  2026-04-02 00:03:00 UTC")
      #expect(!text.contains("\u{1B}["))
    }
  }

  @Test("--bases lists each base with its state and receipt, and the findings of rejected ones")
  func bases() async throws {
    try await withFixture { fixture in
      let (round, status, fields) = try await Self.load(fixture)
      let filtered = ArrivalFilter(reporterCode: "440000").apply(to: status, fieldsByBase: fields)
      let text = StatusReport.table(status: filtered, round: round, fieldsByBase: fields, nowMicros: Fixture.now, bases: true)
      #expect(text.contains("BASE  NAME"))
      let gd1 = try #require(text.split(separator: "\n").first { $0.hasPrefix("GD-1") })
      #expect(gd1.contains("accepted_late") && gd1.contains("HT-2025-00000004") && gd1.contains("new_energy"))
      let gd2 = try #require(text.split(separator: "\n").first { $0.hasPrefix("GD-2") })
      #expect(gd2.contains("rejected") && gd2.contains(" - "))
      #expect(text.contains("    R-VALUE-ADDED-LE-OUTPUT report.value_added: value added (120) exceeds total output (100)\n"))
      #expect(text.contains("    R-AMOUNT-NON-NEGATIVE report.rd_expenditure: R&D expenditure must not be negative\n"))
      #expect(!text.contains("BJ-1"))
    }
  }

  @Test("colour only when asked, as ANSI sequences around the cells")
  func colour() async throws {
    try await withFixture { fixture in
      let (round, status, fields) = try await Self.load(fixture)
      let text = StatusReport.table(status: status, round: round, fieldsByBase: fields, nowMicros: Fixture.now, color: true)
      #expect(text.contains("\u{1B}[1;31m1\u{1B}[0m"))  // missing after the deadline: red
      #expect(text.contains("REPORTER  NAME"))  // the header is never coloured
    }
  }

  @Test("exit code 3 when something is missing after the deadline, else 0")
  func exitCodes() async throws {
    try await withFixture { fixture in
      let (round, status, fields) = try await Self.load(fixture)
      #expect(StatusReport.exitCode(status: status, round: round, nowMicros: Fixture.now) == .missingAfterDeadline)
      #expect(StatusReport.ExitCode.missingAfterDeadline.rawValue == 3)
      // Only what is filtered counts: every information base arrived.
      let information = ArrivalFilter(field: "information").apply(to: status, fieldsByBase: fields)
      #expect(StatusReport.exitCode(status: information, round: round, nowMicros: Fixture.now) == .ok)
      let beijingMissing = ArrivalFilter(reporterCode: "110000", state: .missing).apply(to: status, fieldsByBase: fields)
      #expect(StatusReport.exitCode(status: beijingMissing, round: round, nowMicros: Fixture.now) == .missingAfterDeadline)
      // Before the deadline, missing is not yet a failure.
      var open = round
      open.state = .open
      #expect(StatusReport.exitCode(status: status, round: open, nowMicros: Fixture.deadline - 1) == .ok)
      #expect(StatusReport.exitCode(status: status, round: open, nowMicros: Fixture.deadline + 1) == .missingAfterDeadline)
      // Closed without a deadline counts as past it.
      var closed = round
      closed.deadlineMicros = nil
      #expect(StatusReport.exitCode(status: status, round: closed, nowMicros: 0) == .missingAfterDeadline)
    }
  }

  @Test("--json is the API's RoundStatus")
  func json() async throws {
    try await withFixture { fixture in
      let (round, status, fields) = try await Self.load(fixture)
      let filtered = ArrivalFilter(state: .rejected).apply(to: status, fieldsByBase: fields)
      let text = try StatusReport.json(status: filtered, round: round, fieldsByBase: fields, nowMicros: Fixture.now)
      #expect(text.hasSuffix("}\n"))
      let decoded = try JSONDecoder().decode(RoundStatusJSON.self, from: Data(text.utf8))
      #expect(decoded.bases.map(\.baseId) == ["GD-2"])
      #expect(decoded.reporters.map(\.reporterCode) == ["440000"])
      #expect(decoded.reporters.first?.rejectedSubmissions == 2)
      #expect(decoded.pastDeadline)
      #expect(decoded.round.deadline == "2026-03-31T00:00:00Z")
    }
  }

  @Test("state names parse, and HTML escaping covers the five characters")
  func small() {
    #expect(ArrivalFilter.state(named: "late") == .acceptedLate)
    #expect(ArrivalFilter.state(named: "ACCEPTED") == .accepted)
    #expect(ArrivalFilter.state(named: "gone") == nil)
    #expect(htmlEscape(#"<a href="x">Tom & Jerry's</a>"#) == "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;")
  }
}
