/// Why a proof, a tree head or a receipt could not be made or read.
public struct TransparencyLogError: Error, Hashable, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Value: Hashable, Sendable {
      case proofOutOfRange, malformed, badSignature, unknownKey
    }
    private let value: Value
    /// A proof asked for a leaf or a tree size the log does not have.
    public static let proofOutOfRange = Code(value: .proofOutOfRange)
    /// Bytes that are not a canonical encoding (wrong tag, truncated, trailing bytes, bad length).
    public static let malformed = Code(value: .malformed)
    /// A signature that does not verify with the key it names.
    public static let badSignature = Code(value: .badSignature)
    /// A signature by a key id the verifier does not know.
    public static let unknownKey = Code(value: .unknownKey)
    public var description: String { "\(value)" }
  }

  public let code: Code
  public let message: String

  public init(code: Code, message: String) {
    self.code = code
    self.message = message
  }

  static func proofOutOfRange(_ message: String) -> Self { Self(code: .proofOutOfRange, message: message) }
  static func malformed(_ message: String) -> Self { Self(code: .malformed, message: message) }

  public var description: String { "\(code): \(message)" }
}
