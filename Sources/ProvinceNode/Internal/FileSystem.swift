import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX calls the spool's durability rests on: rename, fsync of files and
/// directories, atomic writes. Each throws a ``SpoolError`` naming the path and errno.
enum FileSystem {
  static func error(_ operation: String, _ path: String, _ code: Int32 = errno) -> SpoolError {
    SpoolError(code: .io, message: "\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))")
  }

  /// Renames within one file system (atomic). Returns false when `from` does not exist.
  @discardableResult
  static func rename(_ from: String, _ to: String) throws -> Bool {
    if Glibc.rename(from, to) == 0 { return true }
    let code = errno
    if code == ENOENT { return false }
    throw error("rename to \(to):", from, code)
  }

  /// Flushes a file's or a directory's contents and metadata to stable storage.
  static func fsync(_ path: String) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw error("open", path) }
    defer { close(fd) }
    guard Glibc.fsync(fd) == 0 else { throw error("fsync", path) }
  }

  /// Writes `bytes` to `directory/.name.tmp`, fsyncs it and renames it to `directory/name`.
  /// The caller fsyncs `directory` (once for a batch).
  static func writeAtomically(_ bytes: [UInt8], directory: String, name: String) throws {
    let temporary = directory + "/." + name + ".tmp"
    let target = directory + "/" + name
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw error("open", temporary) }
    do {
      try writeAll(fd, bytes, path: temporary)
      guard Glibc.fsync(fd) == 0 else { throw error("fsync", temporary) }
      close(fd)
    } catch {
      close(fd)
      unlink(temporary)
      throw error
    }
    try rename(temporary, target)
  }

  static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes { buffer in
        write(fd, buffer.baseAddress! + offset, buffer.count - offset)
      }
      if written < 0 {
        if errno == EINTR { continue }
        throw error("write", path)
      }
      offset += written
    }
  }

  static func exists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0
  }

  static func size(_ path: String) -> Int64? {
    var info = stat()
    return stat(path, &info) == 0 ? Int64(info.st_size) : nil
  }

  /// The names in a directory (no "." and ".."), unsorted.
  static func names(in directory: String) throws -> [String] {
    guard let dir = opendir(directory) else { throw error("opendir", directory) }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
        pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }

  static func makeDirectory(_ path: String) throws {
    if mkdir(path, 0o755) != 0 && errno != EEXIST { throw error("mkdir", path) }
  }

  static func read(_ path: String) throws -> [UInt8] {
    do {
      return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw SpoolError(code: .io, message: "read \(path)", cause: error)
    }
  }
}

/// The spool's file system calls, as named to a ``FaultInjector``.
enum FileOperation: String, Sendable {
  /// Reading a file in claimed/ to judge it (claim, recovery).
  case readToJudge
  /// Reading a claimed file to send it (``Spool/next()``).
  case readToSend
  /// A rename; the path is the destination.
  case rename
  case fsync
  /// An atomic write (sidecars: receipt, rejection report, reason).
  case write
  /// An append to the journal; the path is the journal's.
  case journal
}

/// Tests only: decides whether one of the spool's file system calls fails, and with which
/// errno (nil: it runs normally). Set on a spool with ``Spool/faultInjector`` to simulate
/// unreadable files, a full disk or an I/O error without root-proof file modes.
typealias FaultInjector = @Sendable (_ operation: FileOperation, _ path: String) -> Int32?
