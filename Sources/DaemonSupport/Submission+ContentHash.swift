import Crypto
import Foundation
public import HiTechSchema
import SwiftProtobuf

extension Ndrc_Hitech_V1_Submission {
  /// The SHA-256 of the report's deterministic binary encoding: the value of
  /// `content_sha256` (see proto-schemas/README.md). Nodes set it; the aggregator checks it
  /// and deduplicates by it.
  public func computedContentHash() throws -> [UInt8] {
    let bytes: [UInt8] = try report.serializedBytes()
    return Array(SHA256.hash(data: bytes))
  }

  /// A copy with `content_sha256` set from the report.
  public func sealed() throws -> Ndrc_Hitech_V1_Submission {
    var copy = self
    copy.contentSha256 = Data(try computedContentHash())
    return copy
  }
}
