import AggregatorStore
import HiTechDomain
import HiTechSchema

// Mapping between the wire (generated schema), the domain and the store, at the edge.

extension AnnualReport {
  init(_ report: Ndrc_Hitech_V1_AnnualReport) {
    func amount(_ has: Bool, _ value: Ndrc_Hitech_V1_Amount) -> Amount? {
      has ? Amount(value) : nil
    }
    var byField: [Field: Amount] = [:]
    for entry in report.outputByField {
      if let field = Field(entry.field), entry.hasOutputValue { byField[field] = Amount(entry.outputValue) }
    }
    self.init(
      totalOutput: amount(report.hasTotalOutputValue, report.totalOutputValue),
      valueAdded: amount(report.hasValueAdded, report.valueAdded),
      exports: amount(report.hasExports, report.exports),
      imports: amount(report.hasImports, report.imports),
      rdExpenditure: amount(report.hasRdExpenditure, report.rdExpenditure),
      highTechProductOutput: amount(report.hasHighTechProductOutputValue, report.highTechProductOutputValue),
      totalProductOutput: amount(report.hasTotalProductOutputValue, report.totalProductOutputValue),
      patentsApplied: report.hasPatentsApplied ? report.patentsApplied : nil,
      patentsGranted: report.hasPatentsGranted ? report.patentsGranted : nil,
      inventionPatentsApplied: report.hasInventionPatentsApplied ? report.inventionPatentsApplied : nil,
      inventionPatentsGranted: report.hasInventionPatentsGranted ? report.inventionPatentsGranted : nil,
      employees: report.hasEmployees ? report.employees : nil,
      rdAndEngineeringStaff: report.hasRdAndEngineeringStaff ? report.rdAndEngineeringStaff : nil,
      enterprises: report.hasEnterprises ? report.enterprises : nil,
      outputByField: byField
    )
  }
}

extension Amount {
  init(_ amount: Ndrc_Hitech_V1_Amount) {
    self.init(amount.value, MoneyUnit(amount.unit))
  }
}

extension MoneyUnit {
  init(_ unit: Ndrc_Hitech_V1_MoneyUnit) {
    switch unit {
    case .cnyYuan: self = .cnyYuan
    case .cnyTenThousand: self = .cnyTenThousand
    case .cnyHundredMillion: self = .cnyHundredMillion
    case .usd: self = .usd
    case .usdTenThousand: self = .usdTenThousand
    case .usdHundredMillion: self = .usdHundredMillion
    case .unspecified: self = .unspecified
    case .UNRECOGNIZED: self = .unrecognized
    }
  }
}

extension Field {
  init?(_ field: Ndrc_Hitech_V1_Field) {
    switch field {
    case .information: self = .information
    case .biology: self = .biology
    case .aerospace: self = .aerospace
    case .newMaterials: self = .newMaterials
    case .newEnergy: self = .newEnergy
    case .ocean: self = .ocean
    case .unspecified, .UNRECOGNIZED: return nil
    }
  }
}

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
