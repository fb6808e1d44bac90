import Crypto

/// The centre's Ed25519 key that signs receipts and tree heads.
public struct LogSigningKey: Sendable {
  /// The 32-byte seed (RFC 8032's private key).
  public let seed: [UInt8]
  public let verifyingKey: LogVerifyingKey
  /// The key made once: making it from the seed derives the key pair, which cost as much as the
  /// signature itself on every receipt (callgrind: 314 k of 652 k instructions per signature).
  private let key: PrivateKeyBox

  /// A new random key.
  public init() {
    let key = Curve25519.Signing.PrivateKey()
    seed = Array(key.rawRepresentation)
    verifyingKey = LogVerifyingKey(trusted: Array(key.publicKey.rawRepresentation))
    self.key = PrivateKeyBox(key)
  }

  /// The 32-byte seed (RFC 8032's private key).
  public init(seed: some Sequence<UInt8>) throws {
    let bytes = Array(seed)
    guard bytes.count == 32 else {
      throw TransparencyLogError.malformed("an Ed25519 private key is 32 bytes, got \(bytes.count)")
    }
    let key = try Curve25519.Signing.PrivateKey(rawRepresentation: bytes)
    self.seed = bytes
    verifyingKey = LogVerifyingKey(trusted: Array(key.publicKey.rawRepresentation))
    self.key = PrivateKeyBox(key)
  }

  /// Signs a canonical encoding.
  public func sign(_ encoded: [UInt8]) throws -> SignedStatement {
    SignedStatement(encoded: encoded, keyID: verifyingKey.keyID, signature: Array(try key.key.signature(for: encoded)))
  }
}

/// swift-crypto does not mark the private key `Sendable`; it is an immutable value, and signing
/// with it from several threads at once only reads it.
private final class PrivateKeyBox: @unchecked Sendable {
  let key: Curve25519.Signing.PrivateKey
  init(_ key: Curve25519.Signing.PrivateKey) { self.key = key }
}

/// A public key that checks the centre's signatures, named by its key id: the first 8 bytes of
/// SHA-256 of the 32-byte public key, in lower-case hexadecimal (RECEIPTS.md §4).
public struct LogVerifyingKey: Hashable, Sendable {
  public let publicKey: [UInt8]
  public let keyID: String

  public init(publicKey: some Sequence<UInt8>) throws {
    let bytes = Array(publicKey)
    guard bytes.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)) != nil else {
      throw TransparencyLogError.malformed("an Ed25519 public key is 32 bytes, got \(bytes.count)")
    }
    self.init(trusted: bytes)
  }

  init(trusted bytes: [UInt8]) {
    publicKey = bytes
    keyID = String(MerkleHash(trusted: Array(SHA256.hash(data: bytes))).hex.prefix(16))
  }

  public func isValidSignature(_ statement: SignedStatement) -> Bool {
    guard statement.keyID == keyID,
      let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
    else { return false }
    return key.isValidSignature(statement.signature, for: statement.encoded)
  }
}

/// The centre's public keys, current and retired, as a verifier knows them.
public struct LogKeyRing: Sendable {
  public struct Entry: Sendable {
    public var key: LogVerifyingKey
    /// Retired keys still verify what they signed; the verdict says the key is retired.
    public var retired: Bool

    public init(key: LogVerifyingKey, retired: Bool) {
      self.key = key
      self.retired = retired
    }
  }

  public enum Verdict: Hashable, Sendable {
    /// Signed by a current key.
    case valid(keyID: String)
    /// Signed by a key the centre has retired (rotated away from): the signature is right.
    case validByRetiredKey(keyID: String)
    /// Signed with a key id the ring does not hold.
    case unknownKey(keyID: String)
    /// The signature does not match the bytes under the key it names.
    case badSignature(keyID: String)

    public var isValid: Bool {
      switch self {
      case .valid, .validByRetiredKey: true
      case .unknownKey, .badSignature: false
      }
    }
  }

  public var entries: [Entry]

  public init(_ entries: [Entry]) {
    self.entries = entries
  }

  public func verify(_ statement: SignedStatement) -> Verdict {
    guard let entry = entries.first(where: { $0.key.keyID == statement.keyID }) else {
      return .unknownKey(keyID: statement.keyID)
    }
    guard entry.key.isValidSignature(statement) else { return .badSignature(keyID: statement.keyID) }
    return entry.retired ? .validByRetiredKey(keyID: statement.keyID) : .valid(keyID: statement.keyID)
  }
}
