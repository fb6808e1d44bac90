import GRPCCore
import ZeroMQ

/// One message of the wire protocol (see `proto-schemas/WIRE.md`): a header frame followed by
/// kind-specific frames.
///
/// Header frame, 10 bytes: protocol version (`0x01`), kind, stream id (`UInt64`, big-endian).
@available(gRPCSwift 2.0, *)
package enum WireMessage: Sendable, Equatable {
  /// Client → server: starts a stream. Frames: method path, then metadata key/value frame pairs.
  case open(method: String, metadata: Metadata)
  /// Either way: one serialized message. Frames: the bytes.
  case message([UInt8])
  /// Client → server: the client will send no more messages.
  case halfClose
  /// Client → server: the client abandons the stream.
  case cancel
  /// Either way: the sender may send `n` more messages on the stream.
  case credit(UInt32)
  /// Server → client: the response's initial metadata. Frames: metadata pairs.
  case headers(Metadata)
  /// Server → client: ends the stream. Frames: code (`UInt32` big-endian), message (UTF-8),
  /// then trailing metadata pairs.
  case status(Status, Metadata)

  static let protocolVersion: UInt8 = 1
  static let headerSize = 10

  enum Kind: UInt8 {
    case open = 0x01
    case message = 0x02
    case halfClose = 0x03
    case cancel = 0x04
    case credit = 0x05
    case headers = 0x11
    case status = 0x12
  }

  var kind: Kind {
    switch self {
    case .open: .open
    case .message: .message
    case .halfClose: .halfClose
    case .cancel: .cancel
    case .credit: .credit
    case .headers: .headers
    case .status: .status
    }
  }

  // MARK: - Encoding

  /// The frames of this message on stream `streamID`.
  package func frames(streamID: UInt64) -> [ZMQMessage] {
    var frames = [Self.header(kind: kind, streamID: streamID)]
    switch self {
    case .open(let method, let metadata):
      frames.append(ZMQMessage(string: method))
      Self.append(metadata, to: &frames)
    case .message(let bytes):
      frames.append(ZMQMessage(bytes))
    case .halfClose, .cancel:
      break
    case .credit(let count):
      frames.append(Self.bigEndianFrame(count))
    case .headers(let metadata):
      Self.append(metadata, to: &frames)
    case .status(let status, let metadata):
      frames.append(Self.bigEndianFrame(UInt32(status.code.rawValue)))
      frames.append(ZMQMessage(string: status.message))
      Self.append(metadata, to: &frames)
    }
    return frames
  }

  // Frames are written in place: no intermediate array per frame.
  private static func header(kind: Kind, streamID: UInt64) -> ZMQMessage {
    let frame = ZMQMessage(count: headerSize)
    frame.withUnsafeMutableBytes { bytes in
      bytes[0] = protocolVersion
      bytes[1] = kind.rawValue
      bytes.storeBytes(of: streamID.bigEndian, toByteOffset: 2, as: UInt64.self)
    }
    return frame
  }

  private static func bigEndianFrame(_ value: UInt32) -> ZMQMessage {
    let frame = ZMQMessage(count: 4)
    frame.withUnsafeMutableBytes { $0.storeBytes(of: value.bigEndian, as: UInt32.self) }
    return frame
  }

  private static func append(_ metadata: Metadata, to frames: inout [ZMQMessage]) {
    for (key, value) in metadata {
      frames.append(ZMQMessage(string: key))
      switch value {
      case .string(let text): frames.append(ZMQMessage(string: text))
      case .binary(let bytes): frames.append(ZMQMessage(bytes))
      }
    }
  }

  // MARK: - Decoding

  /// Why frames could not be decoded.
  package enum DecodingError: Error, Equatable {
    /// The header frame is missing, short, or of another protocol version: nothing can be
    /// answered, not even which stream it was.
    case unreadableHeader(String)
    /// The header names a stream but the rest is malformed.
    case malformed(streamID: UInt64, reason: String)
    /// A message larger than the receiver accepts.
    case tooLarge(streamID: UInt64, size: Int, limit: Int)
  }

  /// Decodes one message from its frames (without any routing-id frame).
  package static func decode(
    _ frames: ArraySlice<ZMQMessage>,
    maxMessageBytes: Int
  ) -> Result<(streamID: UInt64, message: WireMessage), DecodingError> {
    guard let headerFrame = frames.first else {
      return .failure(.unreadableHeader("no frames"))
    }
    guard headerFrame.count == headerSize else {
      return .failure(.unreadableHeader("header frame has \(headerFrame.count) bytes, expected \(headerSize)"))
    }
    let (version, rawKind, streamID) = headerFrame.withUnsafeBytes { buffer in
      (buffer[0], buffer[1], UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: 2, as: UInt64.self)))
    }
    guard version == protocolVersion else {
      return .failure(.unreadableHeader("protocol version \(version) is not supported (this side speaks \(protocolVersion))"))
    }
    func malformed(_ reason: String) -> Result<(streamID: UInt64, message: WireMessage), DecodingError> {
      .failure(.malformed(streamID: streamID, reason: reason))
    }
    guard let kind = Kind(rawValue: rawKind) else {
      return malformed("unknown frame kind 0x\(String(rawKind, radix: 16))")
    }
    let body = frames.dropFirst()
    let message: WireMessage
    switch kind {
    case .open:
      guard let methodFrame = body.first, let method = methodFrame.string, method.hasPrefix("/") else {
        return malformed("OPEN needs a method path frame like /package.Service/Method")
      }
      guard let metadata = decodeMetadata(body.dropFirst()) else {
        return malformed("OPEN metadata must be key/value frame pairs with UTF-8 keys and text values")
      }
      message = .open(method: method, metadata: metadata)
    case .message:
      guard body.count == 1, let payload = body.first else {
        return malformed("MESSAGE has exactly one payload frame, got \(body.count)")
      }
      guard payload.count <= maxMessageBytes else {
        return .failure(.tooLarge(streamID: streamID, size: payload.count, limit: maxMessageBytes))
      }
      message = .message(payload.bytes)
    case .halfClose:
      message = .halfClose
    case .cancel:
      message = .cancel
    case .credit:
      guard body.count == 1, let frame = body.first, frame.count == 4 else {
        return malformed("CREDIT has one 4-byte frame")
      }
      message = .credit(frame.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) })
    case .headers:
      guard let metadata = decodeMetadata(body) else {
        return malformed("HEADERS must be key/value frame pairs")
      }
      message = .headers(metadata)
    case .status:
      guard body.count >= 2, let codeFrame = body.first, codeFrame.count == 4,
        let text = body[body.startIndex + 1].string
      else {
        return malformed("STATUS needs a 4-byte code frame and a UTF-8 message frame")
      }
      let rawCode = codeFrame.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) }
      guard let metadata = decodeMetadata(body.dropFirst(2)) else {
        return malformed("STATUS trailers must be key/value frame pairs")
      }
      let code = Status.Code(rawValue: Int(rawCode)) ?? .unknown
      message = .status(Status(code: code, message: text), metadata)
    }
    return .success((streamID, message))
  }

  private static func decodeMetadata(_ frames: ArraySlice<ZMQMessage>) -> Metadata? {
    guard frames.count % 2 == 0 else { return nil }
    var metadata = Metadata()
    var index = frames.startIndex
    while index < frames.endIndex {
      guard let key = frames[index].string, !key.isEmpty else { return nil }
      let valueFrame = frames[index + 1]
      if key.hasSuffix("-bin") {
        metadata.addBinary(valueFrame.bytes, forKey: key)
      } else {
        guard let value = valueFrame.string else { return nil }
        metadata.addString(value, forKey: key)
      }
      index += 2
    }
    return metadata
  }
}
