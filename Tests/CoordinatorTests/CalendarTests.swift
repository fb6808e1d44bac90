import Foundation
import HiTechDomain
import GRPCCore
import HiTechSchema
import Testing

@testable import Coordinator

@Suite("The round calendar on a manual clock", .timeLimit(.minutes(1)))
struct CalendarTests {
  @Test("a whole year: planned, open, two reminders, closed, assessed, published, in order")
  func wholeYear() async throws {
    let rig = try await Fixture.Rig(schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"))
    #expect(try await rig.engine.round(2025)?.state == .planned)
    #expect(await rig.run(at: Fixture.time("2026-01-05T08:59")).recorded.isEmpty)

    let expected: [(String, RoundState)] = [
      ("2025/opened", .open), ("2025/reminder/1209600s", .open), ("2025/reminder/259200s", .open),
      ("2025/closed", .closed), ("2025/assessed", .assessed), ("2025/published", .published),
    ]
    for ((id, due), (_, state)) in zip(Fixture.steps(), expected) {
      #expect(try await rig.engine.nextDueDate() == due)
      let report = await rig.run(at: due)
      #expect(report.recorded == [id])
      #expect(report.applied == [id])
      #expect(report.caughtUp.isEmpty && report.skipped.isEmpty && report.failure == nil)
      #expect(try await rig.engine.round(2025)?.state == state)
    }
    #expect(rig.link.order == expected.map(\.0))
    #expect(try await rig.engine.nextDueDate() == nil)

    let round = try #require(try await rig.engine.round(2025))
    #expect(round.steps.allSatisfy { $0.state == .applied })
    #expect(round.transitions.map(\.to) == [.open, .closed, .assessed, .published])
    #expect(round.transitions.allSatisfy { $0.actor == "coordinator" && $0.reason == "scheduled" })
    #expect(try rig.published().keys.sorted() == ["results-2025.csv", "results-2025.html", "results-2025.json"])

    // What the aggregator was told: announcements, the round's state, reminders sent.
    let requests = rig.link.requests
    #expect(requests.map(\.round.state) == [.open, .open, .open, .closed, .assessed, .published])
    #expect(requests[1].reminder.beforeDeadline.seconds == 1_209_600)
    #expect(requests[2].round.reminders.first?.hasSentAt == true)
    #expect(requests[4].announcement == nil)
    let published = requests[5].published
    #expect(published.results.map(\.baseID).sorted() == ["HTB-110000-INF", "HTB-440300-INF", "HTB-440300-OCN"])
    #expect(published.results.first { $0.baseID == "HTB-440300-OCN" }?.tier == .notReported)
    #expect(requests[5].round.history.count == 4)
  }

  @Test("two years of rounds run side by side, each in its own order")
  func twoYears() async throws {
    let rig = try await Fixture.Rig(
      schedules: [Fixture.schedule(2025), Fixture.schedule(2026)], now: Fixture.time("2026-01-01T00:00"))
    var day = Fixture.time("2026-01-01T00:00")
    while day < Fixture.time("2027-07-31T00:00") {
      day = day.addingTimeInterval(86_400)
      await rig.run(at: day)
    }
    #expect(try await rig.engine.rounds().map(\.state) == [.published, .published])
    #expect(rig.link.order == Fixture.steps(2025).map(\.id) + Fixture.steps(2026).map(\.id))
    #expect(rig.link.effects.values.allSatisfy { $0 == 1 })
  }

  @Test("the late policy is carried in the Round sent to the aggregator, both ways")
  func latePolicy() async throws {
    let rig = try await Fixture.Rig(
      schedules: [Fixture.schedule(2025, latePolicy: .acceptMarkLate), Fixture.schedule(2026, latePolicy: .refuse)],
      now: Fixture.time("2026-01-01T00:00"))
    await rig.run(at: Fixture.schedule(2025).deadline)
    await rig.run(at: Fixture.schedule(2026).deadline)
    let closed = rig.link.requests.filter { if case .closed = $0.announcement { true } else { false } }
    #expect(closed.map(\.round.reportYear) == [2025, 2026])
    #expect(closed.map(\.round.latePolicy) == [.acceptMarkLate, .refuse])
    #expect(closed.allSatisfy { $0.round.state == .closed })
  }

  @Test("the scheduler wakes at the next due time on the clock and stops when cancelled")
  func schedulerLoop() async throws {
    let rig = try await Fixture.Rig(schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"))
    let scheduler = RoundScheduler(coordinator: rig.engine, maxSleep: .seconds(1), logger: Fixture.logger)
    let task = Task { try await scheduler.run() }
    try await Task.sleep(for: .milliseconds(200))
    #expect(rig.link.order.isEmpty)
    rig.clock.set(Fixture.time("2026-04-01T00:00"))
    for _ in 0..<100 where rig.link.order.count < 2 { try await Task.sleep(for: .milliseconds(50)) }
    // The clock jumped past the deadline: the reminders tell nothing any more.
    #expect(rig.link.order == ["2025/opened", "2025/closed"])
    let round = try #require(try await rig.engine.round(2025))
    #expect(round.steps.filter { $0.state == .skipped }.map(\.id) == ["2025/reminder/1209600s", "2025/reminder/259200s"])
    task.cancel()
    try await task.value
  }
}
