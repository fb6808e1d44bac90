public import HiTechDomain
public import HiTechSchema

// The one mapping from the wire (generated schema) to the domain, used by the province node
// (local validation) and the aggregator alike, so that both judge a report the same way.

extension AnnualReport {
  /// The domain view of a report from the wire.
  public init(_ report: Ndrc_Hitech_V1_AnnualReport) {
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
  public init(_ amount: Ndrc_Hitech_V1_Amount) {
    self.init(amount.value, MoneyUnit(amount.unit))
  }
}

extension MoneyUnit {
  public init(_ unit: Ndrc_Hitech_V1_MoneyUnit) {
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

extension Ndrc_Hitech_V1_Field {
  /// The wire field of a domain field.
  public init(_ field: Field) {
    switch field {
    case .information: self = .information
    case .biology: self = .biology
    case .aerospace: self = .aerospace
    case .newMaterials: self = .newMaterials
    case .newEnergy: self = .newEnergy
    case .ocean: self = .ocean
    }
  }
}

extension Field {
  /// The domain field of a wire field; `nil` for UNSPECIFIED (or a value this version does not
  /// know). Its spelling in the store and in files is the domain field's raw value.
  public init?(_ field: Ndrc_Hitech_V1_Field) {
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

extension RoundState {
  /// The state of a wire state; `nil` for UNSPECIFIED (or a value this version does not know).
  public init?(_ state: Ndrc_Hitech_V1_RoundState) {
    switch state {
    case .planned: self = .planned
    case .open: self = .open
    case .closed: self = .closed
    case .assessed: self = .assessed
    case .published: self = .published
    default: return nil
    }
  }
}

extension Ndrc_Hitech_V1_RoundState {
  /// The wire state of a round state.
  public init(_ state: RoundState) {
    switch state {
    case .planned: self = .planned
    case .open: self = .open
    case .closed: self = .closed
    case .assessed: self = .assessed
    case .published: self = .published
    }
  }
}
