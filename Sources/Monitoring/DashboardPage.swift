import HiTechDomain
import AggregatorStore

/// Escapes text for HTML element content and quoted attribute values.
public func htmlEscape(_ text: String) -> String {
  var out = ""
  out.reserveCapacity(text.utf8.count)
  for character in text {
    switch character {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&#39;"
    default: out.append(character)
    }
  }
  return out
}

/// Percent-encodes a query value.
func urlQueryEscape(_ text: String) -> String {
  var out = ""
  for byte in text.utf8 {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
      UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
      out.append(Character(Unicode.Scalar(byte)))
    default:
      let hex = String(byte, radix: 16, uppercase: true)
      out += "%" + (hex.count == 1 ? "0" + hex : hex)
    }
  }
  return out
}

/// Everything one round's board shows, read in one go.
struct BoardData: Sendable {
  /// The arrival log's position the data was read at (the page's script asks for what follows).
  var sequence: Int64
  /// The round's steps in the arrival log (opened, reminded, closed, …).
  var steps: [ArrivalLogEntry]
  var round: RoundRecord
  var rounds: [RoundRecord]
  var reporters: [ReporterRecord]
  /// The filtered status.
  var status: ArrivalStatus
  var fieldsByBase: [String: [String]]
  var filter: ArrivalFilter
  var arrivals: ArrivalSeries
  var rejections: [RejectedSubmissionRow]
  var late: [LateSubmissionRow]
  var audit: [AuditEntry]
  var nowMicros: Int64
}

/// The server-rendered dashboard: a full page, and the "live" fragment the page's script
/// fetches to replace its board without a full reload, following the arrival log
/// (`/rounds/YEAR/live?after=SEQUENCE` answers as soon as the log moves past the board's
/// position, or 204 after a second). Without JavaScript the page is complete; it just does not
/// refresh itself.
enum DashboardPage {
  /// The pause between two asks of the script, in milliseconds (each ask is held up to a second
  /// by the server while nothing arrives).
  static let refreshMillis = 100

  static func page(_ data: BoardData) -> String {
    let year = data.round.reportYear
    let query = filterQuery(data.filter)
    var html = head(title: "Arrivals \(year)")
    html += "<body data-year=\"\(year)\">\n<header><h1>Report arrivals, report year \(year)</h1>\n"
    html += "<nav>Rounds: "
    html += data.rounds.map { round in
      let current = round.reportYear == year ? " aria-current=\"page\"" : ""
      return "<a href=\"/rounds/\(round.reportYear)\"\(current)>\(round.reportYear)</a>"
    }.joined(separator: " ")
    html += " · <a href=\"/api/v1/rounds/\(year)/status\(query)\">JSON</a> · <a href=\"/metrics\">metrics</a></nav>\n"
    html += filterForm(data)
    html += "</header>\n"
    html += "<main id=\"live\" data-refreshes=\"0\" data-initial-sequence=\"\(data.sequence)\">\n"
    html += fragment(data)
    html += "</main>\n"
    html += script(year: year)
    html += "</body></html>\n"
    return html
  }

  /// The part of the page the script replaces.
  static func fragment(_ data: BoardData) -> String {
    var html = "<span id=\"live-sequence\" hidden data-sequence=\"\(data.sequence)\"></span>\n"
    html += roundSummary(data)
    html += reportersTable(data)
    html += fieldProgress(data)
    html += "<section><h2>Arrivals over time (the round's calendar)</h2>\n"
    html += ArrivalChart.svg(data.arrivals, nowMicros: data.nowMicros)
    html += ArrivalChart.perDayTable(data.arrivals)
    html += stepsList(data)
    html += "</section>\n"
    html += basesTable(data)
    html += rejectionsTable(data.rejections)
    html += lateTable(data.late)
    html += auditTable(data.audit)
    html += "<p class=\"asof\">As of <time>\(TimeFormat.display(data.nowMicros))</time></p>\n"
    return html
  }

  static func notFound(_ message: String, rounds: [RoundRecord]) -> String {
    var html = head(title: "Not found")
    html += "<body><h1>Not found</h1><p class=\"error\">\(htmlEscape(message))</p>\n"
    if !rounds.isEmpty {
      html += "<p>Rounds: " + rounds.map { "<a href=\"/rounds/\($0.reportYear)\">\($0.reportYear)</a>" }.joined(separator: " ") + "</p>\n"
    }
    html += "</body></html>\n"
    return html
  }

  static func noRounds() -> String {
    head(title: "No rounds") + "<body><h1>No rounds yet</h1><p>The aggregator has no round recorded. "
      + "Open one with <code>hitech rounds set --year YEAR --state open</code>, or wait for the coordinator.</p></body></html>\n"
  }

  static func badRequest(_ message: String) -> String {
    head(title: "Bad request") + "<body><h1>Bad request</h1><p class=\"error\">\(htmlEscape(message))</p></body></html>\n"
  }

  // MARK: Parts

  private static func head(title: String) -> String {
    """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(htmlEscape(title)) · hitech</title>
    <style>
    body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:1rem 2rem;color:#222;background:#fafafa}
    h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.2rem 0 .4rem}
    nav a{margin-right:.3rem}nav a[aria-current]{font-weight:bold}
    table{border-collapse:collapse;background:#fff;font-size:.9rem}
    th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
    th{background:#eef}td.n{text-align:right;font-variant-numeric:tabular-nums}
    tr.state-missing td.state{color:#a60}tr.state-rejected td.state{color:#b00;font-weight:bold}
    tr.state-accepted td.state{color:#070}tr.state-accepted_late td.state{color:#07a}
    td.bad{color:#b00;font-weight:bold}.summary span{margin-right:1.2rem}
    .error{color:#b00}.asof{color:#777;font-size:.8rem}code{font-size:.85rem}
    form{margin:.5rem 0}svg{background:#fff;border:1px solid #ddd}
    tr.attention td:first-child{border-left:4px solid #c60}details{margin:.4rem 0}summary{cursor:pointer;color:#446}
    .bar{display:inline-block;width:10rem;height:.7rem;background:#e4e4ee;vertical-align:middle;margin-right:.4rem}
    .bar span{display:block;height:100%;background:#2a7}table.days td,table.days th{padding:.1rem .4rem}
    ul.steps{margin:.3rem 0;padding-left:1.2rem;font-size:.9rem}
    </style></head>

    """
  }

  private static func filterQuery(_ filter: ArrivalFilter) -> String {
    var parts: [String] = []
    if let reporter = filter.reporterCode { parts.append("reporter=" + urlQueryEscape(reporter)) }
    if let state = filter.state { parts.append("state=" + ArrivalFilter.name(of: state)) }
    if let field = filter.field { parts.append("field=" + urlQueryEscape(field)) }
    return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
  }

  private static func filterForm(_ data: BoardData) -> String {
    var html = "<form method=\"get\" action=\"/rounds/\(data.round.reportYear)\">\n<label>Reporter <select name=\"reporter\"><option value=\"\">all</option>"
    for reporter in data.reporters {
      let selected = reporter.code == data.filter.reporterCode ? " selected" : ""
      html += "<option value=\"\(htmlEscape(reporter.code))\"\(selected)>\(htmlEscape(reporter.code)) \(htmlEscape(reporter.nameZh))</option>"
    }
    html += "</select></label>\n<label>State <select name=\"state\"><option value=\"\">all</option>"
    for name in ArrivalFilter.stateNames {
      let selected = data.filter.state.map(ArrivalFilter.name(of:)) == name ? " selected" : ""
      html += "<option\(selected)>\(name)</option>"
    }
    html += "</select></label>\n<label>Field <select name=\"field\"><option value=\"\">all</option>"
    for name in ArrivalFilter.fieldNames {
      let selected = data.filter.field == name ? " selected" : ""
      html += "<option\(selected)>\(name)</option>"
    }
    html += "</select></label>\n<button type=\"submit\">Filter</button></form>\n"
    return html
  }

  private static func roundSummary(_ data: BoardData) -> String {
    let round = data.round
    let totals = ArrivalFilter.totals(data.status.reporters)
    let past = isPastDeadline(round, nowMicros: data.nowMicros)
    var html = "<section class=\"summary\" id=\"summary\" data-expected=\"\(totals.expected)\" data-accepted=\"\(totals.accepted)\""
    html += " data-rejected=\"\(totals.rejected)\" data-missing=\"\(totals.missing)\" data-late=\"\(totals.late)\">\n"
    html += "<span>Round state: <b>\(round.state.rawValue)</b> (late policy \(round.latePolicy.rawValue))</span>"
    if let deadline = round.deadlineMicros {
      html += "<span>Deadline: <b>\(TimeFormat.display(deadline))</b>\(past ? " (passed)" : "")</span>"
    }
    html += "<br><span>Expected <b>\(totals.expected)</b></span><span>Accepted <b>\(totals.accepted)</b></span>"
    html += "<span>Rejected <b>\(totals.rejected)</b></span><span>Missing <b>\(totals.missing)</b></span><span>Late <b>\(totals.late)</b></span>\n"
    html += "</section>\n"
    return html
  }

  /// Whether a reporter's row needs a look: something missing (after the deadline, or at all
  /// while the round is open), rejected or late.
  static func needsAttention(_ row: ReporterArrivalRow) -> Bool {
    row.missing > 0 || row.rejected > 0 || row.late > 0 || row.rejectedSubmissions > 0
  }

  /// Reporters with something missing, rejected or late first (most missing first), then the
  /// complete ones; reporters with nothing expected in the round are behind a toggle (a
  /// `<details>`, which works without JavaScript).
  private static func reportersTable(_ data: BoardData) -> String {
    let rows = data.status.reporters
    let attention = rows.filter { $0.expected > 0 && needsAttention($0) }
      .sorted { ($0.missing, $0.rejected, $0.late) > ($1.missing, $1.rejected, $1.late) || (($0.missing, $0.rejected, $0.late) == ($1.missing, $1.rejected, $1.late) && $0.reporterCode < $1.reporterCode) }
    let complete = rows.filter { $0.expected > 0 && !needsAttention($0) }
    let idle = rows.filter { $0.expected == 0 }
    let past = isPastDeadline(data.round, nowMicros: data.nowMicros)
    var html = "<section><h2>Reporters</h2>\n"
    html += "<p class=\"note\">\(attention.count) with something missing, rejected or late (first), \(complete.count) complete"
    html += idle.isEmpty ? ".</p>\n" : ", \(idle.count) with nothing expected this round (hidden below).</p>\n"
    html += reporterRows(attention + complete, id: "reporters", data: data, past: past, attention: Set(attention.map(\.reporterCode)))
    if !idle.isEmpty {
      html += "<details id=\"idle-reporters\"><summary>Show the \(idle.count) reporters with nothing expected</summary>\n"
      html += reporterRows(idle, id: "idle-reporters-table", data: data, past: past, attention: [])
      html += "</details>\n"
    }
    html += "</section>\n"
    return html
  }

  private static func reporterRows(
    _ rows: [ReporterArrivalRow], id: String, data: BoardData, past: Bool, attention: Set<String>
  ) -> String {
    var html = "<table id=\"\(id)\"><thead><tr><th>Reporter</th><th>Name</th><th>Expected</th>"
    html += "<th>Accepted</th><th>Rejected</th><th>Missing</th><th>Late</th><th>Rejected submissions</th><th>Last submission</th></tr></thead><tbody>\n"
    for row in rows {
      let code = htmlEscape(row.reporterCode)
      let flag = attention.contains(row.reporterCode) ? " class=\"attention\"" : ""
      html += "<tr\(flag) data-reporter=\"\(code)\" data-expected=\"\(row.expected)\" data-accepted=\"\(row.accepted)\""
      html += " data-rejected=\"\(row.rejected)\" data-missing=\"\(row.missing)\" data-late=\"\(row.late)\">"
      html += "<td><a href=\"/rounds/\(data.round.reportYear)?reporter=\(urlQueryEscape(row.reporterCode))\">\(code)</a></td>"
      html += "<td>\(htmlEscape(row.nameZh))</td><td class=\"n expected\">\(row.expected)</td><td class=\"n accepted\">\(row.accepted)</td>"
      html += "<td class=\"n rejected\(row.rejected > 0 ? " bad" : "")\">\(row.rejected)</td>"
      html += "<td class=\"n missing\(past && row.missing > 0 ? " bad" : "")\">\(row.missing)</td><td class=\"n late\">\(row.late)</td>"
      html += "<td class=\"n\">\(row.rejectedSubmissions)</td><td>\(row.lastSubmissionAtMicros.map(TimeFormat.display) ?? "—")</td></tr>\n"
    }
    if rows.isEmpty {
      html += "<tr><td colspan=\"9\">No reporter matches.</td></tr>\n"
    }
    html += "</tbody></table>\n"
    return html
  }

  /// Per field: expected bases working in it, how many have an accepted report, a bar.
  private static func fieldProgress(_ data: BoardData) -> String {
    var html = "<section><h2>Progress by field</h2>\n<table id=\"fields\"><thead><tr><th>Field</th><th>Expected</th>"
    html += "<th>Accepted</th><th>Rejected</th><th>Missing</th><th>Progress</th></tr></thead><tbody>\n"
    for field in Field.allCases {
      let bases = data.status.bases.filter { data.fieldsByBase[$0.baseId, default: []].contains(field.rawValue) }
      guard !bases.isEmpty else { continue }
      let accepted = bases.filter { $0.state == .accepted || $0.state == .acceptedLate }.count
      let rejected = bases.filter { $0.state == .rejected }.count
      let percent = bases.isEmpty ? 0 : accepted * 100 / bases.count
      html += "<tr data-field=\"\(field.rawValue)\" data-expected=\"\(bases.count)\" data-accepted=\"\(accepted)\">"
      html += "<td>\(field.nameZh) <code>\(field.rawValue)</code></td><td class=\"n\">\(bases.count)</td><td class=\"n\">\(accepted)</td>"
      html += "<td class=\"n\(rejected > 0 ? " bad" : "")\">\(rejected)</td><td class=\"n\">\(bases.count - accepted)</td>"
      html += "<td><span class=\"bar\" role=\"img\" aria-label=\"\(percent)%\"><span style=\"width:\(percent)%\"></span></span>\(percent)%</td></tr>\n"
    }
    html += "</tbody></table></section>\n"
    return html
  }

  /// The round's steps so far, on its calendar.
  private static func stepsList(_ data: BoardData) -> String {
    let steps = data.steps.compactMap { entry in entry.roundStep.map { (entry, $0) } }
    guard !steps.isEmpty else { return "" }
    var html = "<ul class=\"steps\" id=\"round-steps\">"
    for (entry, step) in steps {
      let at = entry.roundClockMicros ?? entry.storedAtMicros
      let kind = step.kind?.rawValue ?? step.state.rawValue
      html += "<li data-step=\"\(htmlEscape(kind))\"><time>\(TimeFormat.day(at))</time> \(htmlEscape(kind))"
      html += step.addressedReporters > 0 ? " (notices to \(step.addressedReporters) reporter\(step.addressedReporters == 1 ? "" : "s"))</li>" : "</li>"
    }
    html += "</ul>\n"
    return html
  }

  private static func basesTable(_ data: BoardData) -> String {
    var html = "<section><h2>Bases</h2>\n<table id=\"bases\"><thead><tr><th>Base</th><th>Name</th><th>Reporter</th><th>Fields</th>"
    html += "<th>State</th><th>Receipt (accession number)</th><th>Revision</th><th>Warnings</th><th>Rejected submissions</th><th>Last submission</th></tr></thead><tbody>\n"
    for base in data.status.bases {
      let state = ArrivalFilter.name(of: base.state)
      html += "<tr class=\"state-\(state)\" data-base=\"\(htmlEscape(base.baseId))\" data-state=\"\(state)\">"
      html += "<td>\(htmlEscape(base.baseId))</td><td>\(htmlEscape(base.baseNameZh))</td><td>\(htmlEscape(base.reporterCode))</td>"
      html += "<td>\(htmlEscape(data.fieldsByBase[base.baseId, default: []].joined(separator: ", ")))</td>"
      html += "<td class=\"state\">\(state)</td><td>\(base.accessionNumber.isEmpty ? "—" : "<code>\(htmlEscape(base.accessionNumber))</code>")</td>"
      html += "<td class=\"n\">\(base.currentRevision)</td><td class=\"n\">\(base.warnings)</td><td class=\"n\">\(base.rejectedSubmissions)</td>"
      html += "<td>\(base.lastSubmissionAtMicros.map(TimeFormat.display) ?? "—")</td></tr>\n"
    }
    if data.status.bases.isEmpty {
      html += "<tr><td colspan=\"10\">No base matches.</td></tr>\n"
    }
    html += "</tbody></table></section>\n"
    return html
  }

  private static func rejectionsTable(_ rows: [RejectedSubmissionRow]) -> String {
    var html = "<section><h2>Rejected submissions</h2>\n<table id=\"rejections\"><thead><tr><th>Received</th><th>Submission</th>"
    html += "<th>Reporter</th><th>Base</th><th>Rule</th><th>Field</th><th>Message</th></tr></thead><tbody>\n"
    for row in rows {
      let findings = row.findings.isEmpty ? [StoredFinding(ruleCode: "", severity: .error, message: "")] : row.findings
      for (index, finding) in findings.enumerated() {
        html += "<tr data-submission=\"\(htmlEscape(row.submissionId))\">"
        if index == 0 {
          let span = findings.count > 1 ? " rowspan=\"\(findings.count)\"" : ""
          html += "<td\(span)>\(TimeFormat.display(row.receivedAtMicros))</td><td\(span)><code>\(htmlEscape(row.submissionId))</code></td>"
          html += "<td\(span)>\(htmlEscape(row.reporterCode))</td><td\(span)>\(htmlEscape(row.baseId)) \(htmlEscape(row.baseNameZh))</td>"
        }
        html += "<td><code>\(htmlEscape(finding.ruleCode))</code>\(finding.severity == .warning ? " (warning)" : "")</td>"
        html += "<td><code>\(htmlEscape(finding.fieldPath))</code></td><td>\(htmlEscape(finding.message))</td></tr>\n"
      }
    }
    if rows.isEmpty {
      html += "<tr><td colspan=\"7\">None.</td></tr>\n"
    }
    html += "</tbody></table></section>\n"
    return html
  }

  private static func lateTable(_ rows: [LateSubmissionRow]) -> String {
    var html = "<section><h2>Late submissions</h2>\n<table id=\"late\"><thead><tr><th>Received</th><th>Accession number</th>"
    html += "<th>Reporter</th><th>Base</th><th>Revision</th><th>Submission</th></tr></thead><tbody>\n"
    for row in rows {
      html += "<tr><td>\(TimeFormat.display(row.receivedAtMicros))</td><td><code>\(htmlEscape(row.accessionNumber))</code></td>"
      html += "<td>\(htmlEscape(row.reporterCode))</td><td>\(htmlEscape(row.baseId)) \(htmlEscape(row.baseNameZh))</td>"
      html += "<td class=\"n\">\(row.revision)</td><td><code>\(htmlEscape(row.submissionId))</code></td></tr>\n"
    }
    if rows.isEmpty {
      html += "<tr><td colspan=\"6\">None.</td></tr>\n"
    }
    html += "</tbody></table></section>\n"
    return html
  }

  private static func auditTable(_ entries: [AuditEntry]) -> String {
    var html = "<section><h2>Recent audit events</h2>\n<table id=\"audit\"><thead><tr><th>#</th><th>At</th><th>Actor</th>"
    html += "<th>Action</th><th>Subject</th><th>Detail</th></tr></thead><tbody>\n"
    for entry in entries {
      html += "<tr><td class=\"n\">\(entry.id)</td><td>\(TimeFormat.display(entry.atMicros))</td><td>\(htmlEscape(entry.actor))</td>"
      html += "<td>\(htmlEscape(entry.action))</td><td>\(htmlEscape(entry.subject))</td><td>\(htmlEscape(entry.detail))</td></tr>\n"
    }
    if entries.isEmpty {
      html += "<tr><td colspan=\"6\">None.</td></tr>\n"
    }
    html += "</tbody></table></section>\n"
    return html
  }

  /// Follows the arrival log: asks `/rounds/YEAR/live?after=SEQUENCE&<same query>`, which the
  /// server holds until something arrives (or a second passes: 204), and replaces `#live` with
  /// the answer, keeping the reporters toggle as it was. Counts the replacements in
  /// `data-refreshes` (which the browser test reads).
  private static func script(year: Int) -> String {
    """
    <script>
    (function () {
      var live = document.getElementById("live");
      var count = 0;
      function position() {
        var marker = document.getElementById("live-sequence");
        return marker ? marker.getAttribute("data-sequence") : "0";
      }
      function ask() {
        var query = window.location.search ? "&" + window.location.search.slice(1) : "";
        fetch("/rounds/\(year)/live?after=" + position() + query, {cache: "no-store"})
          .then(function (r) {
            if (r.status === 204) { return null; }
            if (!r.ok) { throw new Error(r.status); }
            return r.text();
          })
          .then(function (html) {
            if (html === null) { return; }
            var toggle = document.getElementById("idle-reporters");
            var open = toggle ? toggle.open : false;
            live.innerHTML = html;
            var again = document.getElementById("idle-reporters");
            if (again) { again.open = open; }
            count += 1;
            live.setAttribute("data-refreshes", String(count));
          })
          .catch(function () {})
          .finally(function () { setTimeout(ask, \(refreshMillis)); });
      }
      setTimeout(ask, \(refreshMillis));
    })();
    </script>

    """
  }
}

/// The arrivals-over-time chart, on the round's calendar (the coordinator's clock, which a
/// demonstration runs a day per second): cumulative bases with an accepted report (a step line),
/// arrivals per day (bars), the expected ceiling, the deadline (a red dashed line) and the
/// reminders (orange ticks). Receipts keep their wall-clock time; each arrival's time on the
/// round's calendar is stored beside it. Plain inline SVG, no script.
enum ArrivalChart {
  static let width = 760.0
  static let height = 260.0
  static let left = 48.0
  static let right = 56.0
  static let top = 28.0
  static let bottom = 36.0
  static let day: Int64 = 86_400_000_000

  /// The days of the chart's span, on the round's calendar, each with its arrivals.
  static func days(_ series: ArrivalSeries) -> [(start: Int64, arrived: Int, cumulative: Int)] {
    let (start, end) = span(series)
    var result: [(Int64, Int, Int)] = []
    var cumulative = 0
    var dayStart = start - ((start % day) + day) % day
    let times = series.points.map(\.calendarMicros)
    while dayStart < end {
      let arrived = times.filter { $0 >= dayStart && $0 < dayStart + day }.count
      cumulative += arrived
      result.append((dayStart, arrived, cumulative))
      dayStart += day
      if result.count > 400 { break }
    }
    return result
  }

  /// From the opening (or the first arrival) to the later of the deadline and the last arrival.
  static func span(_ series: ArrivalSeries) -> (start: Int64, end: Int64) {
    let times = series.points.map(\.calendarMicros)
    let start = ([series.opensAtMicros, times.min(), series.deadlineMicros].compactMap { $0 }.min()) ?? 0
    var end = [series.deadlineMicros, times.max(), series.reminderMicros.max()].compactMap { $0 }.max() ?? start
    end = max(end, start + day)
    return (start, end)
  }

  static func svg(_ series: ArrivalSeries, nowMicros: Int64) -> String {
    let points = series.points
    let times = points.map(\.calendarMicros)
    let (start, rawEnd) = span(series)
    let end = rawEnd + (rawEnd - start) / 50  // a little room after the last mark
    let span = Double(end - start)
    let plotWidth = width - left - right
    let plotHeight = height - top - bottom
    let days = Self.days(series)
    let ceiling = max(series.expected, points.count, 1)
    let barCeiling = max(days.map(\.arrived).max() ?? 1, 1)
    func x(_ t: Int64) -> Double { left + plotWidth * Double(t - start) / span }
    func y(_ n: Int) -> Double { top + plotHeight * (1 - Double(n) / Double(ceiling)) }
    func f(_ v: Double) -> String { String(Double((v * 10).rounded()) / 10) }
    /// A label's anchor so that it stays inside the picture.
    func anchor(_ at: Double) -> String { at < left + 60 ? "start" : at > width - right - 60 ? "end" : "middle" }

    var svg = "<svg id=\"arrivals-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\""
    svg += " viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"arrivals-title\""
    svg += " data-points=\"\(points.count)\" data-expected=\"\(series.expected)\" data-reminders=\"\(series.reminderMicros.count)\""
    svg += " data-start=\"\(TimeFormat.rfc3339(start))\" data-end=\"\(TimeFormat.rfc3339(end))\">\n"
    svg += "<title id=\"arrivals-title\">Bases with an accepted report over the round's calendar, report year \(series.reportYear): "
    svg += "\(points.count) of \(series.expected)</title>\n"
    // Arrivals per day: light bars against the right-hand scale.
    let dayWidth = max(plotWidth * Double(day) / span - 1, 1)
    for entry in days where entry.arrived > 0 {
      let barHeight = plotHeight * 0.35 * Double(entry.arrived) / Double(barCeiling)
      svg += "<rect class=\"day-bar\" x=\"\(f(x(entry.start)))\" y=\"\(f(height - bottom - barHeight))\" width=\"\(f(dayWidth))\""
      svg += " height=\"\(f(barHeight))\" fill=\"#9cd\" data-day=\"\(TimeFormat.day(entry.start))\" data-arrived=\"\(entry.arrived)\">"
      svg += "<title>\(TimeFormat.day(entry.start)): \(entry.arrived) arrived, \(entry.cumulative) of \(series.expected) so far</title></rect>\n"
    }
    // Axes and the expected ceiling.
    svg += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(height - bottom))\" stroke=\"#888\"/>\n"
    svg += "<line x1=\"\(f(left))\" y1=\"\(f(height - bottom))\" x2=\"\(f(width - right))\" y2=\"\(f(height - bottom))\" stroke=\"#888\"/>\n"
    svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(series.expected)))\" x2=\"\(f(width - right))\" y2=\"\(f(y(series.expected)))\" stroke=\"#999\" stroke-dasharray=\"2 3\"/>\n"
    svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y(series.expected) + 4))\" text-anchor=\"end\" font-size=\"11\">\(series.expected)</text>\n"
    svg += "<text x=\"\(f(width - right + 4))\" y=\"\(f(y(series.expected) + 4))\" font-size=\"11\" fill=\"#666\">expected</text>\n"
    svg += "<text x=\"\(f(left - 6))\" y=\"\(f(height - bottom + 4))\" text-anchor=\"end\" font-size=\"11\">0</text>\n"
    svg += "<text x=\"\(f(left))\" y=\"\(f(height - 12))\" font-size=\"11\">\(TimeFormat.day(start))</text>\n"
    svg += "<text x=\"\(f(width - right))\" y=\"\(f(height - 12))\" text-anchor=\"end\" font-size=\"11\">\(TimeFormat.day(end))</text>\n"
    for (index, reminder) in series.reminderMicros.enumerated() {
      let rx = f(x(reminder))
      svg += "<line class=\"reminder-mark\" x1=\"\(rx)\" y1=\"\(f(top + 6))\" x2=\"\(rx)\" y2=\"\(f(height - bottom))\" stroke=\"#e80\" stroke-width=\"1\" stroke-dasharray=\"1 3\">"
      svg += "<title>reminder \(index + 1): \(TimeFormat.day(reminder))</title></line>\n"
      svg += "<text x=\"\(rx)\" y=\"\(f(height - bottom + 12))\" text-anchor=\"\(anchor(x(reminder)))\" font-size=\"10\" fill=\"#c60\">reminder \(TimeFormat.monthDay(reminder))</text>\n"
    }
    if let deadline = series.deadlineMicros {
      let dx = x(deadline)
      svg += "<line id=\"deadline-line\" x1=\"\(f(dx))\" y1=\"\(f(top))\" x2=\"\(f(dx))\" y2=\"\(f(height - bottom))\" stroke=\"#c00\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n"
      svg += "<text id=\"deadline-label\" x=\"\(f(dx))\" y=\"\(f(top - 8))\" text-anchor=\"\(anchor(dx))\" font-size=\"11\" fill=\"#c00\">deadline \(TimeFormat.day(deadline))</text>\n"
    }
    if points.isEmpty {
      svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" font-size=\"13\" fill=\"#777\">no accepted reports yet</text>\n"
    } else {
      // A step line: flat until each arrival, then up by one.
      var path = "M\(f(x(start))),\(f(y(0)))"
      for (index, t) in times.enumerated() {
        path += " H\(f(x(t))) V\(f(y(index + 1)))"
      }
      path += " H\(f(x(max(times.last ?? start, min(end, series.deadlineMicros ?? end)))))"
      svg += "<path id=\"arrivals-line\" d=\"\(path)\" fill=\"none\" stroke=\"#06c\" stroke-width=\"2\"/>\n"
      svg += "<text x=\"\(f(width - right + 4))\" y=\"\(f(y(points.count) + 4))\" font-size=\"11\" fill=\"#06c\">\(points.count) arrived</text>\n"
      for (index, point) in points.enumerated() where point.late {
        svg += "<circle cx=\"\(f(x(point.calendarMicros)))\" cy=\"\(f(y(index + 1)))\" r=\"3\" fill=\"#c60\"><title>late: \(htmlEscape(point.baseId))</title></circle>\n"
      }
    }
    svg += "</svg>\n"
    return svg
  }

  /// Expected against arrived, day by day (the days with an arrival, a reminder or the
  /// deadline), as a table that reads without the picture.
  static func perDayTable(_ series: ArrivalSeries) -> String {
    let marked = Set((series.reminderMicros + [series.deadlineMicros].compactMap { $0 }).map(TimeFormat.day))
    let rows = days(series).filter { $0.arrived > 0 || marked.contains(TimeFormat.day($0.start)) }
    guard !rows.isEmpty else { return "" }
    var html = "<details id=\"per-day\"><summary>Expected and arrived, day by day</summary>\n"
    html += "<table class=\"days\" id=\"days\"><thead><tr><th>Day (round's calendar)</th><th>Arrived</th><th>So far</th><th>Expected</th><th></th></tr></thead><tbody>\n"
    for row in rows {
      let dayText = TimeFormat.day(row.start)
      var notes: [String] = []
      if series.reminderMicros.map(TimeFormat.day).contains(dayText) { notes.append("reminder") }
      if series.deadlineMicros.map(TimeFormat.day) == dayText { notes.append("deadline") }
      html += "<tr data-day=\"\(dayText)\"><td>\(dayText)</td><td class=\"n\">\(row.arrived)</td><td class=\"n\">\(row.cumulative)</td>"
      html += "<td class=\"n\">\(series.expected)</td><td>\(notes.joined(separator: ", "))</td></tr>\n"
    }
    html += "</tbody></table></details>\n"
    return html
  }
}

/// The arrivals-over-time series of a round: the first acceptance of each expected base, oldest
/// first.
struct ArrivalSeries: Sendable {
  var reportYear: Int
  var opensAtMicros: Int64?
  var deadlineMicros: Int64?
  var expected: Int
  var points: [BaseFirstAcceptance]
  /// When reminders went out, on the round's calendar.
  var reminderMicros: [Int64] = []

  var json: ArrivalsJSON {
    ArrivalsJSON(
      reportYear: reportYear,
      opensAt: opensAtMicros.map(TimeFormat.rfc3339),
      deadline: deadlineMicros.map(TimeFormat.rfc3339),
      expected: expected,
      points: points.enumerated().map { index, point in
        ArrivalPointJSON(
          at: TimeFormat.rfc3339(point.receivedAtMicros), roundClockAt: point.roundClockMicros.map(TimeFormat.rfc3339),
          accepted: index + 1, baseId: point.baseId, reporterCode: point.reporterCode, late: point.late)
      },
      reminders: reminderMicros.map(TimeFormat.rfc3339))
  }
}
