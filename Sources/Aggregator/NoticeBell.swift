import Foundation

/// Wakes the RoundNotices streams of this process when a round step issued new notices, so
/// that nodes hear of them at once rather than at their next poll.
public actor NoticeBell {
  private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
  /// Waits that have parked (and not been released yet).
  private var parked: Set<UUID> = []
  /// Waits released before they could park.
  private var releasedEarly: Set<UUID> = []

  /// How many times the bell rang: a reader notes it before it looks for new rows, and waits
  /// `unlessRungSince` it, so that a ring between its look and its wait is not lost.
  public private(set) var rings: UInt64 = 0

  public init() {}

  /// Wakes every waiter.
  public func ring() {
    rings &+= 1
    let woken = waiters
    waiters.removeAll()
    for continuation in woken.values { continuation.resume() }
  }

  /// Returns at the next `ring()`, after `timeout`, or when the task is cancelled, whichever
  /// comes first; at once when `rungSince` is given and the bell rang since `rings` was that.
  public func wait(upTo timeout: Duration, unlessRungSince rungSince: UInt64? = nil) async {
    if let rungSince, rungSince != rings { return }
    let id = UUID()
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.park(id, unlessRungSince: rungSince) }
      group.addTask { try? await Task.sleep(for: timeout) }
      await group.next()
      self.release(id)
      group.cancelAll()
    }
  }

  private func park(_ id: UUID, unlessRungSince rungSince: UInt64?) async {
    if releasedEarly.remove(id) != nil { return }
    if let rungSince, rungSince != rings {
      parked.insert(id)  // as if woken at once: release(id) removes it
      return
    }
    parked.insert(id)
    await withCheckedContinuation { waiters[id] = $0 }
  }

  private func release(_ id: UUID) {
    if let continuation = waiters.removeValue(forKey: id) {
      continuation.resume()
    }
    if parked.remove(id) == nil {
      releasedEarly.insert(id)
    }
  }
}
