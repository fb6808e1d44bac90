import AggregatorStorePostgres
import Foundation
public import Logging
import PostgresNIO
import Synchronization

/// Whether this process holds the coordinator's leadership on PostgreSQL, and on which
/// database session: the store checks it before every write of the calendar (see
/// ``PostgresCoordinatorStore``), so that a coordinator that lost the leadership stops acting
/// even before it notices.
public final class LeaderFence: Sendable {
  private let session = Mutex<Int32?>(nil)

  public init() {}

  /// The backend process id of the session holding the leadership lock; `nil` on standby.
  public var backendPID: Int32? { session.withLock { $0 } }

  /// True while this process is the active coordinator.
  public var isActive: Bool { backendPID != nil }

  func set(_ pid: Int32?) { session.withLock { $0 = pid } }

  /// The leadership lock, a session-level advisory lock on the database (`pg_locks` shows a
  /// bigint key as its high half in `classid`, its low half in `objid`, with `objsubid` 1).
  static let lockKey: Int64 = 0x6869_7465_6368_0010
  static var lockClassID: Int64 { lockKey >> 32 }
  static var lockObjectID: Int64 { lockKey & 0xFFFF_FFFF }
  /// The rows of `pg_locks` (as `alias`) that are the granted leadership lock.
  static func heldLockCondition(_ alias: String = "pg_locks") -> String {
    "\(alias).locktype = 'advisory' AND \(alias).classid = \(lockClassID) AND \(alias).objid = \(lockObjectID) "
      + "AND \(alias).objsubid = 1 AND \(alias).granted "
      + "AND \(alias).database = (SELECT oid FROM pg_database WHERE datname = current_database())"
  }

  /// Throws unless the fence's session still holds the lock (checked inside the caller's
  /// transaction on another connection).
  func check(_ db: PostgresConnection, what: String, logger: Logger) async throws {
    guard let pid = backendPID else {
      throw CoordinatorError(
        .failedPrecondition, "\(what): this coordinator is on standby; only the active coordinator records and applies steps")
    }
    let held = try await db.row(
      PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE \(Self.heldLockCondition()) AND pid = \(pid))"), logger
    )?.decode(column: 0, as: Bool.self) ?? false
    guard held else {
      throw CoordinatorError(
        .failedPrecondition, "\(what): this coordinator no longer holds the leadership (its lock session \(pid) ended)")
    }
  }
}

/// The leadership lost while running: the lock's session ended or stopped answering.
public struct LeadershipLost: Error, CustomStringConvertible {
  public let description: String
}

/// Leadership of several coordinator processes sharing one PostgreSQL database: the active one
/// holds a session-level advisory lock (``LeaderFence/lockKey``) on a connection of its own;
/// the others are on standby and try to take it every `retryInterval`.
///
/// - When the active process dies, however it dies (`kill -9` included), the server ends its
///   session and frees the lock, and a standby takes it at its next try.
/// - The active process checks its lock connection every `heartbeatInterval`; when a check
///   fails or takes longer than `heartbeatTimeout`, it has lost the leadership: the work
///   running under it is cancelled (a step in flight stays pending, for the next leader).
/// - The lock session runs with `idle_session_timeout`, so that the server frees the lock of
///   an active process that stopped answering (hung, or cut off by the network) and a standby
///   can take over even then. The store's ``LeaderFence`` refuses that process's writes.
public struct PostgresLeaderElection: Sendable {
  public let url: PostgresStoreURL
  public let fence: LeaderFence
  public var retryInterval: Duration
  public var heartbeatInterval: Duration
  public var heartbeatTimeout: Duration
  let logger: Logger

  public init(
    url: String, fence: LeaderFence, retryInterval: Duration = .seconds(1), heartbeatInterval: Duration = .seconds(1),
    heartbeatTimeout: Duration = .seconds(10), logger: Logger
  ) throws {
    do {
      self.url = try PostgresStoreURL(url)
    } catch {
      throw CoordinatorError(.storage, "\(error)")
    }
    self.fence = fence
    self.retryInterval = retryInterval
    self.heartbeatInterval = heartbeatInterval
    self.heartbeatTimeout = heartbeatTimeout
    self.logger = logger
  }

  /// Waits on standby until this process holds the leadership, then runs `body` while it
  /// holds it, and returns when `body` returns (the lock is then given back).
  ///
  /// - Parameter onStandby: called with who is active (once per stretch of standby).
  /// - Throws: ``LeadershipLost`` when the leadership is lost while `body` runs (`body` is
  ///   cancelled first); `CancellationError` when cancelled.
  public func lead(
    onStandby: @escaping @Sendable (String) -> Void = { _ in },
    _ body: @escaping @Sendable () async throws -> Void
  ) async throws {
    var standbySince: ContinuousClock.Instant?
    var lastHolder = ""
    while true {
      try Task.checkCancellation()
      let outcome: Attempt
      do {
        outcome = try await attempt(body)
      } catch let error as LeadershipLost {
        throw error
      } catch is CancellationError {
        throw CancellationError()
      } catch {
        if Task.isCancelled { throw CancellationError() }
        outcome = .unreachable("\(error)")
      }
      switch outcome {
      case .done:
        return
      case .held(let holder):
        if standbySince == nil || holder != lastHolder {
          logger.notice(
            "standby: another coordinator is active; taking over when it stops",
            metadata: ["leader.holder": "\(holder)", "store.location": "\(url)"])
          onStandby(holder)
        }
        standbySince = standbySince ?? .now
        lastHolder = holder
      case .unreachable(let why):
        logger.warning("standby: cannot take or keep the leadership; trying again", metadata: ["error": "\(why)"])
        standbySince = standbySince ?? .now
        lastHolder = ""
        onStandby("unknown (\(why))")
      }
      try await Task.sleep(for: retryInterval)
    }
  }

  private enum Attempt: Sendable {
    case done
    case held(String)
    case unreachable(String)
  }

  /// One try on a connection of its own: take the lock, or say who holds it.
  private func attempt(_ body: @escaping @Sendable () async throws -> Void) async throws -> Attempt {
    var configuration = url.clientConfiguration()
    configuration.options.maximumConnections = 1
    configuration.options.connectTimeout = .seconds(5)
    let name = "hitech-coordinator \(ProcessInfo.processInfo.hostName) pid \(getpid())"
    configuration.options.additionalStartupParameters = [
      ("application_name", String(name.prefix(63))),
      // Frees the lock of a process that stops answering: the heartbeat keeps a live one busy.
      ("idle_session_timeout", "\(max(2, heartbeatTimeout.components.seconds * 2))s"),
    ]
    var background = logger
    background.logLevel = .critical
    let client = PostgresClient(configuration: configuration, backgroundLogger: background)
    let runner = Task { await client.run() }
    defer { runner.cancel() }
    let logger = self.logger
    let fence = self.fence
    let heartbeatInterval = self.heartbeatInterval
    let heartbeatTimeout = self.heartbeatTimeout
    let location = url.description
    return try await client.withConnection { db in
      let taken = try await db.row("SELECT pg_try_advisory_lock(\(LeaderFence.lockKey))", logger)?.decode(column: 0, as: Bool.self) ?? false
      guard taken else {
        let holder = try await db.row(
          PostgresQuery(
            unsafeSQL: """
              SELECT coalesce(a.application_name, '') || ' (session ' || l.pid || ')'
              FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE \(LeaderFence.heldLockCondition("l"))
              LIMIT 1
              """), logger)?.decode(column: 0, as: String?.self)
        return .held(holder ?? "unknown")
      }
      let pid = try await db.row("SELECT pg_backend_pid()", logger)?.decode(column: 0, as: Int32.self) ?? 0
      fence.set(pid)
      defer { fence.set(nil) }
      logger.notice(
        "active: this coordinator holds the leadership and drives the rounds",
        metadata: ["leader.session": "\(pid)", "store.location": "\(location)"])
      // The checks run apart from the group: a check stuck on a dead network must not keep
      // the group (and the loss of the leadership) waiting.
      let heartbeat = Heartbeat()
      let checks = Task {
        while !Task.isCancelled {
          try? await Task.sleep(for: heartbeatInterval)
          do {
            let held = try await db.row(
              PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE \(LeaderFence.heldLockCondition()) AND pid = \(pid))"),
              logger)?.decode(column: 0, as: Bool.self) ?? false
            heartbeat.answered(held ? nil : "the lock is no longer held by session \(pid)")
          } catch {
            heartbeat.answered("the lock session failed: \(String(reflecting: error))")
          }
        }
      }
      defer { checks.cancel() }
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await body() }
        group.addTask {
          while true {
            try await Task.sleep(for: heartbeatInterval / 4)
            if let lost = heartbeat.lost(after: heartbeatTimeout) { throw LeadershipLost(description: lost) }
          }
        }
        try await group.next()
        group.cancelAll()
      }
      _ = try? await db.run("SELECT pg_advisory_unlock(\(LeaderFence.lockKey))", logger)
      return .done
    }
  }
}

/// The last answer of the leadership checks.
private final class Heartbeat: Sendable {
  private let state = Mutex<(at: ContinuousClock.Instant, failure: String?)>((.now, nil))

  /// A check ended: `failure` nil when the lock is still held. A failure is final.
  func answered(_ failure: String?) { state.withLock { $0 = (.now, $0.failure ?? failure) } }

  /// Why the leadership is lost: a failed check, or none answered within `timeout`; `nil` while held.
  func lost(after timeout: Duration) -> String? {
    state.withLock { state in
      if let failure = state.failure { return failure }
      if ContinuousClock.now - state.at > timeout { return "the lock session did not answer within \(timeout)" }
      return nil
    }
  }
}
