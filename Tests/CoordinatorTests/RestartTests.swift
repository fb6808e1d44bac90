import Assessment
import Foundation
import GRPCCore
import HiTechSchema
import Testing

@testable import Coordinator

@Suite("Restart and catch-up", .timeLimit(.minutes(1)))
struct RestartTests {
  static let crashes: [(step: String, failure: String)] = Fixture.steps().flatMap { step in
    [(step.id, "before"), (step.id, "after")]
  }

  @Test(
    "a crash after a step is recorded and before it is applied: re-driven once in effect, nothing skipped",
    arguments: crashes.map { "\($0.step) \($0.failure)" })
  func crashAtEveryStep(_ scenario: String) async throws {
    let parts = scenario.split(separator: " ").map(String.init)
    let (crashStep, when) = (parts[0], parts[1])
    var rig = try await Fixture.Rig(schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"))
    let crash = RPCError(code: .internalError, message: "simulated crash")
    rig.link.fail(crashStep, when == "before" ? .beforeApplying(crash) : .afterApplying(crash))

    var filesBeforeCrash: [String: Data] = [:]
    for (id, due) in Fixture.steps() {
      let report = await rig.run(at: due)
      if id == crashStep {
        // Recorded durably, not applied: the "crash" leaves it pending.
        #expect(report.recorded == [id])
        #expect(report.failure?.stepId == id)
        #expect(report.failure?.retryable == false)
        let pending = try await rig.store.pendingSteps().map(\.id)
        #expect(pending == [id])
        if id.hasSuffix("published") { filesBeforeCrash = try rig.published() }
        try await rig.restart()
        let redriven = await rig.engine.tick()
        #expect(redriven.recorded.isEmpty)
        #expect(redriven.applied == [id])
      }
    }
    #expect(try await rig.store.pendingSteps().isEmpty)
    let round = try #require(try await rig.engine.round(2025))
    #expect(round.state == .published)
    #expect(round.steps.map(\.id) == Fixture.steps().map(\.id))
    #expect(round.steps.allSatisfy { $0.state == .applied })
    // Each step applied exactly once in effect, in order.
    #expect(rig.link.order == Fixture.steps().map(\.id))
    #expect(rig.link.effects.values.allSatisfy { $0 == 1 })
    #expect(round.transitions.count == 4)
    if crashStep.hasSuffix("published") {
      #expect(!filesBeforeCrash.isEmpty)
      #expect(try rig.published() == filesBeforeCrash)
    }
    if crashStep.hasSuffix("assessed") && when == "after" {
      // The assessment stored before the crash is reused, not computed again.
      #expect(rig.link.state.withLock { $0.inputCalls } == 1)
    }
  }

  @Test("an unreachable aggregator: the step stays pending, later steps wait in order, then all apply")
  func unavailable() async throws {
    let rig = try await Fixture.Rig(schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"))
    rig.link.fail("2025/opened", .beforeApplying(RPCError(code: .unavailable, message: "down")))
    let first = await rig.run(at: Fixture.time("2026-01-05T09:00"))
    #expect(first.failure?.retryable == true)
    #expect(try await rig.engine.round(2025)?.state == .open)
    let second = await rig.run(at: Fixture.time("2026-03-17T17:00"))
    #expect(second.applied == ["2025/opened", "2025/reminder/1209600s"])
    #expect(rig.link.order == ["2025/opened", "2025/reminder/1209600s"])
  }

  @Test("catch-up after outages: old reminders skipped and logged, transitions caught up late and logged")
  func catchUp() async throws {
    let schedule = Fixture.schedule(reminders: [60 * 86_400, 20 * 86_400, 10 * 86_400, 3 * 86_400])
    var rig = try await Fixture.Rig(schedules: [schedule], now: Fixture.time("2026-01-01T00:00"))
    #expect(await rig.run(at: schedule.opensAt).applied == ["2025/opened"])

    // Down from just after opening until 4 days before the deadline.
    rig.clock.set(schedule.deadline.addingTimeInterval(-4 * 86_400))
    try await rig.restart()
    let first = await rig.engine.tick()
    #expect(first.skipped.keys.sorted() == ["2025/reminder/1728000s", "2025/reminder/5184000s"])
    #expect(first.recorded == ["2025/reminder/864000s"])
    #expect(first.caughtUp == ["2025/reminder/864000s"])
    #expect(first.lines.contains("skipped reminder 2025/reminder/5184000s due at 2026-01-30T17:00:00+08:00 (outside the catch-up window)"))
    #expect(first.lines.contains("caught up 2025/reminder/864000s due at 2026-03-21T17:00:00+08:00 (missed while the coordinator was down)"))

    // Down again over the deadline and the assessment.
    rig.clock.set(schedule.assessmentAt.addingTimeInterval(86_400))
    try await rig.restart()
    let second = await rig.engine.tick()
    #expect(second.skipped.keys.sorted() == ["2025/reminder/259200s"])
    #expect(second.skipped["2025/reminder/259200s"]?.contains("the deadline has passed") == true)
    #expect(second.recorded == ["2025/closed", "2025/assessed"])
    #expect(second.caughtUp == ["2025/closed", "2025/assessed"])
    #expect(second.lines.contains("caught up 2025/closed due at 2026-03-31T17:00:00+08:00 (missed while the coordinator was down)"))
    #expect(second.applied == ["2025/closed", "2025/assessed"])

    let round = try #require(try await rig.engine.round(2025))
    #expect(round.state == .assessed)
    #expect(round.transitions.last?.reason == "scheduled, caught up")
    #expect(round.step("2025/closed")?.detail.caughtUp == true)
    #expect(rig.link.order == ["2025/opened", "2025/reminder/864000s", "2025/closed", "2025/assessed"])
    #expect(round.steps.filter { $0.state == .skipped }.count == 3)
  }

  @Test("publishing twice gives identical files")
  func publishingTwice() async throws {
    let rig = try await Fixture.Rig(schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"))
    for (_, due) in Fixture.steps() { await rig.run(at: due) }
    let first = try rig.published()
    #expect(first.count == 3)
    // Publishing again from the stored results (as a re-driven step does) writes the same bytes.
    let results = try #require(try await rig.engine.results(2025))
    let step = try #require(try await rig.engine.round(2025)?.step("2025/published"))
    let again = Assessment.ResultsPublication.render(results, publishedAt: ShanghaiTime.formatDate(step.recordedAt))
    #expect(again.mapValues { Data($0) } == first)
  }
}
