/// The annual report of one base for one year (六(三)): total output, value added, imports
/// and exports, R&D spending, patents applied for and granted, and the inputs of the three
/// ratios of 四(一). `nil` means "not reported", which is not the same as zero.
public struct AnnualReport: Sendable, Hashable, Codable {
  /// 生产总产值.
  public var totalOutput: Amount?
  /// 增加值.
  public var valueAdded: Amount?
  /// 出口.
  public var exports: Amount?
  /// 进口.
  public var imports: Amount?
  /// 研究与开发投入.
  public var rdExpenditure: Amount?
  /// 高新技术产品产值.
  public var highTechProductOutput: Amount?
  /// 全部产品产值.
  public var totalProductOutput: Amount?
  public var patentsApplied: Int64?
  public var patentsGranted: Int64?
  public var inventionPatentsApplied: Int64?
  public var inventionPatentsGranted: Int64?
  /// 从业人员.
  public var employees: Int64?
  /// 研发与工程技术人员.
  public var rdAndEngineeringStaff: Int64?
  public var enterprises: Int64?
  /// Output by field, for comprehensive bases.
  public var outputByField: [Field: Amount]

  public init(
    totalOutput: Amount? = nil,
    valueAdded: Amount? = nil,
    exports: Amount? = nil,
    imports: Amount? = nil,
    rdExpenditure: Amount? = nil,
    highTechProductOutput: Amount? = nil,
    totalProductOutput: Amount? = nil,
    patentsApplied: Int64? = nil,
    patentsGranted: Int64? = nil,
    inventionPatentsApplied: Int64? = nil,
    inventionPatentsGranted: Int64? = nil,
    employees: Int64? = nil,
    rdAndEngineeringStaff: Int64? = nil,
    enterprises: Int64? = nil,
    outputByField: [Field: Amount] = [:]
  ) {
    self.totalOutput = totalOutput
    self.valueAdded = valueAdded
    self.exports = exports
    self.imports = imports
    self.rdExpenditure = rdExpenditure
    self.highTechProductOutput = highTechProductOutput
    self.totalProductOutput = totalProductOutput
    self.patentsApplied = patentsApplied
    self.patentsGranted = patentsGranted
    self.inventionPatentsApplied = inventionPatentsApplied
    self.inventionPatentsGranted = inventionPatentsGranted
    self.employees = employees
    self.rdAndEngineeringStaff = rdAndEngineeringStaff
    self.enterprises = enterprises
    self.outputByField = outputByField
  }

  /// Every amount with its field path, in schema order.
  public var amounts: [(path: String, amount: Amount?)] {
    [
      ("report.total_output_value", totalOutput),
      ("report.value_added", valueAdded),
      ("report.exports", exports),
      ("report.imports", imports),
      ("report.rd_expenditure", rdExpenditure),
      ("report.high_tech_product_output_value", highTechProductOutput),
      ("report.total_product_output_value", totalProductOutput),
    ] + outputByField.sorted { $0.key < $1.key }.map { ("report.output_by_field[\($0.key.rawValue)]", $0.value) }
  }

  /// Every count with its field path, in schema order.
  public var counts: [(path: String, count: Int64?)] {
    [
      ("report.patents_applied", patentsApplied),
      ("report.patents_granted", patentsGranted),
      ("report.employees", employees),
      ("report.rd_and_engineering_staff", rdAndEngineeringStaff),
      ("report.invention_patents_applied", inventionPatentsApplied),
      ("report.invention_patents_granted", inventionPatentsGranted),
      ("report.enterprises", enterprises),
    ]
  }

  /// The derived indicators of 四(一) and the export share.
  public var indicators: DerivedIndicators { DerivedIndicators(self) }
}
