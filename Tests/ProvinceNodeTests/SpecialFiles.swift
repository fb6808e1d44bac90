import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Makes the directory entries a producer (or a mistake) can leave in outbox/ that are not
/// regular files, and runs a blocking call with a bound, so that a test of "never blocks" fails
/// instead of hanging when the code under test does block.
enum SpecialFiles {
  static func fifo(_ path: String) throws {
    guard mkfifo(path, 0o644) == 0 else { throw TestFailure("mkfifo \(path): errno \(errno)") }
  }

  static func symlink(_ path: String, to target: String) throws {
    guard Glibc.symlink(target, path) == 0 else { throw TestFailure("symlink \(path): errno \(errno)") }
  }

  static func directory(_ path: String) throws {
    guard mkdir(path, 0o755) == 0 else { throw TestFailure("mkdir \(path): errno \(errno)") }
  }

  /// A listening Unix domain socket bound at `path`; returns its descriptor (close it when done).
  static func socket(_ path: String) throws -> Int32 {
    let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8) + [0]
    guard bytes.count <= MemoryLayout.size(ofValue: address.sun_path) else {
      close(fd)
      throw TestFailure("socket path too long: \(path)")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0 else {
      close(fd)
      throw TestFailure("bind \(path): errno \(errno)")
    }
    return fd
  }

  /// The kind of `path` without following a link: "fifo", "socket", "link", "directory",
  /// "regular", or nil when absent.
  static func kind(_ path: String) -> String? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    switch info.st_mode & S_IFMT {
    case S_IFIFO: return "fifo"
    case S_IFSOCK: return "socket"
    case S_IFLNK: return "link"
    case S_IFDIR: return "directory"
    case S_IFREG: return "regular"
    default: return "other"
    }
  }
}

/// Runs `body` on a thread of its own and waits at most `seconds` for it: a call that blocks
/// (e.g. `open` of a FIFO waiting for a writer) fails the test instead of hanging it. The
/// thread of a call that did not return is left behind.
func withinSeconds<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
  let box = ResultBox<T>()
  let done = DispatchSemaphore(value: 0)
  let thread = Thread {
    box.result = Result { try body() }
    done.signal()
  }
  thread.start()
  guard done.wait(timeout: .now() + seconds) == .success, let result = box.result else {
    throw TestFailure("\(what) did not return within \(seconds) s (blocked)")
  }
  return try result.get()
}

/// A result handed from one thread to another (guarded by the semaphore that signals it).
final class ResultBox<T>: @unchecked Sendable {
  var result: Result<T, any Error>?
}
