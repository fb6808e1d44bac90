import Aggregator
import AggregatorStore
import Foundation
import GRPCCore
import HiTechSchema
import Logging
import Testing
import ZeroMQ
import ZeroMQTransport

@testable import Coordinator

@Suite("The real link and RoundControl over ZeroMQ", .timeLimit(.minutes(1)))
struct LinkTests {
  @Test("a whole round through RoundRelayLink (CURVE) at the aggregator's RoundRelay service on a real store")
  func realAggregator() async throws {
    let directory = Fixture.temporaryDirectory()
    let logger = Fixture.logger
    let database = try AggregatorDatabase(path: directory + "/aggregator.sqlite", logger: logger)
    let serverKeys = try CurveKeyPair.generate()
    let coordinatorKeys = try CurveKeyPair.generate()
    let transport = ZeroMQTransport.Server(
      endpoint: "tcp://127.0.0.1:*",
      security: .curveServer(keyPair: serverKeys, policy: CurveAllowList([coordinatorKeys.publicKey: "coordinator:central"])))
    let server = GRPCServer(
      transport: transport, services: [RoundRelayService(database: database, bell: NoticeBell(), logger: logger)])
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let endpoint = try await transport.listeningEndpoint()
      let link = RoundRelayLink(
        endpoint: endpoint, security: .curveClient(keyPair: coordinatorKeys, serverPublicKey: serverKeys.publicKey),
        callTimeout: .seconds(10), logger: logger)
      group.addTask { try await link.run() }

      let rig = try await Fixture.Rig(
        schedules: [Fixture.schedule(latePolicy: .refuse)], now: Fixture.time("2026-01-01T00:00"), link: FakeAggregator())
      let engine = RoundCoordinator(
        store: rig.store, link: link, clock: rig.clock,
        settings: .init(publishDirectory: rig.publishDirectory, schedules: rig.schedules), logger: logger)
      try await engine.start()
      for (id, due) in Fixture.steps() {
        rig.clock.set(due)
        let report = await engine.tick()
        #expect(report.applied == [id], "\(report.lines)")
        if id == "2025/closed" {
          let round = try await database.round(reportYear: 2025)
          #expect(round?.state == .closed)
          #expect(round?.latePolicy == .refuse)
        }
      }
      #expect(try await database.round(reportYear: 2025)?.state == .published)
      #expect(try await engine.round(2025)?.steps.allSatisfy { $0.state == .applied } == true)

      // A step applied again (as after a crash) is answered as already applied.
      let step = try #require(try await engine.round(2025)?.step("2025/closed"))
      var request = Ndrc_Hitech_V1_ApplyRoundStepRequest()
      request.stepID = step.id
      request.round = try Ndrc_Hitech_V1_Round(serializedBytes: step.roundMessage ?? [])
      request.closed = .init()
      #expect(try await link.applyRoundStep(request).alreadyApplied)

      link.grpc.beginGracefulShutdown()
      server.beginGracefulShutdown()
      try await group.waitForAll()
    }
    try await database.close()
  }

  @Test("RoundControl: list, get, advance by hand with the operator's name, status codes")
  func roundControl() async throws {
    let rig = try await Fixture.Rig(
      schedules: [Fixture.schedule(2025), Fixture.schedule(2026)], now: Fixture.time("2026-01-01T00:00"))
    let transport = ZeroMQTransport.Server(endpoint: "ipc://\(rig.directory)/control.sock", security: .plaintext)
    let server = GRPCServer(transport: transport, services: [RoundControlService(coordinator: rig.engine, logger: Fixture.logger)])
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let endpoint = try await transport.listeningEndpoint()
      try await withGRPCClient(transport: ZeroMQTransport.Client(endpoint: endpoint)) { grpc in
        let client = Ndrc_Hitech_V1_RoundControl.Client(wrapping: grpc)
        var list = Ndrc_Hitech_V1_ListRoundsRequest()
        list.pageSize = 1
        let page = try await client.listRounds(list)
        #expect(page.rounds.map(\.reportYear) == [2026])
        list.pageToken = page.nextPageToken
        #expect(try await client.listRounds(list).rounds.map(\.reportYear) == [2025])

        var get = Ndrc_Hitech_V1_GetRoundRequest()
        get.reportYear = 2024
        await #expect { try await client.getRound(get) } throws: { ($0 as? RPCError)?.code == .notFound }

        var update = Ndrc_Hitech_V1_UpdateRoundStateRequest()
        update.reportYear = 2025
        update.toState = .closed
        update.reason = "skip"
        await #expect { try await client.updateRoundState(update) } throws: { ($0 as? RPCError)?.code == .failedPrecondition }
        update.toState = .open
        update.expectedState = .open
        await #expect { try await client.updateRoundState(update) } throws: { ($0 as? RPCError)?.code == .aborted }
        update.expectedState = .planned
        update.reason = ""
        await #expect { try await client.updateRoundState(update) } throws: { ($0 as? RPCError)?.code == .invalidArgument }
        update.reason = "pilot opens early"
        let round = try await client.updateRoundState(update, metadata: ["hitech-actor": "li"])
        #expect(round.state == .open)
        #expect(round.history.last?.actor == "operator:li")
        #expect(round.history.last?.reason == "pilot opens early")
        // The same transition again: a no-op returning the round.
        #expect(try await client.updateRoundState(update, metadata: ["hitech-actor": "li"]).history.count == 1)
      }
      server.beginGracefulShutdown()
      try await group.waitForAll()
    }
    #expect(rig.link.order == ["2025/opened"])
  }
}
