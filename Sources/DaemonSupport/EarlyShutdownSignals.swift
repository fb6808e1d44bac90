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
/// ``install(_:)`` listens with a dispatch source of its own and remembers any signal that
/// arrives. libdispatch registers the source later, on its manager thread; until then a plain
/// handler records the signal (on Linux; on Darwin the signal is ignored, as
/// swift-service-lifecycle does, and kqueue still sees it). Setting SIG_IGN first on Linux
/// dropped a SIGTERM that came in that gap, and the daemon then started and ran on. Once the
/// daemon has made its `ServiceGroup`, ``forward(to:)`` asks the
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
  /// The signals installed, set once before anyone else can see the latch.
  nonisolated(unsafe) private var signals: [UnixSignal] = []

  private init() {}

  /// Starts catching `signals` (none: nothing is done, e.g. for a daemon run inside tests).
  /// The latch and its dispatch sources live as long as the process (each source's handler
  /// holds the latch), so no signal is missed however long the daemon takes to start.
  public static func install(_ signals: [UnixSignal]) -> EarlyShutdownSignals {
    let latch = EarlyShutdownSignals()
    latch.signals = signals
    var sources: [any DispatchSourceSignal] = []
    for unixSignal in signals {
      #if canImport(Darwin)
      // Dispatch's kqueue source sees the signal beside (and below) sigaction: ignore it.
      signal(unixSignal.rawValue, SIG_IGN)
      #else
      // Dispatch installs its own handler and signalfd later, on its manager thread: until then
      // the signal must be neither fatal (its default action) nor ignored (SIG_IGN would drop
      // it for good, leaving the daemon to run on), so a handler of ours records it.
      EarlySignalRecord.catchUntilDispatchTakesOver(unixSignal.rawValue)
      #endif
      let source = DispatchSource.makeSignalSource(signal: unixSignal.rawValue, queue: .global())
      source.setEventHandler { [latch] in latch.caught(unixSignal) }
      source.resume()
      sources.append(source)
    }
    latch.sources = sources  // before anyone else can see the latch
    return latch
  }

  /// The first signal caught so far, if any.
  public var received: UnixSignal? { state.withLock { $0.received } ?? recordedBeforeDispatch }

  /// A signal the handler of ``EarlySignalRecord`` caught before dispatch's source took over.
  private var recordedBeforeDispatch: UnixSignal? {
    #if canImport(Darwin)
    nil
    #else
    signals.first { EarlySignalRecord.wasCaught($0.rawValue) }
    #endif
  }

  /// From now on every caught signal, and one caught before, triggers `group`'s graceful shutdown.
  /// `deadline`, when given, is armed too: a signal caught here never reaches the deadline's
  /// own listener, and the daemon must still end within its grace period and margin.
  public func forward(to group: ServiceGroup, deadline: ShutdownDeadline? = nil) {
    let target: @Sendable (UnixSignal) -> Void = { signal in
      deadline?.arm(after: signal)
      Task { await group.triggerGracefulShutdown() }
    }
    let recorded = recordedBeforeDispatch
    let earlier = state.withLock { state -> UnixSignal? in
      state.target = target
      return state.received ?? recorded
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

#if !canImport(Darwin)
/// The signals caught by a plain signal handler between ``EarlyShutdownSignals/install(_:)`` and
/// the moment libdispatch, on its manager thread, replaces that handler with its own (which
/// blocks the signal and reads it from a signalfd, for the dispatch source).
enum EarlySignalRecord {
  /// Bit `n` set: signal `n` arrived. A lock-free atomic: safe in a signal handler.
  private static let caught = Atomic<UInt64>(0)

  static func catchUntilDispatchTakesOver(_ signalNumber: CInt) {
    _ = caught.load(ordering: .relaxed)  // initialise the global now, never inside the handler
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { number in
      EarlySignalRecord.caught.bitwiseOr(UInt64(1) << UInt64(number & 63), ordering: .relaxed)
    }
    action.sa_flags = SA_RESTART
    sigemptyset(&action.sa_mask)
    sigaction(signalNumber, &action, nil)
  }

  static func wasCaught(_ signalNumber: CInt) -> Bool {
    caught.load(ordering: .relaxed) & (UInt64(1) << UInt64(signalNumber & 63)) != 0
  }
}
#endif
