import Synchronization
import ZeroMQ

/// Commands from async code to a socket-owning thread: a locked queue plus an eventfd that
/// the thread polls beside its sockets. Enqueuing never blocks and never touches a socket.
final class CommandQueue<Command: Sendable>: Sendable {
  private let commands = Mutex<[Command]>([])
  let wakeup: EventFD

  init() throws {
    wakeup = try EventFD()
  }

  func enqueue(_ command: Command) {
    let wasEmpty = commands.withLock { commands in
      commands.append(command)
      return commands.count == 1
    }
    if wasEmpty { wakeup.signal() }
  }

  /// Takes every queued command (called by the owning thread after its poll wakes).
  func drain() -> [Command] {
    wakeup.drain()
    return commands.withLock { commands in
      defer { commands.removeAll(keepingCapacity: true) }
      return commands
    }
  }
}
