import Foundation
public import Logging
public import ServiceLifecycle
public import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bounds how long a daemon takes to stop after SIGTERM or SIGINT.
///
/// A daemon's `ServiceGroup` is configured with `maximumGracefulShutdownDuration = grace`:
/// services first stop gracefully (calls in flight may finish), and when `grace` has passed the
/// group cancels them (calls still in flight are cancelled). Cancellation cannot interrupt a
/// thread stuck in a system call, so this deadline is the last resort: armed by the first
/// signal, it ends the process with exit status 0 when it is still running `grace + margin`
/// later. Every store is crash-safe at every instant (SQLite in WAL mode with
/// `synchronous=FULL`, the spool's fsync'd journal and renames), so that exit loses nothing; a
/// daemon whose services end in time closes its store cleanly and exits on its own first.
public struct ShutdownDeadline: Sendable {
  /// How long services may take to stop gracefully before they are cancelled.
  public var grace: Duration
  /// How long cancellation may take before the process is ended.
  public var margin: Duration
  public var signals: [UnixSignal]
  public var logger: Logger

  /// The default margin after the grace period.
  public static let defaultMargin: Duration = .seconds(5)

  public init(grace: Duration, margin: Duration = Self.defaultMargin, signals: [UnixSignal], logger: Logger) {
    self.grace = grace
    self.margin = margin
    self.signals = signals
    self.logger = logger
  }

  /// Runs `body` (the daemon's service group); on the first of ``signals`` while it runs,
  /// arms the deadline. Returns or throws what `body` does.
  public func guarding<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    guard !signals.isEmpty else { return try await body() }
    let watched = await UnixSignalsSequence(trapping: signals)
    return try await withThrowingTaskGroup(of: T?.self) { group in
      group.addTask { try await body() }
      group.addTask {
        for await signal in watched {
          arm(after: signal)
          break
        }
        return nil
      }
      while let result = try await group.next() {
        if let result {
          group.cancelAll()
          return result
        }
      }
      preconditionFailure("the daemon's body ended without a result")
    }
  }

  /// Starts the timer on a thread of its own (not the cooperative pool, which blocked services
  /// may hold).
  /// Starts the countdown to the last-resort exit now: for a signal that arrived before
  /// ``guarding(_:)`` listened (see ``EarlyShutdownSignals``). Arming twice is harmless.
  public func arm(after signal: UnixSignal) {
    let total = grace + margin
    let logger = logger
    let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
    logger.info("stopping", metadata: [
      "signal": "\(signal)", "shutdown.grace_s": "\(grace.components.seconds)",
      "shutdown.deadline_s": "\(total.components.seconds)",
    ])
    let thread = Thread {
      Thread.sleep(forTimeInterval: seconds)
      logger.error(
        "services did not stop within the shutdown grace period and its margin; exiting now (calls still in flight are abandoned, and retried by their senders)",
        metadata: ["shutdown.deadline_s": "\(total.components.seconds)"])
      _exit(0)
    }
    thread.name = "shutdown-deadline"
    thread.start()
  }
}

extension ServiceGroupConfiguration {
  /// This configuration with graceful shutdown escalated to cancellation after `grace`.
  public func escalating(after grace: Duration) -> ServiceGroupConfiguration {
    var configuration = self
    configuration.maximumGracefulShutdownDuration = grace
    return configuration
  }
}
