import Assessment
import Foundation
import Testing

@testable import Coordinator

@Suite("Manual operations", .timeLimit(.minutes(1)))
struct ManualTests {
  @Test("advance by hand: next state only, with reason and actor; the calendar neither repeats nor skips it")
  func advanceRules() async throws {
    let rig = try await Fixture.Rig(schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"))
    let engine = rig.engine

    await #expect(throws: CoordinatorError.self) {
      try await engine.advance(reportYear: 2025, to: .open, reason: " ", actor: "operator:li")
    }
    do {
      try await engine.advance(reportYear: 2025, to: .closed, reason: "skip", actor: "operator:li")
      Issue.record("skipping a state was allowed")
    } catch let error as CoordinatorError {
      #expect(error.code == .failedPrecondition)
      #expect(error.message.contains("never skips"))
    }
    do {
      try await engine.advance(reportYear: 2024, to: .open, reason: "no such", actor: "operator:li")
      Issue.record("an unknown round was advanced")
    } catch let error as CoordinatorError {
      #expect(error.code == .notFound)
    }
    do {
      try await engine.advance(reportYear: 2025, to: .open, reason: "early", actor: "operator:li", expectedState: .open)
      Issue.record("a wrong expected state was accepted")
    } catch let error as CoordinatorError {
      #expect(error.code == .aborted)
    }

    // Open early by hand, then again (idempotent), then back (refused).
    let (opened, report) = try await engine.advance(
      reportYear: 2025, to: .open, reason: "open early for the pilot", actor: "operator:li", expectedState: .planned)
    #expect(opened.state == .open)
    #expect(report.applied == ["2025/opened"])
    #expect(opened.transitions.last?.reason == "open early for the pilot")
    #expect(opened.transitions.last?.actor == "operator:li")
    let (again, _) = try await engine.advance(reportYear: 2025, to: .open, reason: "retry", actor: "operator:li")
    #expect(again.transitions.count == 1)
    do {
      try await engine.advance(reportYear: 2025, to: .planned, reason: "back", actor: "operator:li")
      Issue.record("going back was allowed")
    } catch let error as CoordinatorError {
      #expect(error.code == .failedPrecondition)
      #expect(error.message.contains("never goes back"))
    }

    // The calendar does not open it again; close early by hand: the reminders are then skipped.
    #expect(await rig.run(at: Fixture.time("2026-01-05T09:00")).recorded.isEmpty)
    try await engine.advance(reportYear: 2025, to: .closed, reason: "all reported", actor: "operator:wang")
    let later = await rig.run(at: Fixture.time("2026-04-01T00:00"))
    #expect(later.recorded.isEmpty)
    #expect(later.skipped.count == 2)
    #expect(later.skipped.values.allSatisfy { $0.contains("already closed") })
    #expect(rig.link.order == ["2025/opened", "2025/closed"])
    let audit = try await rig.store.audit(limit: 100)
    #expect(audit.contains { $0.actor == "operator:wang" && $0.subject == "2025/closed" })
  }

  @Test("expert scores are taken until the round is assessed and go into the results")
  func expertScores() async throws {
    let rig = try await Fixture.Rig(schedules: [Fixture.schedule()], now: Fixture.time("2026-01-01T00:00"))
    let score = ExpertScore(baseId: "HTB-110000-INF", expertId: "E01", scoreMilli: 90_000, comment: "strong")
    try await rig.engine.recordExpertScore(reportYear: 2025, score: score, actor: "operator:li")
    await #expect(throws: CoordinatorError.self) {
      try await rig.engine.recordExpertScore(
        reportYear: 2025, score: ExpertScore(baseId: "HTB-110000-INF", expertId: "E02", scoreMilli: 100_001), actor: "operator:li")
    }
    // A score for a base not assessed this round is left out rather than stopping the assessment.
    try await rig.engine.recordExpertScore(
      reportYear: 2025, score: ExpertScore(baseId: "HTB-999999-XXX", expertId: "E01", scoreMilli: 50_000), actor: "operator:li")
    for (_, due) in Fixture.steps().prefix(5) { await rig.run(at: due) }
    #expect(try await rig.engine.round(2025)?.state == .assessed)
    #expect(try await rig.store.pendingSteps().isEmpty)
    let results = try #require(try await rig.engine.results(2025))
    #expect(results.bases.first { $0.baseId == "HTB-110000-INF" }?.expertScores.map(\.scoreMilli) == [90_000])
    do {
      try await rig.engine.recordExpertScore(reportYear: 2025, score: score, actor: "operator:li")
      Issue.record("a score was taken after the assessment")
    } catch let error as CoordinatorError {
      #expect(error.code == .failedPrecondition)
    }
  }
}
