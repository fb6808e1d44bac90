import Foundation
public import TransparencyLog

/// The aggregator's receipt signing key on disk (proto-schemas/RECEIPTS.md §4): the secret file
/// holds the 32-byte Ed25519 seed as 64 hexadecimal digits on one line and must be readable by
/// its owner only (mode 0600 or stricter, like the CURVE secret key); beside it `<file>.pub`
/// holds the public key the same way, for verifiers.
public enum ReceiptSigningKeyFile {
  public struct Problem: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
  }

  /// Reads the key; refuses a file that group or others may read or write.
  public static func read(_ path: String) throws -> LogSigningKey {
    if let problem = OwnerOnlyFile.problem(path, what: "receipt signing key file") {
      throw Problem(path: path, reason: problem)
    }
    guard let data = FileManager.default.contents(atPath: path), data.count < 1024,
      let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
      let seed = MerkleHash(hex: text)
    else {
      throw Problem(path: path, reason: "not a receipt signing key: expected one line of 64 hexadecimal digits")
    }
    return try LogSigningKey(seed: seed.bytes)
  }

  /// Reads a public key file (`.pub`): 64 hexadecimal digits.
  public static func readPublicKey(_ path: String) throws -> LogVerifyingKey {
    guard let data = FileManager.default.contents(atPath: path), data.count < 1024,
      let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
      let bytes = MerkleHash(hex: text)
    else {
      throw Problem(path: path, reason: "not a receipt verifying key: expected one line of 64 hexadecimal digits")
    }
    do {
      return try LogVerifyingKey(publicKey: bytes.bytes)
    } catch {
      throw Problem(path: path, reason: "not an Ed25519 public key (\(error))")
    }
  }

  /// Writes a new key at `path` (0600) and its public key at `path.pub`; refuses to overwrite.
  @discardableResult
  public static func generate(at path: String) throws -> LogSigningKey {
    let key = LogSigningKey()
    let directory = (path as NSString).deletingLastPathComponent
    if !directory.isEmpty {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
    for file in [path, path + ".pub"] where FileManager.default.fileExists(atPath: file) {
      throw Problem(path: file, reason: "already exists; remove it first to replace the key")
    }
    guard
      FileManager.default.createFile(
        atPath: path, contents: Data((MerkleHash(key.seed)!.hex + "\n").utf8), attributes: [.posixPermissions: 0o600])
    else {
      throw Problem(path: path, reason: "cannot create the file")
    }
    guard
      FileManager.default.createFile(
        atPath: path + ".pub", contents: Data((MerkleHash(key.verifyingKey.publicKey)!.hex + "\n").utf8),
        attributes: [.posixPermissions: 0o644])
    else {
      throw Problem(path: path + ".pub", reason: "cannot create the file")
    }
    return key
  }

  /// Reads the key at `path`, creating it (and `path.pub`) first when there is none, as an SSH
  /// server does with its host keys. Returns whether it was created.
  public static func readOrCreate(_ path: String) throws -> (key: LogSigningKey, created: Bool) {
    if FileManager.default.fileExists(atPath: path) { return (try read(path), false) }
    return (try generate(at: path), true)
  }
}
