import FuzzSupport
import GRPCCore
import ZeroMQ
import ZeroMQTransport

/// The wire decoder (proto-schemas/WIRE.md) on hostile frames, then, for an OPEN, the request
/// metadata through the transport's check (`RequestMetadataCheck`) into GRPCCore's own server,
/// as the server transport hands it on.
///
/// Input: the frames of one message (without routing id), each a 2-byte big-endian length and
/// that many bytes; a last frame shorter than its length takes what is left.
///
/// Properties: decoding never traps; a decoded message encodes to frames that decode to the
/// same message; metadata the check lets through has at most one `grpc-timeout`, in a form
/// GRPCCore reads, with a deadline not in the past, never traps GRPCCore (which trusts it: a
/// negative `grpc-timeout` stops the process in `Timeout(decoding:)`), and every such call ends
/// with a status.
@main
enum WireHarness {
  static let maxMessageBytes = 1024

  static func main() {
    let server = GRPCCoreFeed()
    FuzzMain.run("fuzz-wire") { input in
      let frames = frames(of: input)
      guard case .success(let (streamID, message)) = WireMessage.decode(frames[...], maxMessageBytes: maxMessageBytes) else {
        return
      }
      let encoded = message.frames(streamID: streamID)
      switch WireMessage.decode(encoded[...], maxMessageBytes: .max) {
      case .success(let again):
        fuzzRequire(again.streamID == streamID && again.message == message, "\(message) encodes to frames that decode to \(again.message)")
      case .failure(let error):
        fuzzRequire(false, "\(message) encodes to frames that do not decode: \(error)")
      }
      guard case .open(_, var metadata) = message else { return }
      // As the server transport opens a stream: its check, then GRPCCore with what passed.
      switch RequestMetadataCheck.check(&metadata) {
      case .failure:
        return
      case .success(let timeout):
        fuzzRequire(timeout.map { $0 >= .zero } ?? true, "the check passes a negative deadline \(timeout!)")
        let values = Array(metadata["grpc-timeout"])
        fuzzRequire(values.count <= 1, "the check passes \(values.count) grpc-timeout values")
        if case .string(let text)? = values.first {
          fuzzRequire(isGRPCTimeout(text), "the check passes grpc-timeout \"\(text)\", which GRPCCore cannot read")
        }
        server.call(metadata: metadata)
      }
    }
  }

  /// What GRPCCore's `Timeout(decoding:)` reads correctly: 1 to 7 ASCII digits and a unit
  /// (it takes at most 8 characters, and would take a sign).
  static func isGRPCTimeout(_ text: String) -> Bool {
    let utf8 = Array(text.utf8)
    guard (2...8).contains(utf8.count), let unit = utf8.last, "HMSmun".utf8.contains(unit) else { return false }
    return utf8.dropLast().allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
  }

  static func frames(of input: [UInt8]) -> [ZMQMessage] {
    var frames: [ZMQMessage] = []
    var index = 0
    while index < input.count {
      guard index + 2 <= input.count else {
        frames.append(ZMQMessage(Array(input[index...])))
        break
      }
      let length = Int(input[index]) << 8 | Int(input[index + 1])
      let end = min(input.count, index + 2 + length)
      frames.append(ZMQMessage(Array(input[(index + 2)..<end])))
      index = end
    }
    return frames
  }
}
