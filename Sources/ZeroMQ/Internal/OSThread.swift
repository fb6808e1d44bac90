import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// A dedicated OS thread, for code that must block (a `zmq_poll` loop) or that owns a
/// non-thread-safe socket, outside Swift's cooperative pool.
package final class OSThread: Sendable {
  private final class Body {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
  }

  // Written once in init, before the thread is visible to anyone else.
  nonisolated(unsafe) private var thread: pthread_t

  /// Starts `body` on a new thread named `name` (at most 15 characters are kept).
  package init(name: String, _ body: @escaping @Sendable () -> Void) {
    let threadName = String(name.prefix(15))
    let box = Unmanaged.passRetained(Body {
      czmq_set_current_thread_name(threadName)
      body()
    }).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { argument in
      let body = Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue()
      body.run()
      return nil
    }, box)
    precondition(result == 0, "pthread_create failed with \(result)")
    self.thread = thread
  }

  /// Waits for the thread to finish. Call once.
  package func join() {
    pthread_join(thread, nil)
  }
}

/// A one-shot signal between threads that a blocking caller waits on (not for async code).
package final class OSSignal: Sendable {
  nonisolated(unsafe) private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  nonisolated(unsafe) private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  nonisolated(unsafe) private var signalled = false

  package init() {
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
  }

  deinit {
    pthread_cond_destroy(condition)
    pthread_mutex_destroy(mutex)
    condition.deallocate()
    mutex.deallocate()
  }

  package func signal() {
    pthread_mutex_lock(mutex)
    signalled = true
    pthread_cond_broadcast(condition)
    pthread_mutex_unlock(mutex)
  }

  package func wait() {
    pthread_mutex_lock(mutex)
    while !signalled { pthread_cond_wait(condition, mutex) }
    pthread_mutex_unlock(mutex)
  }
}
