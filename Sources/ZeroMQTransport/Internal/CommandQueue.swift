import Synchronization
import ZeroMQ

/// Commands from async code to a socket-owning thread: a locked queue plus an eventfd that
/// the thread polls beside its sockets. Enqueuing never blocks and never touches a socket.
///
/// Wake-ups are batched: the eventfd is written at most once between two drains, however
/// many commands arrive meanwhile, and a command that can wait (``enqueue(_:wake:)`` with
/// `wake: false`) wakes nobody: it is handled with the next command that does, or at the
/// thread's next timer.
final class CommandQueue<Command: Sendable>: Sendable {
  private struct State {
    var commands: [Command] = []
    /// The eventfd was written since the last drain.
    var signalled = false
  }

  private let state = Mutex(State())
  let wakeup: EventFD

  init() throws {
    wakeup = try EventFD()
  }

  /// Queues `command`. With `wake: false` the thread is not woken for it: use that only for a
  /// command that is followed by one that wakes the thread, or that may wait for the thread's
  /// next timer.
  func enqueue(_ command: Command, wake: Bool = true) {
    let signal = state.withLock { state in
      state.commands.append(command)
      guard wake, !state.signalled else { return false }
      state.signalled = true
      return true
    }
    if signal { wakeup.signal() }
  }

  /// Takes every queued command (called by the owning thread after its poll returns;
  /// `woken`: the poll reported the eventfd readable).
  func drain(woken: Bool = true) -> [Command] {
    if woken { wakeup.drain() }
    return state.withLock { state in
      state.signalled = false
      defer { state.commands.removeAll(keepingCapacity: true) }
      return state.commands
    }
  }
}
