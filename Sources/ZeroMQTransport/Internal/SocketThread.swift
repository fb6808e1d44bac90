import DequeModule
import Synchronization
import ZeroMQ

/// The part of a transport that lives on its socket thread: made on that thread (sockets
/// belong to the thread that uses them) and run there until it is told to stop.
protocol SocketLoop: AnyObject, SendableMetatype {
  func run()
}

/// A transport's socket thread, seen from async code: the command queue into it, and a way
/// to stop it and wait for it.
final class SocketThread<Command: Sendable>: Sendable {
  let commands: CommandQueue<Command>
  private let thread = Mutex<OSThread?>(nil)

  private init(commands: CommandQueue<Command>) {
    self.commands = commands
  }

  /// Starts a thread named `name` that makes its loop with `makeLoop`, reports `started(loop)`
  /// back to the caller, then runs the loop. Throws what `makeLoop` throws (bad endpoint,
  /// bind failure), in which case no loop runs.
  static func start<Loop: SocketLoop, Started: Sendable>(
    name: String,
    makeLoop: @escaping @Sendable (CommandQueue<Command>) throws -> Loop,
    started: @escaping @Sendable (Loop) -> Started
  ) async throws -> (SocketThread, Started) {
    let socketThread = SocketThread(commands: try CommandQueue())
    let commands = socketThread.commands
    let value: Started = try await withCheckedThrowingContinuation { continuation in
      let thread = OSThread(name: name) {
        let loop: Loop
        do {
          loop = try makeLoop(commands)
        } catch {
          continuation.resume(throwing: error)
          return
        }
        continuation.resume(returning: started(loop))
        loop.run()
      }
      socketThread.thread.withLock { $0 = thread }
    }
    return (socketThread, value)
  }

  /// Sends the stop command that `makeCommand` builds around a continuation, which the loop
  /// resumes as its last act, then joins the thread.
  func stop(_ makeCommand: (CheckedContinuation<Void, Never>) -> Command) async {
    await withCheckedContinuation { continuation in
      commands.enqueue(makeCommand(continuation))
    }
    let thread = self.thread.withLock { value -> OSThread? in
      defer { value = nil }
      return value
    }
    thread?.join()
  }
}

/// Messages a socket could not take yet (`EAGAIN` at the high-water mark or before a
/// connection completes), kept in order and retried before anything newer is sent.
struct OutboundQueue {
  private var pending = Deque<[ZMQMessage]>()

  var isEmpty: Bool { pending.isEmpty }

  /// Sends `frames` now if nothing is waiting and libzmq takes them, else queues them.
  /// Throws what libzmq reports other than `EAGAIN`; the message is then dropped.
  mutating func send(_ frames: [ZMQMessage], on socket: ZMQSocket) throws {
    if pending.isEmpty, try socket.send(frames, dontWait: true) { return }
    pending.append(frames)
  }

  /// Sends queued messages until libzmq would block. A message libzmq refuses is dropped
  /// and reported to `failed`.
  mutating func flush(on socket: ZMQSocket, failed: ([ZMQMessage], any Error) -> Void) {
    while let frames = pending.first {
      do {
        guard try socket.send(frames, dontWait: true) else { return }
      } catch {
        failed(frames, error)
      }
      pending.removeFirst()
    }
  }

  mutating func removeAll() {
    pending.removeAll()
  }
}

extension ZMQSocket {
  /// Receives the messages waiting now, at most `limit` (so one busy peer cannot starve the
  /// loop's other work), handing each to `body`. Returns the error that stopped it, if any.
  func receiveWaiting(limit: Int = 1024, _ body: ([ZMQMessage]) -> Void) -> (any Error)? {
    for _ in 0..<limit {
      do {
        guard let frames = try receiveMultipart(dontWait: true) else { return nil }
        body(frames)
      } catch {
        return error
      }
    }
    return nil
  }
}
