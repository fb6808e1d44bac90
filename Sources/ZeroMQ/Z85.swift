import CZeroMQ

/// ZeroMQ's Z85 text encoding of binary data (RFC 32/Z85), as used for CURVE keys.
public enum Z85 {
  /// Encodes `bytes`, whose count must be a multiple of 4.
  public static func encode(_ bytes: [UInt8]) throws -> String {
    guard bytes.count % 4 == 0 else {
      throw ZMQError.invalidArgument("Z85.encode", "the input has \(bytes.count) bytes; Z85 needs a multiple of 4")
    }
    var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
    let ok = bytes.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, $0.count) != nil }
    guard ok else { throw ZMQError.last("zmq_z85_encode") }
    return String(decoding: text.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Decodes Z85 `text`, whose length must be a multiple of 5.
  public static func decode(_ text: String) throws -> [UInt8] {
    let utf8 = Array(text.utf8)
    guard utf8.count % 5 == 0 else {
      throw ZMQError.invalidArgument("Z85.decode", "the text has \(utf8.count) characters; Z85 needs a multiple of 5")
    }
    var bytes = [UInt8](repeating: 0, count: utf8.count / 5 * 4)
    let ok = text.withCString { zmq_z85_decode(&bytes, $0) != nil }
    guard ok else {
      throw ZMQError.invalidArgument("Z85.decode", "the text holds a character outside the Z85 alphabet")
    }
    return bytes
  }
}
