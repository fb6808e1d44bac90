import Foundation

/// The check every secret key file gets before it is read: it exists and neither group nor
/// others may read or write it (mode 0600 or stricter).
enum OwnerOnlyFile {
  /// Why `path` may not hold a secret, naming the file as `what`; nil when it may.
  static func problem(_ path: String, what: String) -> String? {
    let attributes: [FileAttributeKey: Any]
    do {
      attributes = try FileManager.default.attributesOfItem(atPath: path)
    } catch {
      return "cannot read the \(what) (\(error.localizedDescription))"
    }
    let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
    guard mode & 0o077 == 0 else {
      return "the \(what) has mode \(String(mode, radix: 8)); it must be 0600 or stricter (chmod 600 \(path))"
    }
    return nil
  }
}
