import AggregatorStore
import DaemonSupport
import Foundation
import HiTechDomain
import HiTechSchema
import SwiftProtobuf

/// Reads a registry file of bases for import: a `ndrc.hitech.v1.Registry` in proto3 JSON
/// (`.json`) or text format (`.txtpb`), or a CSV file (`.csv`) with one base per row.
///
/// CSV columns, by header name (order free; `fields` separated by `;`):
/// `base_id, name_zh, name_en, reporter_code, kind, fields, level, city_code, city_name_zh,
/// recognition_document, recognition_date, first_report_year, status`, where kind is
/// `specialized` or `comprehensive`, level `provincial` or `national`, fields among
/// `information, biology, aerospace, new_materials, new_energy, ocean`, status `active` or
/// `withdrawn` (default active), and recognition_date `YYYY-MM-DD`.
public enum RegistryFile {
  /// A problem in the file, naming where (line and column for CSV, base for JSON) and the rule.
  public struct Problem: Error, CustomStringConvertible, Hashable {
    public let location: String
    public let message: String
    public var description: String { "\(location): \(message)" }
  }

  public static var fieldNames: [String] { Field.allCases.map(\.rawValue) }

  /// The reporters listed in a `Registry` file (`.json` / `.txtpb`); CSV files list bases
  /// only. The 47 reporters of the source document are built in, so a file lists reporters
  /// only to correct names or to deactivate one.
  public static func readReporters(path: String) throws -> [ReporterRecord] {
    let lowered = path.lowercased()
    guard !lowered.hasSuffix(".csv") else { return [] }
    let registry = try readRegistry(path: path)
    var problems: [Problem] = []
    var reporters: [ReporterRecord] = []
    for (index, reporter) in registry.reporters.enumerated() {
      let location = "\(path): reporters[\(index)] \(reporter.code)"
      let kind: ReporterRecord.Kind? =
        switch reporter.kind {
        case .provincial: .provincial
        case .separatelyPlannedCity: .separatelyPlannedCity
        case .subProvincialCapital: .subProvincialCapital
        case .xpcc: .xpcc
        default: nil
        }
      guard reporter.code.count == 6, reporter.code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
        problems.append(Problem(location: location, message: "code: a six-digit GB/T 2260 code"))
        continue
      }
      guard let kind else {
        problems.append(Problem(location: location, message: "kind: one of the REPORTER_KIND_* values"))
        continue
      }
      guard !reporter.nameZh.isEmpty else {
        problems.append(Problem(location: location, message: "name_zh: required"))
        continue
      }
      reporters.append(ReporterRecord(
        code: reporter.code, nameZh: reporter.nameZh, nameEn: reporter.nameEn, kind: kind,
        parentCode: reporter.parentCode.isEmpty ? nil : reporter.parentCode, active: reporter.active))
    }
    if !problems.isEmpty { throw ProblemList(problems: problems) }
    return reporters
  }

  static func readRegistry(path: String) throws -> Ndrc_Hitech_V1_Registry {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw Problem(location: path, message: "cannot read the file")
    }
    do {
      let lowered = path.lowercased()
      if lowered.hasSuffix(".txtpb") || lowered.hasSuffix(".textproto") {
        return try Ndrc_Hitech_V1_Registry(textFormatString: String(decoding: data, as: UTF8.self))
      }
      return try Ndrc_Hitech_V1_Registry(jsonUTF8Data: data)
    } catch {
      throw Problem(location: path, message: "not a ndrc.hitech.v1.Registry: \(error)")
    }
  }

  /// The bases in the file at `path`. Throws every problem found at once (as one error
  /// listing them) rather than the first.
  public static func readBases(path: String) throws -> [BaseRecord] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw Problem(location: path, message: "cannot read the file")
    }
    let lowered = path.lowercased()
    if lowered.hasSuffix(".csv") {
      guard let text = String(data: data, encoding: .utf8) else {
        throw Problem(location: path, message: "not UTF-8 text; save the spreadsheet as CSV UTF-8")
      }
      return try basesFromCSV(text, name: path)
    }
    return try basesFromRegistry(try readRegistry(path: path), name: path)
  }

  static func basesFromRegistry(_ registry: Ndrc_Hitech_V1_Registry, name: String) throws -> [BaseRecord] {
    var problems: [Problem] = []
    var bases: [BaseRecord] = []
    for (index, base) in registry.bases.enumerated() {
      let location = "\(name): bases[\(index)] \(base.baseID)"
      var fields: [String] = []
      for field in base.fields {
        guard let name = fieldName(field) else {
          problems.append(Problem(location: location, message: "fields: \(field) is not one of the six fields"))
          continue
        }
        fields.append(name)
      }
      let kind: BaseRecord.Kind? =
        switch base.kind {
        case .specialized: .specialized
        case .comprehensive: .comprehensive
        default: nil
        }
      let level: BaseRecord.Level? =
        switch base.level {
        case .provincial: .provincial
        case .national: .national
        default: nil
        }
      guard let kind else {
        problems.append(Problem(location: location, message: "kind: BASE_KIND_SPECIALIZED or BASE_KIND_COMPREHENSIVE"))
        continue
      }
      guard let level else {
        problems.append(Problem(location: location, message: "level: BASE_LEVEL_PROVINCIAL or BASE_LEVEL_NATIONAL"))
        continue
      }
      let date = base.recognition.hasDate
        ? String(format: "%04d-%02d-%02d", base.recognition.date.year, base.recognition.date.month, base.recognition.date.day)
        : ""
      bases.append(BaseRecord(
        baseId: base.baseID, nameZh: base.nameZh, nameEn: base.nameEn, reporterCode: base.reporterCode,
        kind: kind, level: level, fields: fields, cityCode: base.cityCode, cityNameZh: base.cityNameZh,
        recognitionDocument: base.recognition.documentNumber, recognitionDate: date,
        firstReportYear: Int(base.firstReportYear),
        status: base.status == .withdrawn ? .withdrawn : .active
      ))
    }
    problems.append(contentsOf: checkCommon(bases, name: name))
    if !problems.isEmpty { throw ProblemList(problems: problems) }
    return bases
  }

  static func basesFromCSV(_ text: String, name: String) throws -> [BaseRecord] {
    let rows = CSV.parse(text)
    guard let header = rows.first else { throw Problem(location: name, message: "the file is empty") }
    let columns = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    let required = ["base_id", "name_zh", "reporter_code", "kind", "fields", "level", "first_report_year"]
    let missing = required.filter { !columns.contains($0) }
    guard missing.isEmpty else {
      throw Problem(location: "\(name): line 1", message: "missing column(s) \(missing.joined(separator: ", "))")
    }
    var problems: [Problem] = []
    var bases: [BaseRecord] = []
    for (offset, row) in rows.dropFirst().enumerated() where !(row.count == 1 && row[0].isEmpty) {
      let line = offset + 2
      func value(_ column: String) -> String {
        guard let index = columns.firstIndex(of: column), index < row.count else { return "" }
        return row[index].trimmingCharacters(in: .whitespaces)
      }
      func problem(_ column: String, _ message: String) {
        problems.append(Problem(location: "\(name): line \(line), column \(column)", message: message))
      }
      let kind = BaseRecord.Kind(rawValue: value("kind"))
      if kind == nil { problem("kind", "specialized or comprehensive, got \"\(value("kind"))\"") }
      let level = BaseRecord.Level(rawValue: value("level"))
      if level == nil { problem("level", "provincial or national, got \"\(value("level"))\"") }
      let fields = value("fields").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
      for field in fields where !fieldNames.contains(field) {
        problem("fields", "\"\(field)\" is not one of \(fieldNames.joined(separator: ", "))")
      }
      let year = Int(value("first_report_year"))
      if year == nil { problem("first_report_year", "a year such as 2010, got \"\(value("first_report_year"))\"") }
      let statusText = value("status")
      let status = statusText.isEmpty ? BaseRecord.Status.active : BaseRecord.Status(rawValue: statusText)
      if status == nil { problem("status", "active or withdrawn, got \"\(statusText)\"") }
      guard let kind, let level, let year, let status else { continue }
      bases.append(BaseRecord(
        baseId: value("base_id"), nameZh: value("name_zh"), nameEn: value("name_en"),
        reporterCode: value("reporter_code"), kind: kind, level: level, fields: fields,
        cityCode: value("city_code"), cityNameZh: value("city_name_zh"),
        recognitionDocument: value("recognition_document"), recognitionDate: value("recognition_date"),
        firstReportYear: year, status: status
      ))
    }
    problems.append(contentsOf: checkCommon(bases, name: name))
    if !problems.isEmpty { throw ProblemList(problems: problems) }
    return bases
  }

  /// Rules every base must meet whatever the file format.
  static func checkCommon(_ bases: [BaseRecord], name: String) -> [Problem] {
    var problems: [Problem] = []
    var seen: Set<String> = []
    for base in bases {
      let location = "\(name): base \(base.baseId.isEmpty ? "(no id)" : base.baseId)"
      if base.baseId.isEmpty { problems.append(Problem(location: location, message: "base_id: required")) }
      if !seen.insert(base.baseId).inserted { problems.append(Problem(location: location, message: "base_id: appears twice")) }
      if base.nameZh.isEmpty { problems.append(Problem(location: location, message: "name_zh: required")) }
      if base.reporterCode.count != 6 || !base.reporterCode.allSatisfy({ $0.isASCII && $0.isNumber }) {
        problems.append(Problem(location: location, message: "reporter_code: a six-digit GB/T 2260 code, got \"\(base.reporterCode)\""))
      }
      switch base.kind {
      case .specialized where base.fields.count != 1:
        problems.append(Problem(location: location, message: "R-BASE-KIND-FIELDS fields: a specialized base has exactly one field, got \(base.fields.count)"))
      case .comprehensive where Set(base.fields).count < 2:
        problems.append(Problem(location: location, message: "R-BASE-KIND-FIELDS fields: a comprehensive base has at least two fields, got \(Set(base.fields).count)"))
      default:
        break
      }
    }
    return problems
  }

  static func fieldName(_ field: Ndrc_Hitech_V1_Field) -> String? {
    Field(field)?.rawValue
  }

  /// Several problems, one per line.
  public struct ProblemList: Error, CustomStringConvertible {
    public let problems: [Problem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
  }
}
