import DaemonSupport
import FuzzSupport
import HiTechSchema
import ProvinceNode

/// The province node's reader of report message files (the spool's admission of a claimed
/// file): every input is read both as `x.json` (proto3 JSON) and as `x.pb` (binary protobuf).
///
/// Properties: nothing traps; an accepted file becomes a sendable message whose content hash
/// matches its report and whose bytes decode to the same message; a refused file has a
/// non-empty report.
@main
enum MessageFileHarness {
  static func main() {
    FuzzMain.run("fuzz-message-file") { input in
      for name in ["x.json", "x.pb"] {
        switch Admission.judge(bytes: input, name: name) {
        case .quarantine(let reason):
          fuzzRequire(!reason.isEmpty, "quarantined without a reason")
        case .reject(let report):
          fuzzRequire(!report.isEmpty, "rejected without a report")
        case .accept(let submission):
          guard let message = try? Admission.outgoing(submission, id: "fuzz-1", claimedAtMillis: 1_767_225_600_123) else {
            continue
          }
          fuzzRequire((try? message.computedContentHash()) == Array(message.contentSha256), "an accepted file's message has a wrong content hash")
          fuzzRequire(message.submissionID == "fuzz-1" && message.hasCreatedAt, "an accepted file's message lacks its id or time")
          if let bytes: [UInt8] = try? message.serializedBytes() {
            fuzzRequire((try? Ndrc_Hitech_V1_Submission(serializedBytes: bytes)) == message, "an accepted file's message does not decode to itself")
          }
        }
      }
    }
  }
}
