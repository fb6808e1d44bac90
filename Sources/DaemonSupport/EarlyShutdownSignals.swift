import Dispatch
public import ServiceLifecycle
public import UnixSignals
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Catches a daemon's shutdown signals from the first line of its `run` on, so that SIGTERM or
/// SIGINT arriving while it still starts (reads keys, takes its state lock, opens its store)
/// stops it cleanly instead of killing it with the signal's default action (exit 143).
///
/// ``install(_:)`` sets the signals to be ignored — as swift-service-lifecycle itself does
/// before it listens for them — and listens with a dispatch source of its own, remembering any
/// signal that arrives. Once the daemon has made its `ServiceGroup`, ``forward(to:)`` asks the
/// group for a graceful shutdown for a signal that came earlier and for every later one (the
/// group's own handlers take them too; asking twice is harmless). A group asked before it runs
/// starts its services and stops them at once, so the daemon ends as after any SIGTERM:
/// exit status 0, state lock released, store closed.
public final class EarlyShutdownSignals: Sendable {
  private struct State {
    var received: UnixSignal?
    var target: (@Sendable (UnixSignal) -> Void)?
  }

  private let state = Mutex(State())
  /// The dispatch sources, kept alive (and never cancelled) with the latch.
  nonisolated(unsafe) private var sources: [any DispatchSourceSignal] = []

  private init() {}

  /// Starts catching `signals` (none: nothing is done, e.g. for a daemon run inside tests).
  /// The latch and its dispatch sources live as long as the process (each source's handler
  /// holds the latch), so no signal is missed however long the daemon takes to start.
  public static func install(_ signals: [UnixSignal]) -> EarlyShutdownSignals {
    let latch = EarlyShutdownSignals()
    var sources: [any DispatchSourceSignal] = []
    for unixSignal in signals {
      signal(unixSignal.rawValue, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: unixSignal.rawValue, queue: .global())
      source.setEventHandler { [latch] in latch.caught(unixSignal) }
      source.resume()
      sources.append(source)
    }
    latch.sources = sources  // before anyone else can see the latch
    return latch
  }

  /// The first signal caught so far, if any.
  public var received: UnixSignal? { state.withLock { $0.received } }

  /// From now on every caught signal, and one caught before, triggers `group`'s graceful shutdown.
  /// `deadline`, when given, is armed too: a signal caught here never reaches the deadline's
  /// own listener, and the daemon must still end within its grace period and margin.
  public func forward(to group: ServiceGroup, deadline: ShutdownDeadline? = nil) {
    let target: @Sendable (UnixSignal) -> Void = { signal in
      deadline?.arm(after: signal)
      Task { await group.triggerGracefulShutdown() }
    }
    let earlier = state.withLock { state -> UnixSignal? in
      state.target = target
      return state.received
    }
    if let earlier { target(earlier) }
  }

  private func caught(_ signal: UnixSignal) {
    let target = state.withLock { state -> (@Sendable (UnixSignal) -> Void)? in
      if state.received == nil { state.received = signal }
      return state.target
    }
    target?(signal)
  }
}
