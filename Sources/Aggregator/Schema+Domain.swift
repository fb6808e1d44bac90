import DaemonSupport
import AggregatorStore
import HiTechDomain

// Mapping between the store's records and the domain, at the aggregator's edge. The wire to
// domain mapping is shared, in DaemonSupport.

extension Base {
  init(_ record: BaseRecord) {
    self.init(
      id: record.baseId,
      nameZh: record.nameZh,
      reporterCode: record.reporterCode,
      kind: record.kind == .specialized ? .specialized : .comprehensive,
      fields: Set(record.fields.compactMap(Field.init(rawValue:))),
      level: record.level == .national ? .national : .provincial,
      recognitionDocument: record.recognitionDocument,
      withdrawn: record.status == .withdrawn
    )
  }
}

extension StoredFinding {
  init(_ finding: Finding) {
    self.init(
      ruleCode: finding.ruleCode,
      severity: finding.severity == .error ? .error : .warning,
      fieldPath: finding.fieldPath,
      message: finding.message,
      overridden: finding.overridden,
      overrideExplanation: finding.explanation ?? ""
    )
  }
}

extension ReporterRecord {
  init(_ reporter: Reporter) {
    let kind: ReporterRecord.Kind =
      switch reporter.kind {
      case .provincial: .provincial
      case .separatelyPlannedCity: .separatelyPlannedCity
      case .subProvincialCapital: .subProvincialCapital
      case .xpcc: .xpcc
      }
    self.init(code: reporter.code, nameZh: reporter.nameZh, nameEn: reporter.nameEn, kind: kind, parentCode: reporter.parentCode)
  }
}
