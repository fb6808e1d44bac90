#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension ResultsPublication {
  /// Writes the rendered files into `folder` (created if missing, mode 0755). Each file is
  /// replaced atomically: written to a hidden temporary file in the same folder, fsync'd, then
  /// renamed over the old one; the folder is fsync'd afterwards. A file whose bytes are already
  /// those on disk is left alone (its modification time does not change).
  /// - Returns: the names of the files written, sorted.
  @discardableResult
  public static func write(_ files: [String: [UInt8]], to folder: String) throws(PublicationError) -> [String] {
    for name in files.keys where name.isEmpty || name.hasPrefix(".") || name.contains("/") || name.contains("\0") {
      throw PublicationError(path: name, operation: "name", detail: "a published file name must be a plain name, not hidden")
    }
    try makeDirectories(folder)
    var written: [String] = []
    for name in files.keys.sorted() {
      let bytes = files[name]!
      let path = folder + "/" + name
      if let existing = readFile(path), existing == bytes { continue }
      let temporary = folder + "/." + name + ".tmp"
      let fd = posixOpen(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
      guard fd >= 0 else { throw .current(temporary, "open") }
      do throws(PublicationError) {
        var offset = 0
        while offset < bytes.count {
          let n = bytes.withUnsafeBytes { posixWrite(fd, $0.baseAddress! + offset, $0.count - offset) }
          if n < 0 {
            if errno == EINTR { continue }
            throw .current(temporary, "write")
          }
          offset += n
        }
        guard fsync(fd) == 0 else { throw PublicationError.current(temporary, "fsync") }
      } catch {
        _ = close(fd)
        _ = unlink(temporary)
        throw error
      }
      guard close(fd) == 0 else {
        let failure = PublicationError.current(temporary, "close")
        _ = unlink(temporary)
        throw failure
      }
      guard rename(temporary, path) == 0 else {
        let failure = PublicationError.current(path, "rename")
        _ = unlink(temporary)
        throw failure
      }
      written.append(name)
    }
    if !written.isEmpty {
      let dirFD = posixOpen(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
      guard dirFD >= 0 else { throw .current(folder, "open") }
      defer { _ = close(dirFD) }
      guard fsync(dirFD) == 0 else { throw .current(folder, "fsync") }
    }
    return written
  }

  /// mkdir -p, mode 0755.
  private static func makeDirectories(_ folder: String) throws(PublicationError) {
    var path = folder.hasPrefix("/") ? "" : "."
    for component in folder.split(separator: "/") {
      path += "/" + component
      if mkdir(path, 0o755) != 0, errno != EEXIST { throw .current(path, "mkdir") }
    }
  }

  /// The whole file, or `nil` when it cannot be read.
  private static func readFile(_ path: String) -> [UInt8]? {
    let fd = posixOpen(path, O_RDONLY | O_CLOEXEC, 0)
    guard fd >= 0 else { return nil }
    defer { _ = close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let n = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress!, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        return nil
      }
      if n == 0 { return bytes }
      bytes += chunk[0..<n]
    }
  }
}

/// Publishing failed: which path, which operation, and the system's reason.
public struct PublicationError: Error, Sendable, Hashable, CustomStringConvertible {
  public var path: String
  public var operation: String
  public var detail: String

  public var description: String { "\(operation) \(path): \(detail)" }

  static func current(_ path: String, _ operation: String) -> PublicationError {
    PublicationError(path: path, operation: operation, detail: String(cString: strerror(errno)))
  }
}

// The system calls under other names: `write` and `read` are taken inside ResultsPublication.
private func posixOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
