import AggregatorStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Monitoring
import Prometheus
import Testing

/// Runs `body` with a test client of the monitoring router over the fixture's store.
func withRouter(
  _ fixture: Fixture, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
  _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
  let router = MonitoringServer.buildRouter(
    database: fixture.database, registry: registry, logger: Logger(label: "MonitoringTests"), nowMicros: { Fixture.now })
  let app = Application(router: router)
  try await app.test(.router, body)
}

extension TestResponse {
  var text: String { String(decoding: body.readableBytesView, as: UTF8.self) }

  func decode<T: Decodable>(_ type: T.Type) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
  }

  var contentType: String { headers[.contentType] ?? "" }
}

@Suite("JSON API")
struct APITests {
  @Test("GET /api/v1/rounds lists the rounds with their deadline")
  func rounds() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/api/v1/rounds", method: .get) { response in
          #expect(response.status == .ok)
          #expect(response.contentType == "application/json; charset=utf-8")
          let rounds = try response.decode(RoundsJSON.self).rounds
          #expect(rounds.count == 1)
          #expect(rounds.first?.reportYear == 2025)
          #expect(rounds.first?.state == "closed")
          #expect(rounds.first?.latePolicy == "accept_mark_late")
          #expect(rounds.first?.deadline == "2026-03-31T00:00:00Z")
          #expect(rounds.first?.opensAt == "2026-01-01T00:00:00Z")
          // lowerCamelCase keys, as proto3 JSON names them.
          #expect(response.text.contains("\"reportYear\":2025"))
          #expect(response.text.contains("\"latePolicy\""))
        }
        try await client.execute(uri: "/api/v1/rounds/2025", method: .get) { response in
          #expect(response.status == .ok)
          let round = try response.decode(RoundJSON.self)
          #expect(round.reportYear == 2025)
        }
      }
    }
  }

  @Test("GET /api/v1/rounds/{year}/status counts each reporter's bases and shows each base")
  func status() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/api/v1/rounds/2025/status", method: .get) { response in
          #expect(response.status == .ok)
          #expect(response.contentType == "application/json; charset=utf-8")
          let status = try response.decode(RoundStatusJSON.self)
          #expect(status.round.reportYear == 2025)
          #expect(status.pastDeadline)
          #expect(status.asOf == "2026-04-02T00:08:00Z")
          #expect(status.reporters.map(\.reporterCode) == ["110000", "440000", "440300"])
          let counts = status.reporters.map { [$0.expected, $0.accepted, $0.rejected, $0.missing, $0.late, $0.rejectedSubmissions] }
          #expect(counts == [[3, 2, 0, 1, 0, 0], [2, 1, 1, 1, 1, 2], [2, 1, 0, 1, 0, 0]])
          #expect(status.reporters[1].nameZh == "广东省")
          #expect(status.reporters[1].lastSubmissionAt == "2026-04-02T00:01:00Z")
          #expect(status.reporters[2].lastSubmissionAt == "2026-04-02T00:03:00Z")
          let t = status.totals
          let totals: [Int] = [t.expected, t.accepted, t.rejected, t.missing, t.late, t.rejectedSubmissions]
          #expect(totals == [7, 4, 1, 3, 1, 2])

          #expect(status.bases.map(\.baseId) == ["BJ-1", "BJ-2", "BJ-3", "GD-1", "GD-2", "SZ-1", "SZ-2"])
          #expect(
            status.bases.map(\.state) == ["accepted", "accepted", "missing", "accepted_late", "rejected", "accepted", "missing"])
          let byId = Dictionary(uniqueKeysWithValues: status.bases.map { ($0.baseId, $0) })
          #expect(byId["BJ-1"]?.accessionNumber == "HT-2025-00000001")
          #expect(byId["BJ-2"]?.warnings == 1)
          #expect(byId["SZ-1"]?.currentRevision == 2)
          #expect(byId["SZ-1"]?.accessionNumber == "HT-2025-00000005")
          #expect(byId["SZ-1"]?.acceptedRevisions == 2)
          #expect(byId["GD-1"]?.accessionNumber == "HT-2025-00000004")
          #expect(byId["GD-2"]?.accessionNumber == "")
          #expect(byId["GD-2"]?.rejectedSubmissions == 2)
          #expect(byId["GD-2"]?.baseNameZh == Fixture.evilName)
          #expect(byId["GD-2"]?.lastRejectionFindings.map(\.ruleCode) == ["R-VALUE-ADDED-LE-OUTPUT", "R-AMOUNT-NON-NEGATIVE"])
          #expect(byId["GD-2"]?.lastRejectionFindings.last?.fieldPath == "report.rd_expenditure")
          #expect(byId["GD-2"]?.fields == ["ocean"])
          #expect(byId["BJ-3"]?.lastSubmissionAt == nil)
          #expect(!response.text.contains("\"lastSubmissionAt\":null"))
        }
      }
    }
  }

  @Test("status filters by reporter, state and field")
  func statusFilters() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/api/v1/rounds/2025/status?reporter=440000", method: .get) { response in
          let status = try response.decode(RoundStatusJSON.self)
          #expect(status.reporters.map(\.reporterCode) == ["440000"])
          #expect(status.bases.map(\.baseId) == ["GD-1", "GD-2"])
          #expect(status.totals.expected == 2 && status.totals.missing == 1)
        }
        try await client.execute(uri: "/api/v1/rounds/2025/status?state=missing", method: .get) { response in
          let status = try response.decode(RoundStatusJSON.self)
          #expect(status.bases.map(\.baseId) == ["BJ-3", "SZ-2"])
          #expect(status.reporters.map(\.reporterCode) == ["110000", "440300"])
        }
        try await client.execute(uri: "/api/v1/rounds/2025/status?state=accepted_late", method: .get) { response in
          let status = try response.decode(RoundStatusJSON.self)
          #expect(status.bases.map(\.baseId) == ["GD-1"])
        }
        try await client.execute(uri: "/api/v1/rounds/2025/status?field=information", method: .get) { response in
          let status = try response.decode(RoundStatusJSON.self)
          #expect(status.bases.map(\.baseId) == ["BJ-1", "SZ-1"])
          #expect(status.reporters.map(\.reporterCode) == ["110000", "440300"])
          #expect(status.reporters.map(\.expected) == [1, 1])
          #expect(status.reporters.map(\.missing) == [0, 0])
          #expect(status.totals.accepted == 2)
        }
      }
    }
  }

  @Test("bad parameters answer 400 naming the parameter; unknown things answer 404 naming them")
  func errors() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        for (uri, status, parameter, words) in [
          ("/api/v1/rounds/abc/status", HTTPResponse.Status.badRequest, "year", "abc"),
          ("/api/v1/rounds/2031/status", .notFound, "year", "2031"),
          ("/api/v1/rounds/2031", .notFound, "year", "2031"),
          ("/api/v1/rounds/2031/rejections", .notFound, "year", "2031"),
          ("/api/v1/rounds/2031/late", .notFound, "year", "2031"),
          ("/api/v1/rounds/2031/arrivals", .notFound, "year", "2031"),
          ("/api/v1/rounds/2025/status?reporter=999999", .notFound, "reporter", "999999"),
          ("/api/v1/rounds/2025/rejections?reporter=999999", .notFound, "reporter", "999999"),
          ("/api/v1/rounds/2025/status?state=lost", .badRequest, "state", "lost"),
          ("/api/v1/rounds/2025/status?field=space", .badRequest, "field", "space"),
          ("/api/v1/audit?limit=0", .badRequest, "limit", "0"),
          ("/api/v1/audit?limit=many", .badRequest, "limit", "many"),
          ("/api/v1/nothing/here", .notFound, "path", "/api/v1/nothing/here"),
        ] {
          try await client.execute(uri: uri, method: .get) { response in
            #expect(response.status == status, "\(uri)")
            #expect(response.contentType == "application/json; charset=utf-8", "\(uri)")
            let error = try response.decode(ErrorJSON.self).error
            #expect(error.status == Int(status.code), "\(uri)")
            #expect(error.code == (status == .notFound ? "NOT_FOUND" : "INVALID_ARGUMENT"), "\(uri)")
            #expect(error.parameter == parameter, "\(uri)")
            #expect(error.message.contains(words), "\(uri): \(error.message)")
          }
        }
      }
    }
  }

  @Test("GET /api/v1/rounds/{year}/rejections lists rejected submissions with their findings, newest first")
  func rejections() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/api/v1/rounds/2025/rejections", method: .get) { response in
          #expect(response.status == .ok)
          let body = try response.decode(RejectionsJSON.self)
          #expect(body.reportYear == 2025)
          #expect(body.rejections.map(\.submissionId) == ["s-gd2-b", "s-gd2-a"])
          #expect(body.rejections.map(\.findings.count) == [2, 1])
          let first = try #require(body.rejections.first)
          #expect(first.reporterCode == "440000" && first.baseId == "GD-2")
          #expect(first.receivedAt == "2026-04-02T00:01:00Z")
          #expect(first.findings[0].ruleCode == "R-VALUE-ADDED-LE-OUTPUT")
          #expect(first.findings[0].fieldPath == "report.value_added")
          #expect(first.findings[0].message == "value added (120) exceeds total output (100)")
          #expect(first.findings[0].severity == "error")
        }
        try await client.execute(uri: "/api/v1/rounds/2025/rejections?reporter=110000", method: .get) { response in
          let body = try response.decode(RejectionsJSON.self)
          #expect(body.rejections.isEmpty)
        }
      }
    }
  }

  @Test("GET /api/v1/rounds/{year}/late lists late accepted submissions")
  func late() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/api/v1/rounds/2025/late", method: .get) { response in
          #expect(response.status == .ok)
          let body = try response.decode(LateSubmissionsJSON.self)
          #expect(body.deadline == "2026-03-31T00:00:00Z")
          #expect(body.late.map(\.submissionId) == ["s-sz1-r2", "s-gd1"])
          #expect(body.late.map(\.accessionNumber) == ["HT-2025-00000005", "HT-2025-00000004"])
          #expect(body.late.map(\.revision) == [2, 1])
          #expect(body.late.last?.receivedAt == "2026-04-02T00:00:00Z")
        }
      }
    }
  }

  @Test("GET /api/v1/rounds/{year}/arrivals is the cumulative first acceptances against the deadline")
  func arrivals() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/api/v1/rounds/2025/arrivals", method: .get) { response in
          #expect(response.status == .ok)
          let body = try response.decode(ArrivalsJSON.self)
          #expect(body.expected == 7)
          #expect(body.deadline == "2026-03-31T00:00:00Z")
          #expect(body.points.map(\.baseId) == ["BJ-1", "SZ-1", "BJ-2", "GD-1"])
          #expect(body.points.map(\.accepted) == [1, 2, 3, 4])
          #expect(body.points.map(\.late) == [false, false, false, true])
          #expect(body.points.first?.at == "2026-01-11T00:00:00Z")
        }
        try await client.execute(uri: "/api/v1/rounds/2025/arrivals?reporter=440300", method: .get) { response in
          let body = try response.decode(ArrivalsJSON.self)
          #expect(body.expected == 2)
          #expect(body.points.map(\.baseId) == ["SZ-1"])
        }
      }
    }
  }

  @Test("GET /api/v1/audit returns the newest entries first, at most limit")
  func audit() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/api/v1/audit?limit=3", method: .get) { response in
          #expect(response.status == .ok)
          let entries = try response.decode(AuditJSON.self).entries
          #expect(entries.count == 3)
          #expect(entries.map(\.id) == entries.map(\.id).sorted(by: >))
          #expect(entries.first?.action == "submission.accepted")
          #expect(entries.first?.subject == "s-sz1-r2")
          #expect(entries.first?.actor == "reporter:440300")
          #expect(entries.dropFirst().first?.action == "submission.rejected")
        }
        try await client.execute(uri: "/api/v1/audit", method: .get) { response in
          let entries = try response.decode(AuditJSON.self).entries
          // 3 reporters + 7 bases + 1 round + 7 submissions.
          #expect(entries.count == 18)
          #expect(entries.last?.action == "reporter.create")
        }
      }
    }
  }
}

@Suite("Pages")
struct PageTests {
  @Test("GET / redirects to the newest round's board")
  func home() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/", method: .get) { response in
          #expect(response.status == .seeOther)
          #expect(response.headers[.location] == "/rounds/2025")
        }
      }
    }
  }

  @Test("the board shows reporters' counts, bases with receipts, the chart, rejections, late and audit; all escaped")
  func board() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/rounds/2025", method: .get) { response in
          #expect(response.status == .ok)
          #expect(response.contentType == "text/html; charset=utf-8")
          let html = response.text
          #expect(html.hasPrefix("<!DOCTYPE html>"))
          #expect(
            html.contains(
              #"<tr class="attention" data-reporter="440000" data-expected="2" data-accepted="1" data-rejected="1" data-missing="1" data-late="1">"#))
          #expect(
            html.contains(
              #"<tr class="attention" data-reporter="110000" data-expected="3" data-accepted="2" data-rejected="0" data-missing="1" data-late="0">"#))
          // Those with the most missing, rejected and late first.
          let order = ["440000", "110000", "440300"].compactMap { html.range(of: "data-reporter=\"\($0)\"")?.lowerBound }
          #expect(order.count == 3 && order == order.sorted())
          // Progress per field: one row per field with expected bases.
          #expect(html.contains(#"<tr data-field="information" data-expected="2" data-accepted="2">"#))
          #expect(html.contains(#"<tr data-field="ocean" data-expected="1" data-accepted="0">"#))
          #expect(html.contains(#"data-expected="7" data-accepted="4" data-rejected="1" data-missing="3" data-late="1""#))
          #expect(html.contains(#"<tr class="state-accepted_late" data-base="GD-1" data-state="accepted_late">"#))
          #expect(html.contains("<code>HT-2025-00000005</code>"))
          // User data is escaped everywhere.
          #expect(html.contains("海洋&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;"))
          #expect(!html.contains("<script>alert(1)"))
          #expect(html.contains("R&amp;D expenditure must not be negative"))
          // The chart: inline SVG with four steps and the deadline line.
          #expect(html.contains(#"<svg id="arrivals-chart""#))
          #expect(html.contains(#"data-points="4" data-expected="7""#))
          #expect(html.contains(#"id="deadline-line""#))
          #expect(html.contains("deadline 2026-03-31"))
          #expect(html.contains(##"text-anchor="middle" font-size="11" fill="#c00">deadline"##) || html.contains(##"text-anchor="end" font-size="11" fill="#c00">deadline"##))
          // Expected and arrived per day (the days with an arrival, and the deadline's).
          #expect(html.contains(#"<tr data-day="2026-01-11">"#))
          #expect(html.contains(#"<tr data-day="2026-03-31">"#))
          // Rejections with findings, late submissions, audit events.
          #expect(html.contains("<code>R-AMOUNT-NON-NEGATIVE</code>"))
          #expect(html.contains("<code>report.value_added</code>"))
          #expect(html.contains(#"<table id="late">"#))
          #expect(html.contains("submission.accepted"))
          // No external resources; the refresh script is inline.
          #expect(!html.contains("src=\"http"))
          #expect(!html.contains("<link"))
          #expect(html.contains("fetch(\"/rounds/2025/live?after=\""))
          #expect(html.contains(#"<main id="live" data-refreshes="0" data-initial-sequence="7">"#))
        }
      }
    }
  }

  @Test("the live fragment follows the arrival log: held while nothing is new (204), at once when the log is past `after`; a bad `after` is 400")
  func liveAfter() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/rounds/2025/live?after=7", method: .get) { response in
          #expect(response.status == .noContent)
        }
        try await client.execute(uri: "/rounds/2025/live?after=6&reporter=440300", method: .get) { response in
          #expect(response.status == .ok)
          #expect(response.text.contains(#"<span id="live-sequence" hidden data-sequence="7"></span>"#))
          #expect(!response.text.contains(#"data-reporter="110000""#))
        }
        try await client.execute(uri: "/rounds/2025/live?after=x", method: .get) { response in
          #expect(response.status == .badRequest)
        }
      }
    }
  }

  @Test("the live fragment is the board without the page around it, and honours filters")
  func live() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/rounds/2025/live?reporter=440300", method: .get) { response in
          #expect(response.status == .ok)
          #expect(response.contentType == "text/html; charset=utf-8")
          let html = response.text
          #expect(!html.contains("<html"))
          #expect(!html.contains("<script"))
          #expect(html.contains(#"<tr class="attention" data-reporter="440300" data-expected="2" data-accepted="1""#))
          #expect(!html.contains(#"data-reporter="110000""#))
          #expect(html.contains(#"data-base="SZ-2""#))
          #expect(!html.contains(#"data-base="BJ-1""#))
        }
        try await client.execute(uri: "/rounds/2025?state=missing", method: .get) { response in
          let html = response.text
          #expect(html.contains(#"data-base="BJ-3""#) && html.contains(#"data-base="SZ-2""#))
          #expect(!html.contains(#"data-base="GD-2""#))
          #expect(html.contains("<option selected>missing</option>"))
        }
      }
    }
  }

  @Test("pages answer 404 for an unknown round and 400 for a bad filter, in HTML")
  func pageErrors() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/rounds/2031", method: .get) { response in
          #expect(response.status == .notFound)
          #expect(response.contentType == "text/html; charset=utf-8")
          #expect(response.text.contains("no round for report year 2031"))
          #expect(response.text.contains(#"<a href="/rounds/2025">2025</a>"#))
        }
        try await client.execute(uri: "/rounds/2025?state=%3Cb%3E", method: .get) { response in
          #expect(response.status == .badRequest)
          #expect(response.text.contains("got &quot;&lt;b&gt;&quot;"))
        }
        try await client.execute(uri: "/rounds/2025/live?reporter=999999", method: .get) { response in
          #expect(response.status == .notFound)
        }
      }
    }
  }

  @Test("GET /healthz answers ok")
  func health() async throws {
    try await withFixture { fixture in
      try await withRouter(fixture) { client in
        try await client.execute(uri: "/healthz", method: .get) { response in
          #expect(response.status == .ok)
          #expect(response.text == "ok\n")
        }
      }
    }
  }

  @Test("with no round yet, / says so instead of redirecting")
  func noRounds() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("monitoring-empty-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let database = try AggregatorDatabase(path: folder.appendingPathComponent("s.sqlite").path, logger: Logger(label: "t"))
    let router = MonitoringServer.buildRouter(
      database: database, registry: PrometheusCollectorRegistry(), logger: Logger(label: "t"))
    try await Application(router: router).test(.router) { client in
      try await client.execute(uri: "/", method: .get) { response in
        #expect(response.status == .ok)
        #expect(response.text.contains("No rounds yet"))
      }
      try await client.execute(uri: "/api/v1/rounds", method: .get) { response in
        #expect(response.text == #"{"rounds":[]}"#)
      }
    }
    try await database.close()
  }
}
