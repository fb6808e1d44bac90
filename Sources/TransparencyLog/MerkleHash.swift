import Crypto

/// A SHA-256 value in the log: a leaf hash, an interior node's hash or a tree's root.
public struct MerkleHash: Hashable, Sendable, CustomStringConvertible {
  /// The 32 bytes.
  public let bytes: [UInt8]

  /// The hash of the empty tree, SHA-256 of no bytes (RFC 9162 §2.1.1).
  public static let emptyTree = MerkleHash(trusted: Array(SHA256.hash(data: [UInt8]())))

  /// Takes 32 bytes; nil for any other length.
  public init?(_ bytes: some Sequence<UInt8>) {
    let array = Array(bytes)
    guard array.count == 32 else { return nil }
    self.bytes = array
  }

  /// Reads 64 hexadecimal digits (either case); nil for anything else.
  public init?(hex: some StringProtocol) {
    let digits = Array(hex.utf8)
    guard digits.count == 64 else { return nil }
    var bytes = [UInt8]()
    bytes.reserveCapacity(32)
    var index = 0
    while index < 64 {
      guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
      bytes.append(high << 4 | low)
      index += 2
    }
    self.bytes = bytes
  }

  init(trusted bytes: [UInt8]) {
    self.bytes = bytes
  }

  /// Lower-case hexadecimal, 64 digits.
  public var hex: String {
    let digits = Array("0123456789abcdef".utf8)
    var text = [UInt8]()
    text.reserveCapacity(64)
    for byte in bytes {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  public var description: String { hex }

  private static func nibble(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}
