import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a daemon's state (a node's spool, an aggregator's or a coordinator's
/// store), so that a second daemon on the same state refuses to start instead of running
/// beside the first.
///
/// The lock is `flock(LOCK_EX | LOCK_NB)` on a small file beside the state (`<spool>/.lock`,
/// `<store>.lock`), never on the state itself: SQLite's own locking stays free for the CLI
/// commands that write the store while the daemon runs. The file stays open for the life of the
/// process, so the kernel releases the lock when the process ends in any way (exit, crash,
/// `kill -9`): a stale lock file never blocks a restart, and the file is never removed. The
/// holder writes its PID into the file, and a refused start names it.
public final class StateLock: Sendable {
  /// The lock file.
  public let path: String
  private let descriptor: Int32

  /// A start refused because another process holds the lock. The daemons exit with
  /// ``exitStatus`` on it.
  public struct InUse: Error, CustomStringConvertible, Sendable {
    /// The lock file.
    public var path: String
    /// What the lock guards, for the message ("the spool /var/lib/hitech/spool").
    public var guarding: String
    /// The PID written by the holder, when it could be read.
    public var holderPID: Int32?

    public var description: String {
      let holder = holderPID.map { "process \($0)" } ?? "another process (its PID is not in the file yet)"
      return "\(guarding) is in use: \(path) is locked by \(holder); "
        + "only one daemon may run on it (stop that one first, or give this one its own state)"
    }
  }

  /// The lock file could not be opened or locked (a missing folder, no permission).
  public struct Failure: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var guarding: String
    /// The system's reason (errno text).
    public var reason: String

    public var description: String { "cannot lock \(guarding): \(path): \(reason)" }
  }

  /// The exit status of a daemon refused by the lock: 75 (`EX_TEMPFAIL` in sysexits.h), beside
  /// 78 (`EX_CONFIG`) for a bad configuration.
  public static let exitStatus: Int32 = 75

  /// Takes the lock at `path` (creating the file, mode 0644) or throws ``InUse`` at once: it
  /// never waits for the holder. Throws ``Failure`` when the file cannot be opened or locked.
  /// - Parameter guarding: what the lock guards, named in the refusal's message.
  public init(path: String, guarding: String) throws {
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
    guard fd >= 0 else {
      throw Failure(path: path, guarding: guarding, reason: String(cString: strerror(errno)))
    }
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
      let code = errno
      if code == EINTR { continue }
      let holder = code == EWOULDBLOCK ? Self.readPID(fd) : nil
      close(fd)
      if code == EWOULDBLOCK {
        throw InUse(path: path, guarding: guarding, holderPID: holder)
      }
      throw Failure(path: path, guarding: guarding, reason: "flock: \(String(cString: strerror(code)))")
    }
    let text = Array("\(getpid())\n".utf8)
    _ = ftruncate(fd, 0)
    _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    self.path = path
    self.descriptor = fd
  }

  /// The lock file beside a store file: `<store>.lock`.
  public static func path(besideStore store: String) -> String { store + ".lock" }

  /// The lock file inside a state folder: `<folder>/.lock`.
  public static func path(inFolder folder: String) -> String { folder + "/.lock" }

  /// The PID in a lock file (what the holder wrote), or nil.
  public static func holderPID(path: String) -> Int32? {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    return readPID(fd)
  }

  private static func readPID(_ fd: Int32) -> Int32? {
    var buffer = [UInt8](repeating: 0, count: 32)
    let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard count > 0 else { return nil }
    let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return Int32(text)
  }

  /// Releases the lock (the process ending does too). The file stays.
  deinit {
    close(descriptor)
  }
}
