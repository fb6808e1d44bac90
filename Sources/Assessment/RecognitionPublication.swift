import Foundation
import HiTechDomain

/// The published list of the bases recognised or upgraded in a year (proto-schemas/APPLICATIONS.md,
/// "Publishing"): `recognitions-YYYY.json`, `.csv` and `.html`. Rendered from the decisions
/// alone, in document date then application id order, with nothing of the moment of rendering:
/// the same decisions give the same bytes every time.
public enum RecognitionPublication {
  /// One recognition as published.
  public struct Entry: Sendable, Hashable, Codable {
    public var applicationId: String
    /// `new_national_base` or `upgrade_to_national`.
    public var kind: String
    public var baseId: String
    public var nameZh: String
    public var nameEn: String
    public var reporterCode: String
    public var cityCode: String
    public var cityNameZh: String
    /// `specialized` or `comprehensive`.
    public var baseKind: String
    public var fields: [String]
    public var level: String
    public var documentNumber: String
    /// YYYY-MM-DD.
    public var documentDate: String
    public var issuer: String
    public var firstReportYear: Int
    /// The evaluation's score, milli-points, and the weighting it was computed under.
    public var scoreMilli: Int64
    public var weightingId: String

    public init(
      applicationId: String, kind: String, baseId: String, nameZh: String, nameEn: String, reporterCode: String,
      cityCode: String, cityNameZh: String, baseKind: String, fields: [String], level: String, documentNumber: String,
      documentDate: String, issuer: String, firstReportYear: Int, scoreMilli: Int64, weightingId: String
    ) {
      self.applicationId = applicationId
      self.kind = kind
      self.baseId = baseId
      self.nameZh = nameZh
      self.nameEn = nameEn
      self.reporterCode = reporterCode
      self.cityCode = cityCode
      self.cityNameZh = cityNameZh
      self.baseKind = baseKind
      self.fields = fields
      self.level = level
      self.documentNumber = documentNumber
      self.documentDate = documentDate
      self.issuer = issuer
      self.firstReportYear = firstReportYear
      self.scoreMilli = scoreMilli
      self.weightingId = weightingId
    }
  }

  /// The list of a year.
  public struct List: Sendable, Hashable, Codable {
    public var year: Int
    public var recognitions: [Entry]

    public init(year: Int, recognitions: [Entry]) {
      self.year = year
      self.recognitions = recognitions.sorted { ($0.documentDate, $0.applicationId) < ($1.documentDate, $1.applicationId) }
    }
  }

  /// The three files by name.
  public static func render(_ list: List) -> [String: [UInt8]] {
    [
      "recognitions-\(list.year).json": json(list),
      "recognitions-\(list.year).csv": Array(csv(list).utf8),
      "recognitions-\(list.year).html": Array(html(list).utf8),
    ]
  }

  /// Keys sorted, pretty-printed, slashes not escaped, a final newline.
  public static func json(_ list: List) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return Array(try! encoder.encode(list)) + [0x0A]
  }

  public static let csvHeader = [
    "year", "application_id", "kind", "base_id", "name_zh", "name_en", "reporter_code", "city_code", "city_name_zh",
    "base_kind", "fields", "level", "document_number", "document_date", "issuer", "first_report_year", "score_milli",
    "weighting_id",
  ]

  /// RFC 4180, CRLF line ends, every text field quoted.
  public static func csv(_ list: List) -> String {
    func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    var lines = [csvHeader.joined(separator: ",")]
    for entry in list.recognitions {
      lines.append(
        [
          String(list.year), quoted(entry.applicationId), quoted(entry.kind), quoted(entry.baseId), quoted(entry.nameZh),
          quoted(entry.nameEn), quoted(entry.reporterCode), quoted(entry.cityCode), quoted(entry.cityNameZh),
          quoted(entry.baseKind), quoted(entry.fields.joined(separator: ";")), quoted(entry.level),
          quoted(entry.documentNumber), quoted(entry.documentDate), quoted(entry.issuer), String(entry.firstReportYear),
          String(entry.scoreMilli), quoted(entry.weightingId),
        ].joined(separator: ","))
    }
    return lines.joined(separator: "\r\n") + "\r\n"
  }

  /// A page with one table, every text escaped.
  public static func html(_ list: List) -> String {
    let e = ResultsPublication.escapeHTML
    var rows = ""
    for entry in list.recognitions {
      let kind = entry.kind == "upgrade_to_national" ? "升级 upgrade" : "认定 new"
      rows += "<tr><td>\(e(entry.documentDate))</td><td>\(e(entry.documentNumber))</td><td>\(e(entry.baseId))</td>"
        + "<td>\(e(entry.nameZh))<br><small>\(e(entry.nameEn))</small></td><td>\(e(kind))</td>"
        + "<td>\(e(entry.reporterCode))</td><td>\(e(entry.cityNameZh)) (\(e(entry.cityCode)))</td>"
        + "<td>\(e(entry.fields.joined(separator: ", ")))</td><td>\(entry.firstReportYear)</td>"
        + "<td>\(entry.scoreMilli / 1000).\(String(format: "%03d", Int(entry.scoreMilli % 1000)))</td>"
        + "<td>\(e(entry.applicationId))</td></tr>\n"
    }
    if list.recognitions.isEmpty { rows = "<tr><td colspan=\"11\">无 none</td></tr>\n" }
    return """
      <!DOCTYPE html>
      <html lang="zh-CN">
      <head><meta charset="utf-8"><title>\(list.year)年认定的国家高技术产业基地 · National bases recognised in \(list.year)</title>
      <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>
      </head>
      <body>
      <h1>\(list.year)年认定的国家高技术产业基地 · National high-tech industrial bases recognised in \(list.year)</h1>
      <table>
      <tr><th>日期 date</th><th>文号 document</th><th>基地 base</th><th>名称 name</th><th>类别 kind</th><th>申报单位 applicant</th><th>城市 city</th><th>领域 fields</th><th>首报年度 first report year</th><th>评估得分 score</th><th>申请 application</th></tr>
      \(rows)</table>
      </body>
      </html>

      """
  }
}
