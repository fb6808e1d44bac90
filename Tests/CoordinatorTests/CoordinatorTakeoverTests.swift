import AggregatorStore
import DaemonSupport
import Foundation
import HiTechTestSupport
import Testing

@testable import Coordinator

#if canImport(Glibc)
import Glibc
#endif

/// An active and a standby coordinator as real processes on one PostgreSQL store, driving a
/// real aggregator process.
@Suite(.serialized)
struct CoordinatorTakeoverTests {
  @Test(
    "active coordinator killed mid-round with a step pending: the standby takes over, finishes the round, and the timeline shows each step once",
    .enabled(if: CoordinatorBackend.postgresURL != nil, Comment(rawValue: CoordinatorBackend.skippedMessage)),
    .timeLimit(.minutes(6)))
  func standbyFinishesTheRound() async throws {
    try await withCoordinatorDatabase(.postgres) { database in
      // The coordinator's key is registered before the aggregator starts, so that its first
      // handshake is admitted.
      let aggregator = try AggregatorProcess(reporters: ["110000"], years: [])
      let key = try CurveKeyFile.generate(name: "coordinator", in: aggregator.keysDirectory)
      try aggregator.runCLI(["registry", "register-key", "--role", "coordinator", "--name", "central", "--public-key", key.publicKeyPath])
      try await aggregator.start()

      // One simulated day every 3 s of real time: the round opens about 4 s after the start,
      // the reminder is due 10 s later, the deadline 20 s after the start, publication at 28 s.
      let configuration: [String: Any] = [
        "store": database.location,
        "aggregatorEndpoint": aggregator.endpoint,
        "aggregatorPublicKeyPath": aggregator.serverPublicKeyPath,
        "secretKeyPath": key.secretKeyPath,
        "clock": ["speed": 28_800, "epoch": "2026-01-01T00:00"] as [String: Any],
        "rounds": [
          "years": [2025],
          "2025": [
            "opensAt": "2026-01-02T09:00", "reminders": ["3d"], "deadline": "2026-01-07T17:00",
            "assessmentAt": "2026-01-08T09:00", "publishAt": "2026-01-09T09:00",
          ] as [String: Any],
        ] as [String: Any],
      ]
      let first = try CoordinatorUnderTest(extra: configuration)
      let second = try CoordinatorUnderTest(extra: configuration)
      try first.start()
      try await first.waitUntilRunning()
      try await eventuallyTrue { first.status()?.leadership == "active" }
      try second.start()
      try await second.waitUntilRunning()
      try await eventuallyTrue { second.status()?.leadership == "standby" }
      #expect(first.status()?.leadership == "active", "\(first.log().suffix(2000))")

      // Mid-round: the round is open at the aggregator, the reminder and the rest are to come.
      let store = try await database.open()
      try await eventuallyTrue(within: 120) {
        try await store.round(2025)?.step("2025/opened")?.state == .applied
      }
      let standby = try await CoordinatorUnderTest.runToEnd(["coordinator", "status", "--config", second.configPath])
      #expect(standby.status == 0 && standby.output.contains("running, standby"), "\(standby.output)")
      // A change by hand sent to the standby is refused: only the active one steps.
      let byHand = try await CoordinatorUnderTest.runToEnd([
        "coordinator", "advance", "--config", second.configPath, "--year", "2025", "--to", "closed", "--reason", "test", "--yes",
      ])
      #expect(byHand.status == 1 && byHand.output.contains("standby"), "\(byHand.output)")
      #expect(try await store.round(2025)?.state == .open)
      #expect(first.metrics().contains("hitech_coordinator_active 1\n"), "\(first.metrics())")
      #expect(second.metrics().contains("hitech_coordinator_active 0\n"), "\(second.metrics())")

      // The active one is killed while a step is recorded but not applied: the aggregator is
      // stopped (SIGSTOP) once the round is open, so the next step's call (the reminder, or
      // the closing when the fast calendar already passed the reminder) waits there.
      let aggregatorPID = try #require(aggregator.processIdentifier)
      kill(aggregatorPID, SIGSTOP)
      try await eventuallyTrue(within: 120) { try await !store.pendingSteps().isEmpty }
      try await Task.sleep(for: .milliseconds(500))  // its call is on its way to the aggregator
      let pending = try await store.pendingSteps().map(\.id)
      #expect(
        pending.count == 1,
        "\(pending); first: \(first.log().suffix(3000))\nsecond: \(second.log().suffix(3000))\naggregator: \(aggregator.log().suffix(2000))")
      print("the active coordinator is killed with \(pending) recorded and not applied")
      first.kill9()
      let killed = ContinuousClock.now
      kill(aggregatorPID, SIGCONT)  // it may now apply the dead one's call: the standby's repeat changes nothing

      try await eventuallyTrue(within: 60) { second.status()?.leadership == "active" }
      let takeover = ContinuousClock.now - killed
      print("standby active \(takeover) after the active coordinator was killed (status file written every 2 s)")
      #expect(takeover < .seconds(30), "a standby takes over within seconds")
      #expect(second.log().contains("active: this coordinator holds the leadership"), "\(second.log().suffix(3000))")

      try await eventuallyTrue(within: 180) { try await store.round(2025)?.state == .published }
      try await eventuallyTrue(within: 60) { try await store.pendingSteps().isEmpty }
      let round = try #require(try await store.round(2025))
      print("the reminder the killed coordinator had sent was \(round.step("2025/reminder/259200s")?.detail.alreadyApplied == true ? "" : "not ")applied by the aggregator before the standby drove it")
      let expected = ["2025/opened", "2025/reminder/259200s", "2025/closed", "2025/assessed", "2025/published"]
      #expect(round.steps.map(\.id) == expected, "\(round.steps.map(\.id))")
      #expect(round.steps.allSatisfy { $0.state == .applied }, "\(round.steps.map { "\($0.id) \($0.state)" })")
      #expect(round.transitions.map(\.to) == [.open, .closed, .assessed, .published])
      #expect(Set(round.transitions.map(\.stepId)).count == round.transitions.count)

      // The timeline an operator reads (from either coordinator's configuration).
      let timeline = try await CoordinatorUnderTest.runToEnd(["coordinator", "timeline", "--config", second.configPath, "--year", "2025"])
      #expect(timeline.status == 0, "\(timeline.output)")
      for id in expected {
        #expect(timeline.output.components(separatedBy: " \(id) ").count == 2, "\(id) once in: \(timeline.output)")
      }
      // The aggregator applied each step once: one notice per step for the reporter.
      let aggregatorStore = try await aggregator.openStore()
      let notices = try await aggregatorStore.notices(reporterCode: "110000", afterSequence: 0, reportYears: [2025], limit: 100)
      try await aggregatorStore.close()
      #expect(notices.map(\.stepId) == ["2025/opened", "2025/reminder/259200s", "2025/closed", "2025/published"], "\(notices.map(\.stepId))")
      #expect(try await aggregator.openStore().round(reportYear: 2025)?.state == .published)
      #expect(FileManager.default.fileExists(atPath: second.directory + "/published/results-2025.html"))

      try await eventuallyTrue { second.metrics().contains("hitech_coordinator_round_state{year=\"2025\",state=\"published\"} 1") }
      #expect(second.metrics().contains("hitech_coordinator_active 1\n"), "\(second.metrics())")
      #expect(second.metrics().contains("hitech_coordinator_pending_steps 0\n"), "\(second.metrics())")
      let status = try await CoordinatorUnderTest.runToEnd(["coordinator", "status", "--config", second.configPath])
      #expect(status.status == 0 && status.output.contains("running, active"), "\(status.output)")
      try await store.close()
      #expect(try await second.terminate(within: .seconds(60)).status == 0)
      _ = aggregator.terminate()
    }
  }
}
