import HiTechSchema

/// An application notice in words, as the node's log and status file say it.
enum ApplicationNoticeText {
  static func describe(_ notice: Ndrc_Hitech_V1_ApplicationNotice, callYear: Int32) -> String {
    let name = "application \(notice.applicationID) (\(notice.applicationRef), call \(callYear))"
    switch notice.kind {
    case .received:
      return "\(name) received: revision \(notice.revision) stored"
    case .evaluationStarted:
      return "\(name): the experts' evaluation started"
    case .decided:
      let decision = notice.decision
      let document = "\(decision.document.documentNumber) of \(decision.document.date.year)-\(pad(decision.document.date.month))-\(pad(decision.document.date.day))"
      if decision.recognised {
        return "\(name) recognised by \(document): base \(decision.baseID), first report year \(decision.firstReportYear)"
      }
      return "\(name) not recognised (\(document))\(decision.reason.isEmpty ? "" : ": \(decision.reason)")"
    case .withdrawn:
      return "\(name) withdrawn"
    case .unspecified, .UNRECOGNIZED:
      return "\(name): a notice of a kind this node does not know"
    }
  }

  private static func pad(_ value: Int32) -> String {
    value < 10 ? "0\(value)" : "\(value)"
  }
}
