import Foundation
public import Logging
public import ServiceLifecycle

/// Runs the calendar: at start, plans the configured rounds and drives the steps left pending
/// by a stop; then repeatedly records and drives what is due (``RoundCoordinator/tick()``) and
/// sleeps until the next due time — never longer than `maxSleep` of real time, so a change made
/// by hand or a moved clock is seen soon, and never polling busily. After a failed step it waits
/// a backoff (doubling from `initialBackoff` up to `maxBackoff`, forever) before driving again.
/// Stops on graceful shutdown or cancellation (a step in flight is left pending, driven again
/// at the next start).
public struct RoundScheduler: Service {
  let coordinator: RoundCoordinator
  let maxSleep: Duration
  let initialBackoff: Duration
  let maxBackoff: Duration
  let logger: Logger

  public init(
    coordinator: RoundCoordinator,
    maxSleep: Duration = .seconds(1),
    initialBackoff: Duration = .milliseconds(500),
    maxBackoff: Duration = .seconds(30),
    logger: Logger
  ) {
    self.coordinator = coordinator
    self.maxSleep = maxSleep
    self.initialBackoff = initialBackoff
    self.maxBackoff = maxBackoff
    self.logger = logger
  }

  public func run() async throws {
    do {
      try await cancelWhenGracefulShutdown {
        try await drive()
      }
    } catch is CancellationError {
      // Stopping.
    }
    logger.info("calendar stopped")
  }

  /// Plans and drives the rounds until cancelled (throwing `CancellationError`): what ``run()``
  /// does, and what the active coordinator of several does while it holds the leadership.
  func drive() async throws {
    try await coordinator.start()
    try await loop()
  }

  private func loop() async throws {
    var failures = 0
    while !Task.isCancelled {
      let report = await coordinator.tick()
      if report.failure != nil {
        failures += 1
        let wait = min(initialBackoff * (1 << min(failures - 1, 20)), maxBackoff)
        logger.debug("backing off", metadata: ["retry.in": "\(wait)", "step.failures": "\(failures)"])
        try await Task.sleep(for: wait)
        continue
      }
      failures = 0
      let next = (try? await coordinator.nextDueDate()) ?? .distantFuture
      try await coordinator.clock.sleep(until: next, atMost: maxSleep)
    }
  }
}
