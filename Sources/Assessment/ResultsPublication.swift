import Foundation
import HiTechDomain

/// The published results of a round (六(三) "向社会公布"): `results-YYYY.json`,
/// `results-YYYY.csv` and `results-YYYY.html`, rendered from a ``RoundAssessment`` alone, so
/// the same results give byte-identical files. The formats are described in
/// proto-schemas/ASSESSMENT.md.
public enum ResultsPublication {
  /// File name → bytes for the three files of the round.
  /// - Parameter publishedAt: the publication date as the caller wants it printed (e.g.
  ///   "2026-06-30"); shown on the page only (this module has no clock).
  public static func render(_ results: RoundAssessment, publishedAt: String) -> [String: [UInt8]] {
    let year = results.reportYear
    return [
      "results-\(year).json": json(results),
      "results-\(year).csv": Array(csv(results).utf8),
      "results-\(year).html": Array(html(results, publishedAt: publishedAt).utf8),
    ]
  }

  /// The results as JSON: keys sorted, pretty-printed, slashes not escaped, a final newline.
  /// It decodes back (``JSONDecoder``) to the same ``RoundAssessment``.
  public static func json(_ results: RoundAssessment) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    // Encoding these value types cannot fail (no non-finite floats, string-keyed containers).
    let data = try! encoder.encode(results)
    return Array(data) + [0x0A]
  }

  /// Decodes the JSON written by ``json(_:)``.
  public static func decode(json bytes: [UInt8]) throws -> RoundAssessment {
    try JSONDecoder().decode(RoundAssessment.self, from: Data(bytes))
  }

  /// The CSV columns, in order.
  public static let csvHeader = [
    "report_year", "base_id", "name_zh", "reporter_code", "kind", "level", "fields", "primary_field",
    "tier", "rank", "ranked_count", "field_rank", "field_ranked_count", "total_score_milli",
    "total_output_10k_cny", "value_added_10k_cny", "output_growth_ppm", "value_added_growth_ppm",
    "rd_intensity_ppm", "rd_to_output_ppm", "high_tech_product_share_ppm", "rd_staff_share_ppm",
    "patents_granted", "export_share_ppm", "expert_judgement_milli", "expert_count",
    "accession_number", "revision", "late", "log_index", "log_leaf_hash",
  ]

  /// One row per base in the order of ``RoundAssessment/bases``, after ``csvHeader``: UTF-8 with
  /// a byte-order mark (so spreadsheet programs read the Chinese names), CRLF line ends,
  /// RFC 4180 quoting. Money in 万元 as exact decimal text; empty cells for absent values.
  public static func csv(_ results: RoundAssessment) -> String {
    var lines = [csvHeader.map(csvField).joined(separator: ",")]
    for base in results.bases {
      func ratio(_ indicator: Indicator) -> String { base.value(of: indicator)?.ratioPPM.map(String.init) ?? "" }
      let reported = base.reported
      let row: [String] = [
        String(base.reportYear), base.baseId, base.nameZh, base.reporterCode, base.kind.rawValue,
        base.level.rawValue, base.fields.map(\.rawValue).joined(separator: ";"), base.primaryField.rawValue,
        base.tier.rawValue, reported ? String(base.rank) : "", String(base.rankedCount),
        reported ? String(base.fieldRank) : "", String(base.fieldRankedCount),
        reported ? String(base.totalScoreMilli) : "",
        ExactDecimal.tenThousandYuan(base.value(of: .totalOutputValue)?.amount) ?? "",
        ExactDecimal.tenThousandYuan(base.value(of: .valueAdded)?.amount) ?? "",
        ratio(.outputGrowth), ratio(.valueAddedGrowth), ratio(.rdIntensity), ratio(.rdToOutput),
        ratio(.highTechProductShare), ratio(.rdStaffShare),
        base.value(of: .patentsGranted)?.count.map(String.init) ?? "", ratio(.exportShare),
        base.value(of: .expertJudgement)?.scoreMilli.map(String.init) ?? "", String(base.expertScores.count),
        base.accessionNumber, reported ? String(base.revision) : "", reported ? String(base.late) : "",
        base.logLeaf.map { String($0.index) } ?? "", base.logLeaf?.leafHash ?? "",
      ]
      lines.append(row.map(csvField).joined(separator: ","))
    }
    return "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n"
  }

  /// RFC 4180: a field with a comma, a double quote, CR or LF is enclosed in double quotes,
  /// and its double quotes are doubled.
  public static func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  /// Text safe in HTML content and in double- or single-quoted attributes.
  public static func escapeHTML(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}
