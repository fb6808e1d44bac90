import CZeroMQ

/// A 32-byte CURVE key (public or secret), written as 40 characters of Z85.
///
/// `description` of a key never prints its bytes, so a secret key cannot leak into a log
/// through string interpolation; use ``z85`` deliberately where the text is needed.
public struct CurveKey: Sendable, Hashable, CustomStringConvertible {
  public let bytes: [UInt8]

  public init(bytes: [UInt8]) throws {
    guard bytes.count == 32 else {
      throw ZMQError.invalidArgument("CurveKey", "a CURVE key has 32 bytes, not \(bytes.count)")
    }
    self.bytes = bytes
  }

  /// Reads a key from its 40-character Z85 form (surrounding whitespace is ignored).
  public init(z85: String) throws {
    let trimmed = z85.trimmingWhitespace()
    guard trimmed.utf8.count == 40 else {
      throw ZMQError.invalidArgument("CurveKey", "a Z85 CURVE key has 40 characters, not \(trimmed.utf8.count)")
    }
    try self.init(bytes: try Z85.decode(trimmed))
  }

  /// The key's 40-character Z85 form.
  public var z85: String {
    // 32 bytes always encode.
    try! Z85.encode(bytes)
  }

  public var description: String { "CurveKey(32 bytes)" }
}

/// A CURVE key pair.
public struct CurveKeyPair: Sendable, Hashable, CustomStringConvertible {
  public let publicKey: CurveKey
  public let secretKey: CurveKey

  /// A new random key pair (`zmq_curve_keypair`).
  public static func generate() throws -> CurveKeyPair {
    var publicText = [CChar](repeating: 0, count: 41)
    var secretText = [CChar](repeating: 0, count: 41)
    guard zmq_curve_keypair(&publicText, &secretText) == 0 else {
      throw ZMQError.last("zmq_curve_keypair")
    }
    defer {
      for index in secretText.indices { secretText[index] = 0 }
    }
    let pair = CurveKeyPair(
      publicKey: try CurveKey(z85: String(nullTerminated: publicText)),
      secretKey: try CurveKey(z85: String(nullTerminated: secretText))
    )
    return pair
  }

  /// The pair of a secret key, deriving its public key (`zmq_curve_public`).
  public init(secretKey: CurveKey) throws {
    var publicText = [CChar](repeating: 0, count: 41)
    guard zmq_curve_public(&publicText, secretKey.z85) == 0 else {
      throw ZMQError.last("zmq_curve_public")
    }
    self.publicKey = try CurveKey(z85: String(nullTerminated: publicText))
    self.secretKey = secretKey
  }

  private init(publicKey: CurveKey, secretKey: CurveKey) {
    self.publicKey = publicKey
    self.secretKey = secretKey
  }

  /// Shows the public key only.
  public var description: String { "CurveKeyPair(public: \(publicKey.z85))" }
}

extension String {
  init(nullTerminated characters: [CChar]) {
    self.init(decoding: characters.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  func trimmingWhitespace() -> String {
    let scalars = unicodeScalars
    guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
      let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
    else { return "" }
    return String(scalars[first...last])
  }
}
