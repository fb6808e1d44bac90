import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Watches outbox/ with Linux inotify, without polling: a dedicated thread blocks in `poll`
/// on the inotify descriptor (and a pipe that ``stop()`` writes to), outside Swift's
/// cooperative pool, and delivers events to async code through ``events``.
///
/// It reports `IN_MOVED_TO` (a file renamed in: the atomic-drop convention) and
/// `IN_CLOSE_WRITE` (a file written in place and closed) for eligible names only
/// (``OutboxNaming/isEligible(_:)``): `x.json.tmp` is never reported, its rename to `x.json` is.
/// `IN_CREATE` is reported only for an entry that is not a regular file (a FIFO, socket,
/// device, directory or symbolic link made in place: none of them is ever closed after a
/// write), so that the spool quarantines it at once; a regular file created in place is
/// reported when it is closed.
/// The first event is always ``Event/rescan``, delivered once the watch is in place: the
/// consumer then scans the whole folder (``Spool/claimPending()``) and misses nothing dropped
/// while the node was down or while it started. An inotify queue overflow is reported as
/// ``Event/rescan`` too.
public final class OutboxWatcher: Sendable {
  public enum Event: Sendable, Hashable {
    /// A complete file appeared (its name in outbox/).
    case file(String)
    /// Scan the whole folder: at start, and when the kernel dropped events.
    case rescan
  }

  public let directory: String
  /// The events, in order. Finishes after ``stop()``.
  public let events: AsyncStream<Event>
  private let continuation: AsyncStream<Event>.Continuation
  private let inotifyFD: Int32
  private let stopPipe: (read: Int32, write: Int32)
  private let finished = OutboxWatcherDone()

  // inotify(7) constants, spelled out (the Glibc module does not import all of them).
  static let inCloseWrite: UInt32 = 0x0000_0008
  static let inMovedTo: UInt32 = 0x0000_0080
  static let inCreate: UInt32 = 0x0000_0100
  static let inIsDir: UInt32 = 0x4000_0000
  static let inQueueOverflow: UInt32 = 0x0000_4000
  static let inIgnored: UInt32 = 0x0000_8000

  /// Starts watching `directory` (which must exist).
  public init(directory: String) throws {
    self.directory = directory
    let fd = inotify_init1(Int32(O_CLOEXEC))
    guard fd >= 0 else { throw SpoolError(code: .watcher, message: "inotify_init1: \(String(cString: strerror(errno)))") }
    guard inotify_add_watch(fd, directory, Self.inCloseWrite | Self.inMovedTo | Self.inCreate) >= 0 else {
      let message = "inotify_add_watch \(directory): \(String(cString: strerror(errno)))"
      close(fd)
      throw SpoolError(code: .watcher, message: message)
    }
    var pipeFDs: [Int32] = [0, 0]
    guard pipe(&pipeFDs) == 0 else {
      close(fd)
      throw SpoolError(code: .watcher, message: "pipe: \(String(cString: strerror(errno)))")
    }
    for pipeFD in pipeFDs { _ = fcntl(pipeFD, F_SETFD, FD_CLOEXEC) }
    inotifyFD = fd
    stopPipe = (pipeFDs[0], pipeFDs[1])
    let (stream, continuation) = AsyncStream<Event>.makeStream()
    events = stream
    self.continuation = continuation
    continuation.yield(.rescan)
    let stopRead = pipeFDs[0]
    let done = finished
    let thread = Thread {
      Self.run(directory: directory, inotifyFD: fd, stopFD: stopRead, continuation: continuation)
      done.signal()
    }
    thread.name = "outbox-watcher"
    thread.start()
    let stopWrite = pipeFDs[1]
    continuation.onTermination = { _ in
      var byte: UInt8 = 1
      _ = write(stopWrite, &byte, 1)
    }
  }

  /// Stops the thread, finishes ``events`` and closes the descriptors. Idempotent.
  public func stop() {
    var byte: UInt8 = 1
    _ = write(stopPipe.write, &byte, 1)
    finished.wait()
  }

  deinit {
    stop()
    close(inotifyFD)
    close(stopPipe.read)
    close(stopPipe.write)
  }

  private static func run(directory: String, inotifyFD: Int32, stopFD: Int32, continuation: AsyncStream<Event>.Continuation) {
    defer { continuation.finish() }
    let capacity = 64 * 1024
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    defer { buffer.deallocate() }
    var fds = [
      pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0),
      pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0),
    ]
    while true {
      fds[0].revents = 0
      fds[1].revents = 0
      let ready = poll(&fds, 2, -1)
      if ready < 0 {
        if errno == EINTR { continue }
        return
      }
      if fds[1].revents != 0 { return }
      guard fds[0].revents != 0 else { continue }
      let count = read(inotifyFD, buffer, capacity)
      if count < 0 {
        if errno == EINTR || errno == EAGAIN { continue }
        return
      }
      var offset = 0
      while offset + 16 <= count {
        let event = buffer.advanced(by: offset)
        let mask = event.load(fromByteOffset: 4, as: UInt32.self)
        let length = Int(event.load(fromByteOffset: 12, as: UInt32.self))
        if mask & inQueueOverflow != 0 {
          continuation.yield(.rescan)
        } else if mask & inIgnored != 0 {
          return  // the directory itself went away
        } else if length > 0 {
          let name = String(cString: event.advanced(by: 16).assumingMemoryBound(to: CChar.self))
          if OutboxNaming.isEligible(name) {
            if mask & inCreate == 0 || mask & inIsDir != 0 {
              continuation.yield(.file(name))
            } else {
              // Created in place: a regular file is reported when closed; anything else now.
              var info = stat()
              if lstat(directory + "/" + name, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
                continuation.yield(.file(name))
              }
            }
          }
        }
        offset += 16 + length
      }
    }
  }
}

/// A one-shot "the thread has finished" flag that ``OutboxWatcher/stop()`` waits on.
final class OutboxWatcherDone: @unchecked Sendable {
  private let condition = NSCondition()
  private var done = false

  func signal() {
    condition.lock()
    done = true
    condition.broadcast()
    condition.unlock()
  }

  func wait() {
    condition.lock()
    while !done { condition.wait() }
    condition.unlock()
  }
}
