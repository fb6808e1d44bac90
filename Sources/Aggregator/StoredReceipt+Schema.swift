import AggregatorStore
import Foundation
import HiTechSchema
import SwiftProtobuf
import TransparencyLog

extension Ndrc_Hitech_V1_Receipt {
  /// The receipt a node receives for a stored submission, its attestation signed by `signer`
  /// (RECEIPTS.md §2).
  init(_ stored: StoredReceipt, signer: LogSigningKey? = nil) {
    self.init()
    accessionNumber = stored.accessionNumber
    submissionID = stored.submissionId
    receivedAt = Google_Protobuf_Timestamp(microsecondsSince1970: stored.receivedAtMicros)
    status = Ndrc_Hitech_V1_ReceiptStatus(stored.status)
    revision = Int32(clamping: stored.revision)
    findings = stored.findings.map(Ndrc_Hitech_V1_Finding.init)
    baseID = stored.baseId
    reportYear = Int32(clamping: stored.reportYear)
    contentSha256 = Data(stored.contentSHA256)
    reporterCode = stored.reporterCode
    late = stored.late
    duplicateOfSubmissionID = stored.duplicateOfSubmissionId
    logIndex = -1
    if let attestation = stored.attestation {
      let encoded = attestation.encoded
      self.attestation = Data(encoded)
      logIndex = attestation.logIndex
      if let signer, let signed = try? signer.sign(encoded) {
        signature = Data(signed.signature)
        signingKeyID = signed.keyID
      }
    }
  }
}

extension Ndrc_Hitech_V1_ReceiptStatus {
  init(_ status: ReceiptStatus) {
    switch status {
    case .accepted: self = .accepted
    case .acceptedWithWarnings: self = .acceptedWithWarnings
    case .acceptedLate: self = .acceptedLate
    case .duplicate: self = .duplicate
    case .rejected: self = .rejected
    }
  }
}

extension Ndrc_Hitech_V1_Finding {
  init(_ stored: StoredFinding) {
    self.init()
    ruleCode = stored.ruleCode
    severity = stored.severity == .error ? .error : .warning
    fieldPath = stored.fieldPath
    message = stored.message
    overridden = stored.overridden
    overrideExplanation = stored.overrideExplanation
  }
}

extension Google_Protobuf_Timestamp {
  init(microsecondsSince1970 micros: Int64) {
    let split = LogTimestamp(microsecondsSince1970: micros)
    self.init(seconds: split.seconds, nanos: split.nanos)
  }
}
