import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process for the tests, started with `posix_spawn`: the part of Foundation's
/// `Process` the tests use, without Foundation's `Process`.
///
/// Why not `Process`: on Linux, `Process.run()` in this toolchain lists `/proc/self/fd` with a
/// 256-byte copy of each `dirent` and now and then reads past the end of glibc's buffer
/// (swift-corelibs-foundation #5472, fixed upstream after 6.3.1). A suite that starts many child
/// processes crashed about one run in four with "Bad pointer dereference" in `memcpy` inside
/// `Process.run()`. Its SIGCHLD handling also made blocking reads in other threads fail with
/// EINTR, which `FileHandle.readDataToEndOfFile()` turns into a crash.
///
/// The child gets: the given standard streams (a `Pipe`, a `FileHandle`, or `nil` for
/// /dev/null; unset, the test process's own), no other descriptor of the test process (the
/// test process holds pipes of other children and sockets that must not leak), every signal at
/// its default disposition (the test process ignores SIGPIPE and, while in-process daemons run,
/// SIGTERM; ignored signals would survive `exec`), and an empty signal mask. It is reaped by
/// `waitpid` on this object, never by a SIGCHLD handler.
public final class ChildProcess: @unchecked Sendable {
  public var executableURL: URL?
  public var arguments: [String] = []
  /// Unset: the test process's environment.
  public var environment: [String: String]?
  public var currentDirectoryURL: URL?
  /// A `Pipe`, a `FileHandle`, or `nil` for /dev/null. Unset: the test process's stream.
  public var standardInput: Any? = Inherit.stream
  public var standardOutput: Any? = Inherit.stream
  public var standardError: Any? = Inherit.stream

  private enum Inherit { case stream }
  private struct State {
    var pid: pid_t = 0
    var status: CInt?
  }
  private let state = Mutex(State())

  public init() {}

  public var processIdentifier: pid_t { state.withLock { $0.pid } }

  /// Spawns the child. Throws if it cannot be started (no such executable, no such folder).
  public func run() throws {
    guard let path = executableURL?.path else { throw ChildProcessError("no executable set") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }

    for (stream, target) in [(standardInput, STDIN_FILENO), (standardOutput, STDOUT_FILENO), (standardError, STDERR_FILENO)] {
      switch stream {
      case is Inherit:
        break
      case let pipe as Pipe:
        let end = target == STDIN_FILENO ? pipe.fileHandleForReading : pipe.fileHandleForWriting
        posix_spawn_file_actions_adddup2(&actions, end.fileDescriptor, target)
      case let handle as FileHandle:
        posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
      case nil:
        posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == STDIN_FILENO ? O_RDONLY : O_WRONLY, 0)
      default:
        throw ChildProcessError("a standard stream must be a Pipe, a FileHandle or nil")
      }
    }
    try Self.closeFrom(&actions, 3)
    if let directory = currentDirectoryURL { try Self.changeDirectory(&actions, directory.path) }

    var defaults = sigset_t()
    sigfillset(&defaults)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

    let argv = [path] + arguments
    let envp = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
    var pid: pid_t = 0
    let result = Self.withCStrings(argv) { argv in
      Self.withCStrings(envp) { envp in posix_spawn(&pid, path, &actions, &attributes, argv, envp) }
    }
    guard result == 0 else {
      throw ChildProcessError("cannot start \(path): \(String(cString: strerror(result)))")
    }
    state.withLock { $0.pid = pid }
    // The child has its copies; the parent's write end of an output pipe (read end of an input
    // pipe) would otherwise keep the reader from ever seeing end of file.
    for (stream, isInput) in [(standardInput, true), (standardOutput, false), (standardError, false)] {
      guard let pipe = stream as? Pipe else { continue }
      try? (isInput ? pipe.fileHandleForReading : pipe.fileHandleForWriting).close()
    }
  }

  /// Whether the child has not exited yet (reaps it if it has).
  public var isRunning: Bool { reap() == nil }

  /// Blocks until the child exits (polling `waitpid`, so several threads may wait at once).
  public func waitUntilExit() {
    while reap() == nil { usleep(5_000) }
  }

  /// Waits without blocking a thread of the test's executor.
  public func exit() async -> CInt {
    while reap() == nil { try? await Task.sleep(for: .milliseconds(10)) }
    return terminationStatus
  }

  /// The exit code, or the signal number if a signal ended it. Only after the child exited.
  public var terminationStatus: CInt {
    guard let status = reap() else { preconditionFailure("the child process is still running") }
    return Self.exited(status) ? (status >> 8) & 0xff : status & 0x7f
  }

  public var terminationReason: Process.TerminationReason {
    guard let status = reap() else { preconditionFailure("the child process is still running") }
    return Self.exited(status) ? .exit : .uncaughtSignal
  }

  /// SIGTERM.
  public func terminate() { signal(SIGTERM) }

  /// SIGINT.
  public func interrupt() { signal(SIGINT) }

  /// Sends `signal` unless the child has been reaped (its pid may belong to another process).
  public func signal(_ signal: CInt) {
    state.withLock { state in
      if state.pid > 0, state.status == nil { kill(state.pid, signal) }
    }
  }

  /// The wait status once the child has exited, reaping it once.
  private func reap() -> CInt? {
    state.withLock { state in
      if let status = state.status { return status }
      guard state.pid > 0 else { return nil }
      var status: CInt = 0
      var result: pid_t
      repeat { result = waitpid(state.pid, &status, WNOHANG) } while result == -1 && errno == EINTR
      guard result == state.pid else { return nil }
      state.status = status
      return status
    }
  }

  private static func exited(_ status: CInt) -> Bool { status & 0x7f == 0 }

  private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
  }

  // glibc has both since 2.34 / 2.29, but its headers declare them for _GNU_SOURCE only, which
  // the Swift Glibc module does not see: found by name instead.
  private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, CInt) -> CInt
  private typealias AddChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> CInt

  private static func closeFrom(_ actions: inout posix_spawn_file_actions_t, _ descriptor: CInt) throws {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
      throw ChildProcessError("this C library lacks posix_spawn_file_actions_addclosefrom_np (glibc 2.34+)")
    }
    let result = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, descriptor)
    guard result == 0 else { throw ChildProcessError("posix_spawn_file_actions_addclosefrom_np: \(result)") }
  }

  private static func changeDirectory(_ actions: inout posix_spawn_file_actions_t, _ path: String) throws {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else {
      throw ChildProcessError("this C library lacks posix_spawn_file_actions_addchdir_np (glibc 2.29+)")
    }
    let result = unsafeBitCast(symbol, to: AddChangeDirectory.self)(&actions, path)
    guard result == 0 else { throw ChildProcessError("posix_spawn_file_actions_addchdir_np: \(result)") }
  }
}

public struct ChildProcessError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

extension FileHandle {
  /// Everything until end of file, retrying reads a signal interrupted (where
  /// `readDataToEndOfFile()` would crash on EINTR).
  public func readToEndRetryingInterrupts() -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = buffer.withUnsafeMutableBytes { Glibc.read(fileDescriptor, $0.baseAddress, $0.count) }
      if count > 0 {
        data.append(contentsOf: buffer[0..<count])
      } else if count == 0 || errno != EINTR {
        return data
      }
    }
  }
}
