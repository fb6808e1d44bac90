import FuzzSupport
import GRPCCore
import ZeroMQ
import ZeroMQTransport

/// The wire decoder (proto-schemas/WIRE.md) on hostile frames, then, for an OPEN, the request
/// metadata through the transport's check into GRPCCore's own server, as a ROUTER hands it on.
///
/// Input: the frames of one message (without routing id), each a 2-byte big-endian length and
/// that many bytes; a last frame shorter than its length takes what is left.
///
/// Properties: decoding never traps; a decoded message encodes to frames that decode to the
/// same message; metadata the check lets through never traps GRPCCore (which trusts it: a
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
      if case .open(_, let metadata) = message {
        server.call(metadata: metadata)
      }
    }
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
