import DaemonSupport
import Foundation
import HiTechSchema
import HiTechTestSupport
import SwiftProtobuf

extension SampleSubmissions {
  /// A submission whose serialized size is exactly `serializedSize` bytes: padded with the
  /// long explanation of an override for an unknown rule code, beside an override without
  /// explanation, so the service rejects it (R-OVERRIDE-EMPTY) rather than storing a report.
  static func submission(base: String, serializedSize: Int) throws -> Ndrc_Hitech_V1_Submission {
    var submission = try submission(base: base)
    var empty = Ndrc_Hitech_V1_WarningOverride()
    empty.ruleCode = "R-OUTPUT-YOY-JUMP"
    submission.warningOverrides = [empty]
    var padding = Ndrc_Hitech_V1_WarningOverride()
    padding.ruleCode = "R-PADDING"
    submission.warningOverrides.append(padding)
    var length = max(0, serializedSize - (try submission.serializedBytes() as [UInt8]).count)
    for _ in 0..<8 {
      submission.warningOverrides[1].explanation = String(repeating: "x", count: length)
      let size = (try submission.serializedBytes() as [UInt8]).count
      if size == serializedSize { return submission }
      length += serializedSize - size
    }
    throw CocoaError(.coderInvalidValue)
  }
}
