import AggregatorStorePostgres
import Foundation
import HiTechDomain
import Logging
import Testing

@testable import Coordinator

/// A database the coordinator store's contract runs against: SQLite always; PostgreSQL when
/// `HITECH_TEST_POSTGRES_URL` names a server (Tests/run.sh starts a throwaway one and sets it).
enum CoordinatorBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case sqlite
  case postgres

  static let postgresURL: String? = {
    let value = ProcessInfo.processInfo.environment["HITECH_TEST_POSTGRES_URL"] ?? ""
    return value.isEmpty ? nil : value
  }()

  static let skippedMessage =
    "HITECH_TEST_POSTGRES_URL is not set: the PostgreSQL cases of the coordinator store are skipped "
    + "(Tests/run.sh starts a throwaway server and runs them)"

  /// Every backend available here.
  static var available: [CoordinatorBackend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

  var testDescription: String { rawValue }
}

/// One empty database of a backend: its location for ``CoordinatorStores/open(_:fence:logger:)``.
struct CoordinatorDatabase: Sendable {
  let location: String
  private let cleanup: @Sendable () async -> Void

  static func make(_ backend: CoordinatorBackend) async throws -> CoordinatorDatabase {
    switch backend {
    case .sqlite:
      let folder = Fixture.temporaryDirectory()
      return CoordinatorDatabase(
        location: "sqlite:" + folder + "/coordinator.sqlite", cleanup: { try? FileManager.default.removeItem(atPath: folder) })
    case .postgres:
      let server = try #require(CoordinatorBackend.postgresURL, "\(CoordinatorBackend.skippedMessage)")
      let name = "hitech_coordinator_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
      try await PostgresReportStore.execute("CREATE DATABASE \(name)", url: server, logger: Fixture.logger)
      return CoordinatorDatabase(
        location: try PostgresReportStore.url(server, database: name),
        cleanup: {
          try? await PostgresReportStore.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", url: server, logger: Fixture.logger)
        })
    }
  }

  func open(fence: LeaderFence? = nil) async throws -> any CoordinatorStore {
    try await CoordinatorStores.open(location, fence: fence, logger: Fixture.logger)
  }

  func remove() async { await cleanup() }
}

/// Runs `body` on a new database of `backend`, removed afterwards.
func withCoordinatorDatabase(_ backend: CoordinatorBackend, _ body: (CoordinatorDatabase) async throws -> Void) async throws {
  let database = try await CoordinatorDatabase.make(backend)
  do {
    try await body(database)
  } catch {
    await database.remove()
    throw error
  }
  await database.remove()
}

private func opening(_ year: Int = 2025) -> CoordinatorStepRecord {
  CoordinatorStepRecord(reportYear: year, kind: .opened, dueAt: Fixture.schedule(year).opensAt, expectedState: .planned)
}

private let noMessage: @Sendable (CoordinatorRound) throws -> [UInt8] = { round in Array("\(round.reportYear):\(round.state)".utf8) }

/// The same behaviour from every coordinator store backend.
@Suite("The coordinator store contract, on every backend", .timeLimit(.minutes(3)))
struct CoordinatorStoreContractTests {
  @Test("planning adds each round once and reschedules a known one; the audit log says so, newest first", arguments: CoordinatorBackend.available)
  func planning(_ backend: CoordinatorBackend) async throws {
    try await withCoordinatorDatabase(backend) { database in
      let store = try await database.open()
      let now = Fixture.time("2026-01-01T00:00")
      #expect(try await store.plan([Fixture.schedule(2025), Fixture.schedule(2026)], at: now) == [2025, 2026])
      #expect(try await store.plan([Fixture.schedule(2025)], at: now).isEmpty)
      var moved = Fixture.schedule(2025)
      moved.deadline = moved.deadline.addingTimeInterval(86_400)
      #expect(try await store.plan([moved], at: now).isEmpty)
      let rounds = try await store.rounds()
      #expect(rounds.map(\.reportYear) == [2025, 2026])
      #expect(rounds.map(\.state) == [.planned, .planned])
      #expect(try await store.round(2025)?.schedule == moved)
      #expect(try await store.round(2024) == nil)
      #expect(try await store.audit(limit: 10).map(\.action) == ["round.reschedule", "round.plan", "round.plan"])
      try await store.close()
    }
  }

  @Test("a step is recorded with its state change once, applied once, and never in the wrong state", arguments: CoordinatorBackend.available)
  func recordAndApply(_ backend: CoordinatorBackend) async throws {
    try await withCoordinatorDatabase(backend) { database in
      let store = try await database.open()
      let now = Fixture.time("2026-01-05T09:00")
      try await store.plan([Fixture.schedule(2025)], at: now)
      let step = try await store.record(opening(), at: now, message: noMessage)
      #expect(step.id == "2025/opened" && step.state == .pending)
      #expect(step.roundMessage == Array("2025:open".utf8))  // built from the round after the change
      let again = await #expect(throws: CoordinatorError.self) { try await store.record(opening(), at: now, message: noMessage) }
      #expect(again?.code == .aborted)
      let wrongState = await #expect(throws: CoordinatorError.self) {
        try await store.record(
          CoordinatorStepRecord(reportYear: 2025, kind: .closed, dueAt: now, expectedState: .planned), at: now, message: noMessage)
      }
      #expect(wrongState?.code == .aborted)
      let unknown = await #expect(throws: CoordinatorError.self) { try await store.record(opening(2031), at: now, message: noMessage) }
      #expect(unknown?.code == .notFound)

      #expect(try await store.pendingSteps().map(\.id) == ["2025/opened"])
      var detail = StepDetail()
      detail.addressedReporterCodes = ["110000", "440300"]
      try await store.markApplied("2025/opened", detail: detail, at: now)
      let twice = await #expect(throws: CoordinatorError.self) { try await store.markApplied("2025/opened", detail: detail, at: now) }
      #expect(twice?.code == .failedPrecondition)
      #expect(try await store.pendingSteps().isEmpty)

      let round = try #require(try await store.round(2025))
      #expect(round.state == .open)
      #expect(round.transitions.map { "\($0.from.rawValue)->\($0.to.rawValue) \($0.stepId)" } == ["planned->open 2025/opened"])
      #expect(round.steps.map(\.state) == [.applied])
      #expect(round.steps.first?.detail.addressedReporterCodes == ["110000", "440300"])
      #expect(round.steps.first?.appliedAt == now)

      try await store.recordSkipped(
        reportYear: 2025, kind: .reminder, reminderOffset: 259_200, dueAt: now, reason: "too late", at: now)
      let skipped = try #require(try await store.round(2025)?.step("2025/reminder/259200s"))
      #expect(skipped.state == .skipped && skipped.detail.skippedReason == "too late")
      #expect(try await store.audit(limit: 3).map(\.action) == ["step.skip", "step.apply", "step.record"])
      try await store.close()
    }
  }

  @Test("two stores on one database racing to record the same step record it once", arguments: CoordinatorBackend.available)
  func racingRecords(_ backend: CoordinatorBackend) async throws {
    try await withCoordinatorDatabase(backend) { database in
      let first = try await database.open()
      let second = try await database.open()
      let now = Fixture.time("2026-01-05T09:00")
      try await first.plan([Fixture.schedule(2025)], at: now)
      let outcomes = await withTaskGroup(of: String.self) { group in
        for index in 0..<16 {
          let store = index.isMultiple(of: 2) ? first : second
          group.addTask {
            do {
              _ = try await store.record(opening(), at: now, message: noMessage)
              return "recorded"
            } catch let error as CoordinatorError {
              return "\(error.code)"
            } catch {
              return "\(error)"
            }
          }
        }
        return await group.reduce(into: [String]()) { $0.append($1) }
      }
      #expect(outcomes.filter { $0 == "recorded" }.count == 1, "\(outcomes)")
      #expect(outcomes.filter { $0 == "aborted" }.count == 15, "\(outcomes)")
      let round = try #require(try await second.round(2025))
      #expect(round.steps.map(\.id) == ["2025/opened"])
      #expect(round.transitions.count == 1)
      try await first.close()
      try await second.close()
    }
  }

  @Test("assessments are kept as first stored; expert scores are replaced until the round is assessed", arguments: CoordinatorBackend.available)
  func assessmentsAndScores(_ backend: CoordinatorBackend) async throws {
    try await withCoordinatorDatabase(backend) { database in
      let store = try await database.open()
      let now = Fixture.time("2026-01-05T09:00")
      try await store.plan([Fixture.schedule(2025)], at: now)
      try await store.recordExpertScore(
        reportYear: 2025, baseId: "B1", expertId: "E-1", scoreMilli: 80_000, comment: "a", actor: "op", at: now)
      try await store.recordExpertScore(
        reportYear: 2025, baseId: "B1", expertId: "E-1", scoreMilli: 82_500, comment: "b", actor: "op", at: now)
      let scores = try await store.expertScores(2025)
      #expect(scores.count == 1 && scores.first?.scoreMilli == 82_500 && scores.first?.comment == "b")
      let outOfRange = await #expect(throws: CoordinatorError.self) {
        try await store.recordExpertScore(reportYear: 2025, baseId: "B1", expertId: "E-1", scoreMilli: 100_001, comment: "", actor: "op", at: now)
      }
      #expect(outOfRange?.code == .invalidArgument)

      #expect(try await store.assessment(2025) == nil)
      let stored = try await store.saveAssessment(reportYear: 2025, results: Array("{\"a\":1}".utf8), stepId: "2025/assessed", at: now)
      let kept = try await store.saveAssessment(
        reportYear: 2025, results: Array("{\"a\":2}".utf8), stepId: "2025/assessed", at: now.addingTimeInterval(60))
      #expect(stored.results == Array("{\"a\":1}".utf8))
      #expect(kept.results == stored.results && kept.assessedAt == now)

      for (kind, from) in [(StepKind.opened, RoundState.planned), (.closed, .open), (.assessed, .closed)] {
        _ = try await store.record(
          CoordinatorStepRecord(reportYear: 2025, kind: kind, dueAt: now, expectedState: from), at: now, message: noMessage)
      }
      let closed = await #expect(throws: CoordinatorError.self) {
        try await store.recordExpertScore(reportYear: 2025, baseId: "B1", expertId: "E-2", scoreMilli: 1, comment: "", actor: "op", at: now)
      }
      #expect(closed?.code == .failedPrecondition)
      #expect(try await store.pendingSteps().map(\.id) == ["2025/opened", "2025/closed", "2025/assessed"])
      try await store.close()
    }
  }

  @Test("the engine runs a whole year on the store, and a restart between steps repeats none", arguments: CoordinatorBackend.available)
  func wholeYear(_ backend: CoordinatorBackend) async throws {
    try await withCoordinatorDatabase(backend) { database in
      var rig = try await Fixture.Rig(
        schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"), store: database.location)
      for (index, (id, due)) in Fixture.steps().enumerated() {
        let report = await rig.run(at: due)
        #expect(report.recorded == [id] && report.applied == [id], "\(report.lines)")
        if index == 2 { try await rig.restart() }
      }
      #expect(rig.link.order == Fixture.steps().map(\.id))
      let round = try #require(try await rig.engine.round(2025))
      #expect(round.state == .published)
      #expect(round.steps.map(\.id) == Fixture.steps().map(\.id))
      #expect(round.steps.allSatisfy { $0.state == .applied })
      #expect(try rig.published().keys.sorted() == ["results-2025.csv", "results-2025.html", "results-2025.json"])
      try await rig.store.close()
    }
  }
}

/// Leadership on PostgreSQL: the fence and the election.
@Suite("Coordinator leadership on PostgreSQL", .timeLimit(.minutes(3)))
struct LeadershipTests {
  @Test(
    "a fenced store records and applies only while its process holds the leadership; a standby waits and takes over when it is given back",
    .enabled(if: CoordinatorBackend.postgresURL != nil, Comment(rawValue: CoordinatorBackend.skippedMessage)))
  func fenceAndElection() async throws {
    try await withCoordinatorDatabase(.postgres) { database in
      let now = Fixture.time("2026-01-05T09:00")
      let firstFence = LeaderFence()
      let first = try await database.open(fence: firstFence)
      let refused = await #expect(throws: CoordinatorError.self) { try await first.plan([Fixture.schedule()], at: now) }
      #expect(refused?.code == .failedPrecondition)
      #expect(refused?.message.contains("standby") == true)

      let firstElection = try PostgresLeaderElection(url: database.location, fence: firstFence, logger: Fixture.logger)
      let secondFence = LeaderFence()
      let secondElection = try PostgresLeaderElection(url: database.location, fence: secondFence, logger: Fixture.logger)
      let second = try await database.open(fence: secondFence)
      let release = AsyncStream<Void>.makeStream()
      let standbyHeard = AsyncStream<String>.makeStream()

      let leader = Task {
        try await firstElection.lead {
          _ = try await first.plan([Fixture.schedule()], at: now)
          _ = try await first.record(opening(), at: now, message: noMessage)
          for await _ in release.stream { break }
        }
      }
      // The first leads (it planned), then the second tries and is told who is active.
      try await eventuallyTrue {
        guard firstFence.isActive else { return false }
        return (try? await first.round(2025)) != nil
      }
      let follower = Task {
        try await secondElection.lead(onStandby: { standbyHeard.continuation.yield($0) }) {
          _ = try await second.record(
            CoordinatorStepRecord(reportYear: 2025, kind: .reminder, reminderOffset: 259_200, dueAt: now, expectedState: .open),
            at: now, message: noMessage)
        }
      }
      var holders = standbyHeard.stream.makeAsyncIterator()
      let holder = await holders.next()
      #expect(holder?.contains("hitech-coordinator") == true, "\(holder ?? "none")")
      #expect(!secondFence.isActive)
      let notLeader = await #expect(throws: CoordinatorError.self) {
        try await second.markApplied("2025/opened", detail: StepDetail(), at: now)
      }
      #expect(notLeader?.code == .failedPrecondition)

      release.continuation.yield()
      try await leader.value
      #expect(!firstFence.isActive)
      try await follower.value  // took over and recorded its step
      let round = try #require(try await second.round(2025))
      #expect(round.steps.map(\.id) == ["2025/opened", "2025/reminder/259200s"])
      try await first.close()
      try await second.close()
    }
  }

  @Test(
    "a leader whose lock session ends loses the leadership: its work is cancelled and its writes are refused",
    .enabled(if: CoordinatorBackend.postgresURL != nil, Comment(rawValue: CoordinatorBackend.skippedMessage)))
  func lostSession() async throws {
    let server = try #require(CoordinatorBackend.postgresURL)
    try await withCoordinatorDatabase(.postgres) { database in
      let now = Fixture.time("2026-01-05T09:00")
      let fence = LeaderFence()
      let store = try await database.open(fence: fence)
      let election = try PostgresLeaderElection(url: database.location, fence: fence, logger: Fixture.logger)
      let cancelled = AsyncStream<Void>.makeStream()
      let leader = Task {
        try await election.lead {
          _ = try await store.plan([Fixture.schedule()], at: now)
          do {
            try await Task.sleep(for: .seconds(600))
          } catch {
            cancelled.continuation.yield()
            throw error
          }
        }
      }
      // The lock session's pid, read while this process leads (read together: on a loaded
      // machine a later read could already see the leadership lost for another reason).
      var leading: Int32?
      try await eventuallyTrue {
        guard fence.isActive, let pid = fence.backendPID, (try? await store.round(2025)) != nil else { return false }
        leading = pid
        return true
      }
      let session = try #require(leading)
      try await PostgresReportStore.execute("SELECT pg_terminate_backend(\(session))", url: server, logger: Fixture.logger)
      await #expect(throws: LeadershipLost.self) { try await leader.value }
      var events = cancelled.stream.makeAsyncIterator()
      #expect(await events.next() != nil)
      #expect(!fence.isActive)
      let refused = await #expect(throws: CoordinatorError.self) { try await store.record(opening(), at: now, message: noMessage) }
      #expect(refused?.code == .failedPrecondition)
      #expect(try await store.pendingSteps().isEmpty)
      try await store.close()
    }
  }
}

/// Polls `condition` every 50 ms until it holds, at most `seconds` (generous: a loaded machine).
func eventuallyTrue(within seconds: Double = 60, _ condition: () async throws -> Bool) async throws {
  let deadline = ContinuousClock.now + .seconds(seconds)
  while ContinuousClock.now < deadline {
    if try await condition() { return }
    try await Task.sleep(for: .milliseconds(50))
  }
  Issue.record("the condition did not hold within \(seconds) s")
}
