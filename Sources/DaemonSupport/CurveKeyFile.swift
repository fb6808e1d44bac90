import Foundation
public import ZeroMQ

/// CURVE keys on disk: a secret key file holds the 40-character Z85 secret key and must be
/// readable by its owner only (mode 0600 or stricter); a public key file holds the Z85 public
/// key. Both are single lines of text, so operators can read, copy and register public keys.
public enum CurveKeyFile {
  /// Why a key file cannot be used.
  public struct Problem: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
  }

  /// Reads a secret key file and derives its key pair. Refuses a file that group or others
  /// may read or write.
  public static func readKeyPair(secretKeyPath path: String) throws -> CurveKeyPair {
    if let problem = OwnerOnlyFile.problem(path, what: "secret key file") {
      throw Problem(path: path, reason: problem)
    }
    let secret = try readKey(path, kind: "secret")
    do {
      return try CurveKeyPair(secretKey: secret)
    } catch {
      throw Problem(path: path, reason: "not a CURVE secret key: \(error)")
    }
  }

  /// Reads a public key file.
  public static func readPublicKey(_ path: String) throws -> CurveKey {
    try readKey(path, kind: "public")
  }

  /// Writes a new key pair as `<name>.key` (mode 0600) and `<name>.pub` in `directory`.
  /// Refuses to overwrite existing files.
  @discardableResult
  public static func generate(name: String, in directory: String) throws -> (secretKeyPath: String, publicKeyPath: String, keyPair: CurveKeyPair) {
    let pair = try CurveKeyPair.generate()
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let secretPath = (directory as NSString).appendingPathComponent("\(name).key")
    let publicPath = (directory as NSString).appendingPathComponent("\(name).pub")
    for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
      throw Problem(path: path, reason: "already exists; remove it first to replace the key")
    }
    guard FileManager.default.createFile(
      atPath: secretPath,
      contents: Data((pair.secretKey.z85 + "\n").utf8),
      attributes: [.posixPermissions: 0o600]
    ) else {
      throw Problem(path: secretPath, reason: "cannot create the file")
    }
    guard FileManager.default.createFile(
      atPath: publicPath,
      contents: Data((pair.publicKey.z85 + "\n").utf8),
      attributes: [.posixPermissions: 0o644]
    ) else {
      throw Problem(path: publicPath, reason: "cannot create the file")
    }
    return (secretPath, publicPath, pair)
  }

  private static func readKey(_ path: String, kind: String) throws -> CurveKey {
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
      throw Problem(path: path, reason: "cannot read the \(kind) key file")
    }
    do {
      return try CurveKey(z85: text)
    } catch {
      throw Problem(path: path, reason: "does not hold a 40-character Z85 \(kind) key")
    }
  }
}
