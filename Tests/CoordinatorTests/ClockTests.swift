import Foundation
import Testing

@testable import Coordinator

@Suite("Calendar clocks", .timeLimit(.minutes(1)))
struct ClockTests {
  @Test("the accelerated clock runs speed times faster from its epoch")
  func accelerated() async throws {
    let epoch = Fixture.time("2026-01-01T00:00")
    let clock = AcceleratedCoordinatorClock(epoch: epoch, speed: 86_400)
    let start = ContinuousClock.now
    // One simulated hour is 1/24 real second; a clock that did not accelerate would sleep the
    // whole 30 s bound (the margin is for a loaded machine).
    try await clock.sleep(until: epoch.addingTimeInterval(3_600), atMost: .seconds(30))
    #expect(ContinuousClock.now - start < .seconds(10))
    #expect(clock.now() >= epoch.addingTimeInterval(3_600))
  }

  @Test("a sleep is bounded by real time, and a manual clock wakes its sleepers when moved")
  func manual() async throws {
    let clock = ManualCoordinatorClock(Fixture.time("2026-01-01T00:00"))
    let start = ContinuousClock.now
    // Bounds against "never" (distantFuture, 30 s), loose for a loaded machine: the parallel
    // suites once stretched this 100 ms sleep to 5.3 s.
    try await clock.sleep(until: .distantFuture, atMost: .milliseconds(100))
    #expect(ContinuousClock.now - start < .seconds(20))

    let sleeper = Task { try await clock.sleep(until: Fixture.time("2026-02-01T00:00"), atMost: .seconds(30)) }
    try await Task.sleep(for: .milliseconds(50))
    clock.set(Fixture.time("2026-02-01T00:00"))
    try await sleeper.value
    #expect(ContinuousClock.now - start < .seconds(25))

    let cancelled = Task { try await clock.sleep(until: .distantFuture, atMost: .seconds(30)) }
    cancelled.cancel()
    await #expect(throws: CancellationError.self) { try await cancelled.value }
  }
}
