/// A high-tech industrial base as registered (registry.proto `Base`): who reports it
/// (六(一)), what kind it is and in which fields (一(二)), its level (五(八)), the document that
/// recognised it (六(二)) and whether that recognition has been withdrawn.
///
/// The registry's consistency rule — a specialized base has exactly one field, a comprehensive
/// one at least two — is checked by ``ReportValidator`` (R-BASE-KIND-FIELDS) and available
/// here as ``hasConsistentFields``.
public struct Base: Sendable, Hashable, Codable {
  /// `Base.base_id`, e.g. "HTB-440300-INF".
  public var id: String
  public var nameZh: String
  /// The GB/T 2260 code of the reporter that reports this base.
  public var reporterCode: String
  public var kind: BaseKind
  public var fields: Set<Field>
  public var level: BaseLevel
  /// The first recognition; `nil` when the registry holds no document for it.
  public var recognition: Recognition?
  /// Recognition withdrawn (`BASE_STATUS_WITHDRAWN`): the base reports no more. (The brief's
  /// "retired"; the schema's word is kept.)
  public var withdrawn: Bool

  public init(
    id: String,
    nameZh: String,
    reporterCode: String,
    kind: BaseKind,
    fields: Set<Field>,
    level: BaseLevel,
    recognition: Recognition?,
    withdrawn: Bool = false
  ) {
    self.id = id
    self.nameZh = nameZh
    self.reporterCode = reporterCode
    self.kind = kind
    self.fields = fields
    self.level = level
    self.recognition = recognition
    self.withdrawn = withdrawn
  }

  /// A base whose recognition is known by its document number only ("" for none).
  public init(
    id: String,
    nameZh: String,
    reporterCode: String,
    kind: BaseKind,
    fields: Set<Field>,
    level: BaseLevel,
    recognitionDocument: String = "",
    withdrawn: Bool = false
  ) {
    self.init(
      id: id, nameZh: nameZh, reporterCode: reporterCode, kind: kind, fields: fields, level: level,
      recognition: recognitionDocument.isEmpty ? nil : Recognition(documentNumber: recognitionDocument),
      withdrawn: withdrawn
    )
  }

  /// The recognition document number, e.g. "发改高技[2009]3211号"; empty when none is recorded.
  public var recognitionDocument: String {
    get { recognition?.documentNumber ?? "" }
    set {
      if newValue.isEmpty {
        recognition = nil
      } else if recognition == nil {
        recognition = Recognition(documentNumber: newValue)
      } else {
        recognition!.documentNumber = newValue
      }
    }
  }

  /// Recognised and not withdrawn: expected to report (`BASE_STATUS_ACTIVE`).
  public var isRecognised: Bool { !withdrawn }

  /// 一(二): a specialized base has exactly one field, a comprehensive base two or more.
  public var hasConsistentFields: Bool {
    switch kind {
    case .specialized: fields.count == 1
    case .comprehensive: fields.count >= 2
    }
  }
}
