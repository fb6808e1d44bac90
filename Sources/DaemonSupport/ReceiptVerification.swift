import Foundation
public import HiTechSchema
public import TransparencyLog

/// What checking a receipt offline found (proto-schemas/RECEIPTS.md §5): the signature's
/// verdict, and every way the receipt's fields or the report file disagree with what was
/// signed.
public struct ReceiptVerification: Sendable {
  /// The attestation the receipt carries, when it decodes.
  public var attestation: ReceiptAttestation?
  /// The signature's verdict, when there is a signature.
  public var verdict: LogKeyRing.Verdict?
  /// Every disagreement, each naming the field; empty when the receipt checks out.
  public var problems: [String]

  /// A valid signature by a known key (current or retired) and no disagreement.
  public var isValid: Bool { problems.isEmpty && verdict?.isValid == true }

  /// Checks `receipt` against the centre's keys and, when given, the SHA-256 of the report's
  /// content as the node computed it from the message file.
  public static func check(
    _ receipt: Ndrc_Hitech_V1_Receipt, keys: LogKeyRing, reportContentSHA256: [UInt8]? = nil
  ) -> ReceiptVerification {
    var result = ReceiptVerification(attestation: nil, verdict: nil, problems: [])
    guard !receipt.attestation.isEmpty else {
      result.problems.append("attestation: the receipt carries none (issued before receipts were signed, or a refusal by an older centre)")
      return result
    }
    let attestation: ReceiptAttestation
    do {
      attestation = try ReceiptAttestation(encoded: Array(receipt.attestation))
    } catch {
      result.problems.append("attestation: not a canonical attestation (\(error))")
      return result
    }
    result.attestation = attestation
    if receipt.signature.isEmpty {
      result.problems.append("signature: the receipt is not signed")
    } else {
      let verdict = keys.verify(
        SignedStatement(encoded: Array(receipt.attestation), keyID: receipt.signingKeyID, signature: Array(receipt.signature)))
      result.verdict = verdict
      switch verdict {
      case .valid, .validByRetiredKey: break
      case .unknownKey(let id): result.problems.append("signing_key_id: \(id) is none of the centre's keys given")
      case .badSignature(let id): result.problems.append("signature: does not verify with key \(id): the attestation or the signature was changed")
      }
    }
    func expect<T: Equatable>(_ field: String, _ receiptValue: T, _ signed: T) {
      if receiptValue != signed { result.problems.append("\(field): the receipt says \(receiptValue), the signed attestation \(signed)") }
    }
    expect("reporter_code", receipt.reporterCode, attestation.reporterCode)
    expect("base_id", receipt.baseID, attestation.baseID)
    expect("report_year", receipt.reportYear, attestation.reportYear)
    expect("revision", receipt.revision, attestation.revision)
    expect("accession_number", receipt.accessionNumber, attestation.accessionNumber)
    expect("content_sha256", MerkleHash(receipt.contentSha256)?.hex ?? "(not 32 bytes)", attestation.contentSHA256.hex)
    expect("log_index", receipt.logIndex, attestation.logIndex)
    if receipt.status == .duplicate {
      expect("duplicate_of_submission_id", receipt.duplicateOfSubmissionID, attestation.submissionID)
    } else {
      expect("submission_id", receipt.submissionID, attestation.submissionID)
      expect("status", String(describing: receipt.status), statusName(attestation.status))
      expect(
        "received_at", "\(receipt.receivedAt.seconds).\(receipt.receivedAt.nanos)",
        "\(attestation.receivedAt.seconds).\(attestation.receivedAt.nanos)")
    }
    if let reportContentSHA256, reportContentSHA256 != attestation.contentSHA256.bytes {
      result.problems.append(
        "report: its content SHA-256 is \(MerkleHash(reportContentSHA256)?.hex ?? "?"), the signed attestation names \(attestation.contentSHA256.hex): "
          + "this is not the report the centre received")
    }
    return result
  }

  /// The attestation's status as the generated enum prints it (`accepted`, `acceptedLate`, …).
  private static func statusName(_ status: String) -> String {
    switch status {
    case "ACCEPTED": String(describing: Ndrc_Hitech_V1_ReceiptStatus.accepted)
    case "ACCEPTED_WITH_WARNINGS": String(describing: Ndrc_Hitech_V1_ReceiptStatus.acceptedWithWarnings)
    case "ACCEPTED_LATE": String(describing: Ndrc_Hitech_V1_ReceiptStatus.acceptedLate)
    case "REJECTED": String(describing: Ndrc_Hitech_V1_ReceiptStatus.rejected)
    default: status
    }
  }
}
