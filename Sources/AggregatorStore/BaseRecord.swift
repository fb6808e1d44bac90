/// A high-tech industrial base as stored (registry.proto `Base`, without its level history).
public struct BaseRecord: Sendable, Hashable {
  /// Specialized (one field) or comprehensive (two or more). Stored by raw value.
  public enum Kind: String, Sendable, Hashable, CaseIterable {
    case specialized = "specialized"
    case comprehensive = "comprehensive"
  }

  /// Provincial or national. Stored by raw value.
  public enum Level: String, Sendable, Hashable, CaseIterable {
    case provincial = "provincial"
    case national = "national"
  }

  /// Active (reports every year) or withdrawn (kept for history). Stored by raw value.
  public enum Status: String, Sendable, Hashable, CaseIterable {
    case active = "active"
    case withdrawn = "withdrawn"
  }

  /// Stable identifier, e.g. "HTB-440300-INF". Never reused.
  public var baseId: String
  public var nameZh: String
  public var nameEn: String
  /// The reporter that reports this base; must be a stored reporter.
  public var reporterCode: String
  public var kind: Kind
  public var level: Level
  /// The fields of the base, in the caller's stable spelling (the store does not interpret them,
  /// e.g. "information", "new_energy"), without duplicates, in the caller's order.
  public var fields: [String]
  /// GB/T 2260 code of the base's city, e.g. "440300".
  public var cityCode: String
  public var cityNameZh: String
  /// The first recognition's document number, e.g. "发改高技[2009]3211号".
  public var recognitionDocument: String
  /// The first recognition's date, "YYYY-MM-DD" (empty if unknown).
  public var recognitionDate: String
  /// The first report year for which an annual report is expected.
  public var firstReportYear: Int
  public var status: Status

  public init(
    baseId: String,
    nameZh: String,
    nameEn: String,
    reporterCode: String,
    kind: Kind,
    level: Level,
    fields: [String],
    cityCode: String = "",
    cityNameZh: String = "",
    recognitionDocument: String = "",
    recognitionDate: String = "",
    firstReportYear: Int,
    status: Status = .active
  ) {
    self.baseId = baseId
    self.nameZh = nameZh
    self.nameEn = nameEn
    self.reporterCode = reporterCode
    self.kind = kind
    self.level = level
    self.fields = fields
    self.cityCode = cityCode
    self.cityNameZh = cityNameZh
    self.recognitionDocument = recognitionDocument
    self.recognitionDate = recognitionDate
    self.firstReportYear = firstReportYear
    self.status = status
  }
}
