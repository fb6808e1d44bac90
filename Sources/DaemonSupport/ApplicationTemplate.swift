import Crypto
import Foundation
public import HiTechSchema

/// A filled-in application for a clerk to start from (`hitech application template`): every
/// field the checks need, with placeholder figures that pass them.
public enum ApplicationTemplate {
  public static func sample(
    reporterCode: String, callYear: Int32, applicationRef: String, kind: Ndrc_Hitech_V1_ApplicationKind = .newNationalBase,
    upgradesBaseId: String = "", cityCode: String? = nil
  ) -> Ndrc_Hitech_V1_ApplicationSubmission {
    var submission = Ndrc_Hitech_V1_ApplicationSubmission()
    submission.schemaVersion = .v1
    submission.reporterCode = reporterCode
    submission.applicationRef = applicationRef
    submission.callYear = callYear
    submission.revision = 1
    var form = Ndrc_Hitech_V1_ApplicationForm()
    form.kind = kind
    form.upgradesBaseID = upgradesBaseId
    var base = Ndrc_Hitech_V1_ProposedBase()
    base.nameZh = "国家生物高技术产业基地（示例）"
    base.nameEn = "National Biology High-Tech Industrial Base (example)"
    base.kind = .specialized
    base.fields = [.biology]
    base.cityCode = cityCode ?? String(reporterCode.prefix(2)) + "0100"
    base.cityNameZh = "示例市"
    base.level = .national
    form.base = base
    for (offset, year) in ((callYear - 3)...(callYear - 1)).enumerated() {
      var figures = Ndrc_Hitech_V1_ApplicationYearFigures()
      figures.year = year
      let growth = Int64(100 + 12 * offset)
      figures.totalOutputValue = amount(8_000_000 * growth / 100, .cnyTenThousand)
      figures.valueAdded = amount(2_400_000 * growth / 100, .cnyTenThousand)
      figures.rdExpenditure = amount(320_000 * growth / 100, .cnyTenThousand)
      figures.patentsApplied = 1_200 + Int64(offset) * 150
      figures.patentsGranted = 640 + Int64(offset) * 80
      figures.exports = amount(150_000 * growth / 100, .usdTenThousand)
      form.figures.append(figures)
    }
    form.planReference = "示例市生物产业发展规划（\(callYear)—\(callYear + 4)年）"
    form.developmentPlan = "功能定位、发展目标与发展潜力：……"
    form.localSupportMeasures = "地方政府扶持措施：……"
    var approval = Ndrc_Hitech_V1_Recognition()
    approval.documentNumber = "示政函[\(callYear)]1号"
    var date = Ndrc_Hitech_V1_Date()
    date.year = callYear
    date.month = 3
    date.day = 1
    approval.date = date
    form.provincialApproval = approval
    form.contact = "高技术产业处"
    submission.application = form
    return submission
  }

  /// An attachment with its SHA-256 filled in.
  public static func attachment(name: String, mediaType: String, content: [UInt8]) -> Ndrc_Hitech_V1_ApplicationAttachment {
    var attachment = Ndrc_Hitech_V1_ApplicationAttachment()
    attachment.name = name
    attachment.mediaType = mediaType
    attachment.content = Data(content)
    attachment.sha256 = Data(SHA256.hash(data: content))
    return attachment
  }

  static func amount(_ value: Int64, _ unit: Ndrc_Hitech_V1_MoneyUnit) -> Ndrc_Hitech_V1_Amount {
    var amount = Ndrc_Hitech_V1_Amount()
    amount.value = value
    amount.unit = unit
    return amount
  }
}
