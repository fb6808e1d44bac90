public import AggregatorStore
import Foundation

/// What `hitech status` prints, as pure functions of a round's (filtered) arrival status.
public enum StatusReport {
  /// Exit codes of `hitech status`.
  public enum ExitCode: Int32, Sendable {
    /// Nothing is missing, or the round's deadline has not passed yet.
    case ok = 0
    /// An error: unknown year or reporter, unreadable store, bad option.
    case failure = 1
    /// Something is missing (a base with no accepted report) after the round's deadline.
    case missingAfterDeadline = 3
  }

  /// `.missingAfterDeadline` when the (filtered) status has a base with no accepted report and
  /// the round's deadline has passed at `nowMicros`; `.ok` otherwise.
  public static func exitCode(status: ArrivalStatus, round: RoundRecord, nowMicros: Int64) -> ExitCode {
    let missing = status.bases.contains { $0.state == .missing || $0.state == .rejected }
      || status.reporters.contains { $0.missing > 0 }
    return missing && isPastDeadline(round, nowMicros: nowMicros) ? .missingAfterDeadline : .ok
  }

  /// The `--json` output: ``RoundStatusJSON``, pretty-printed with sorted keys, newline-terminated.
  public static func json(
    status: ArrivalStatus, round: RoundRecord, fieldsByBase: [String: [String]], nowMicros: Int64
  ) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let value = RoundStatusJSON(round: round, status: status, fieldsByBase: fieldsByBase, nowMicros: nowMicros)
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
  }

  /// The text output: a header line about the round, a table per reporter with a total line,
  /// and with `bases` a table per base (rejected bases followed by their findings).
  /// `color` adds ANSI colours (the caller decides: a terminal and NO_COLOR unset).
  public static func table(
    status: ArrivalStatus, round: RoundRecord, fieldsByBase: [String: [String]] = [:], nowMicros: Int64,
    bases: Bool = false, color: Bool = false
  ) -> String {
    let paint = Paint(enabled: color)
    let past = isPastDeadline(round, nowMicros: nowMicros)
    var out = "Round \(round.reportYear): \(round.state.rawValue) (late policy \(round.latePolicy.rawValue))"
    if let deadline = round.deadlineMicros {
      out += ", deadline \(TimeFormat.display(deadline))" + (past ? " (passed)" : "")
    }
    out += "\n\n"

    var rows: [[Cell]] = [
      ["REPORTER", "NAME", "EXPECTED", "ACCEPTED", "REJECTED", "MISSING", "LATE", "LAST SUBMISSION"].map { Cell($0) }
    ]
    for r in status.reporters {
      rows.append([
        Cell(r.reporterCode), Cell(r.nameZh), Cell(r.expected),
        Cell(r.accepted, style: r.expected > 0 && r.accepted == r.expected ? .good : .plain),
        Cell(r.rejected, style: r.rejected > 0 ? .bad : .plain),
        Cell(r.missing, style: r.missing > 0 ? (past ? .bad : .warn) : .plain),
        Cell(r.late, style: r.late > 0 ? .warn : .plain),
        Cell(r.lastSubmissionAtMicros.map(TimeFormat.display) ?? "-"),
      ])
    }
    let t = ArrivalFilter.totals(status.reporters)
    rows.append([
      Cell("TOTAL"), Cell("\(status.reporters.count) reporter(s)"), Cell(t.expected), Cell(t.accepted),
      Cell(t.rejected, style: t.rejected > 0 ? .bad : .plain),
      Cell(t.missing, style: t.missing > 0 ? (past ? .bad : .warn) : .plain), Cell(t.late),
      Cell(t.lastSubmissionAtMicros.map(TimeFormat.display) ?? "-"),
    ])
    out += render(rows, numeric: [2, 3, 4, 5, 6], paint: paint)

    if bases {
      out += "\n"
      var baseRows: [[Cell]] = [
        ["BASE", "NAME", "REPORTER", "FIELDS", "STATE", "RECEIPT", "REV", "WARNINGS", "LAST SUBMISSION"].map { Cell($0) }
      ]
      var findingsAfter: [Int: [StoredFinding]] = [:]
      for b in status.bases {
        let style: Style =
          switch b.state {
          case .accepted: .good
          case .acceptedLate: .warn
          case .rejected: .bad
          case .missing: past ? .bad : .warn
          }
        baseRows.append([
          Cell(b.baseId), Cell(b.baseNameZh), Cell(b.reporterCode), Cell(fieldsByBase[b.baseId, default: []].joined(separator: ",")),
          Cell(ArrivalFilter.name(of: b.state), style: style), Cell(b.accessionNumber.isEmpty ? "-" : b.accessionNumber),
          Cell(b.currentRevision), Cell(b.warnings), Cell(b.lastSubmissionAtMicros.map(TimeFormat.display) ?? "-"),
        ])
        if !b.lastRejectionFindings.isEmpty {
          findingsAfter[baseRows.count - 1] = b.lastRejectionFindings
        }
      }
      out += render(baseRows, numeric: [6, 7], paint: paint) { index in
        findingsAfter[index, default: []].map { f in
          "    " + paint(.bad, f.ruleCode) + " " + (f.fieldPath.isEmpty ? "" : f.fieldPath + ": ") + f.message + "\n"
        }.joined()
      }
      if status.bases.isEmpty { out += "(no base matches)\n" }
    }
    return out
  }

  // MARK: Table rendering

  enum Style { case plain, good, warn, bad }

  struct Cell: ExpressibleByStringLiteral {
    var text: String
    var style: Style

    init(_ text: String, style: Style = .plain) {
      self.text = text
      self.style = style
    }

    init(_ number: Int, style: Style = .plain) {
      self.init(String(number), style: style)
    }

    init(stringLiteral value: String) { self.init(value) }
  }

  struct Paint {
    var enabled: Bool

    func callAsFunction(_ style: Style, _ text: String) -> String {
      guard enabled else { return text }
      let code =
        switch style {
        case .plain: ""
        case .good: "32"
        case .warn: "33"
        case .bad: "1;31"
        }
      return code.isEmpty ? text : "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
  }

  /// Left-aligned text columns, right-aligned `numeric` ones, two spaces apart, widths by
  /// terminal cells (CJK characters take two). `after` adds lines after a row.
  static func render(
    _ rows: [[Cell]], numeric: Set<Int>, paint: Paint, after: (Int) -> String = { _ in "" }
  ) -> String {
    guard let columns = rows.map(\.count).max() else { return "" }
    var widths = Array(repeating: 0, count: columns)
    for row in rows {
      for (i, cell) in row.enumerated() { widths[i] = max(widths[i], displayWidth(cell.text)) }
    }
    var out = ""
    for (index, row) in rows.enumerated() {
      var line = ""
      for (i, cell) in row.enumerated() {
        let padding = String(repeating: " ", count: widths[i] - displayWidth(cell.text))
        let text = index == 0 ? cell.text : paint(cell.style, cell.text)
        if i > 0 { line += "  " }
        line += numeric.contains(i) ? padding + text : (i == row.count - 1 ? text : text + padding)
      }
      while line.hasSuffix(" ") { line.removeLast() }
      out += line + "\n" + after(index)
    }
    return out
  }

  /// Terminal cells taken by `text`: East Asian wide and fullwidth characters take two.
  static func displayWidth(_ text: String) -> Int {
    text.unicodeScalars.reduce(0) { width, scalar in
      let v = scalar.value
      let wide =
        (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
        || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
        || (0xFFE0...0xFFE6).contains(v) || (0x20000...0x3FFFD).contains(v)
      return width + (wide ? 2 : 1)
    }
  }
}
