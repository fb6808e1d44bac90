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

  /// Flushes a directory's contents and metadata to stable storage (the spool's own folders,
  /// which may be symbolic links to folders on the same file system).
  static func fsync(_ path: String) throws {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw error("open", path) }
    defer { close(fd) }
    guard Glibc.fsync(fd) == 0 else { throw error("fsync", path) }
  }

  /// Flushes a file's contents and metadata to stable storage. Never blocks on a file that is
  /// not a regular file (a FIFO would wait for a writer forever): such a file, or a symbolic
  /// link, holds no data of ours and is left alone (the claim then quarantines it).
  static func fsyncFile(_ path: String) throws {
    guard case .regular = try kind(path) else { return }
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else {
      if errno == ENOENT || errno == ELOOP { return }
      throw error("open", path)
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw error("fstat", path) }
    guard FileKind(mode: info.st_mode) == .regular else { return }
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

  /// Whether a directory entry of this name exists (a dangling symbolic link exists).
  static func exists(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0
  }

  /// What kind of file the directory entry is (`lstat`: a symbolic link is not followed), or
  /// nil when there is none.
  static func kind(_ path: String) throws -> FileKind? {
    var info = stat()
    guard lstat(path, &info) == 0 else {
      if errno == ENOENT { return nil }
      throw error("lstat", path)
    }
    return FileKind(mode: info.st_mode)
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

  /// Reads a whole regular file. Never blocks and never follows a link: the entry is checked
  /// with `lstat` first, opened with `O_NONBLOCK | O_NOFOLLOW` (a FIFO swapped in meanwhile
  /// cannot make `open` wait for a writer) and checked again with `fstat` before any read.
  /// Anything else throws ``SpoolError/Code/notRegularFile`` with the true kind in its
  /// message ("not a regular file: FIFO").
  static func read(_ path: String) throws -> [UInt8] {
    guard let kind = try kind(path) else { throw error("open", path, ENOENT) }
    guard kind == .regular else { throw notRegular(kind, path) }
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else {
      let code = errno
      if code == ELOOP { throw notRegular(.symbolicLink, path) }
      throw error("open", path, code)
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw error("fstat", path) }
    let opened = FileKind(mode: info.st_mode)
    guard opened == .regular else { throw notRegular(opened, path) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(max(info.st_size, 0)) + 1)
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR || errno == EAGAIN { continue }
        throw error("read", path)
      }
      if count == 0 { return bytes }
      bytes.append(contentsOf: chunk[0..<count])
    }
  }

  private static func notRegular(_ kind: FileKind, _ path: String) -> SpoolError {
    var message = "not a regular file: \(kind)"
    if kind == .symbolicLink {
      var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
      let length = readlink(path, &target, target.count - 1)
      if length >= 0 {
        target[length] = 0
        message += " (to \(String(cString: target)))"
      }
      message += "; links are never followed"
    } else if kind == .fifo {
      message += "; a FIFO is never opened (reading it would wait for a writer)"
    }
    return SpoolError(code: .notRegularFile, message: message)
  }
}

/// The kind of a directory entry, as `lstat` tells it.
enum FileKind: Sendable, Hashable, CustomStringConvertible {
  case regular, directory, fifo, socket, symbolicLink, characterDevice, blockDevice, unknown

  init(mode: mode_t) {
    switch mode & S_IFMT {
    case S_IFREG: self = .regular
    case S_IFDIR: self = .directory
    case S_IFIFO: self = .fifo
    case S_IFSOCK: self = .socket
    case S_IFLNK: self = .symbolicLink
    case S_IFCHR: self = .characterDevice
    case S_IFBLK: self = .blockDevice
    default: self = .unknown
    }
  }

  var description: String {
    switch self {
    case .regular: "regular file"
    case .directory: "directory"
    case .fifo: "FIFO"
    case .socket: "socket"
    case .symbolicLink: "symbolic link"
    case .characterDevice: "character device"
    case .blockDevice: "block device"
    case .unknown: "unknown file type"
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
