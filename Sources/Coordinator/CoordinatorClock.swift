public import Foundation
import Synchronization

/// The calendar's clock, injectable so that a test runs a year of rounds in seconds.
///
/// Named apart from the standard library's `Clock`: this one tells the calendar's wall time
/// (a `Date`), which an accelerated or manual clock moves faster than real time.
public protocol CoordinatorClock: Sendable {
  /// The calendar's current time.
  func now() -> Date
  /// Returns when `deadline` is reached, when `maximum` real time has passed, or early when
  /// the clock is moved (a manual clock). Throws `CancellationError` when the task is cancelled.
  func sleep(until deadline: Date, atMost maximum: Duration) async throws
  /// Calendar seconds per real second: 1, or more for an accelerated clock. The aggregator
  /// dates arrivals on the calendar with it (ApplyRoundStepRequest.calendar_speed).
  var speed: Double { get }
}

extension CoordinatorClock {
  public var speed: Double { 1 }
}

/// Real time.
public struct SystemCoordinatorClock: CoordinatorClock {
  public init() {}

  public func now() -> Date { Date() }

  public func sleep(until deadline: Date, atMost maximum: Duration) async throws {
    let wait = min(max(deadline.timeIntervalSinceNow, 0), Self.seconds(maximum))
    try await Task.sleep(for: .milliseconds(Int64((wait * 1000).rounded(.up))))
  }

  static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }
}

/// An accelerated clock for demonstrations: simulated now = `epoch` + (real now − start) × `speed`.
public struct AcceleratedCoordinatorClock: CoordinatorClock {
  /// The simulated time when the clock was made.
  public let epoch: Date
  /// Simulated seconds per real second.
  public let speed: Double
  private let start: ContinuousClock.Instant

  public init(epoch: Date, speed: Double) {
    self.epoch = epoch
    self.speed = speed
    self.start = .now
  }

  public func now() -> Date {
    epoch.addingTimeInterval(SystemCoordinatorClock.seconds(ContinuousClock.now - start) * speed)
  }

  public func sleep(until deadline: Date, atMost maximum: Duration) async throws {
    let simulated = max(deadline.timeIntervalSince(now()), 0)
    let wait = min(simulated / speed, SystemCoordinatorClock.seconds(maximum))
    try await Task.sleep(for: .milliseconds(Int64((wait * 1000).rounded(.up))))
  }
}

/// A clock that moves only when told (tests): ``set(_:)`` and ``advance(by:)`` wake every sleeper.
public final class ManualCoordinatorClock: CoordinatorClock {
  private struct State {
    var now: Date
    var sleepers: [UInt64: CheckedContinuation<Void, Never>] = [:]
    var nextId: UInt64 = 0
  }

  private let state: Mutex<State>

  public init(_ now: Date) {
    state = Mutex(State(now: now))
  }

  public func now() -> Date { state.withLock { $0.now } }

  /// Moves the clock to `date` (forwards or backwards) and wakes every sleeper.
  public func set(_ date: Date) {
    let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
      state.now = date
      defer { state.sleepers = [:] }
      return Array(state.sleepers.values)
    }
    for continuation in woken { continuation.resume() }
  }

  /// Moves the clock forward by `seconds`.
  public func advance(by seconds: TimeInterval) {
    set(now().addingTimeInterval(seconds))
  }

  public func sleep(until deadline: Date, atMost maximum: Duration) async throws {
    if now() >= deadline { return }
    let id = state.withLock { state -> UInt64 in
      state.nextId += 1
      return state.nextId
    }
    // Whichever comes first: the clock moves, the real bound passes, or cancellation.
    await withTaskGroup(of: Void.self) { group in
      group.addTask { [self] in
        await withTaskCancellationHandler {
          await withCheckedContinuation { continuation in
            let resumeNow = self.state.withLock { state -> Bool in
              // The clock may have moved between the check above and this registration.
              if Task.isCancelled || state.now >= deadline { return true }
              state.sleepers[id] = continuation
              return false
            }
            if resumeNow { continuation.resume() }
          }
        } onCancel: {
          let continuation = self.state.withLock { $0.sleepers.removeValue(forKey: id) }
          continuation?.resume()
        }
      }
      group.addTask { try? await Task.sleep(for: maximum) }
      _ = await group.next()
      group.cancelAll()
    }
    try Task.checkCancellation()
  }
}
