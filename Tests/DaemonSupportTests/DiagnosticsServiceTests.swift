import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import Testing
import ZeroMQ
import ZeroMQTransport

@Suite("Diagnostics service over the ZeroMQ transport with CURVE", .timeLimit(.minutes(1)))
struct DiagnosticsServiceTests {
  @Test("ping echoes, whoAmI reports the ZAP identity, count streams in order")
  func diagnostics() async throws {
    let serverKeys = try CurveKeyPair.generate()
    let nodeKeys = try CurveKeyPair.generate()
    let transport = ZeroMQTransport.Server(
      endpoint: "tcp://127.0.0.1:*",
      security: .curveServer(keyPair: serverKeys, policy: CurveAllowList([nodeKeys.publicKey: "370200"]))
    )
    let server = GRPCServer(transport: transport, services: [DiagnosticsService(role: "test")])
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let endpoint = try await transport.listeningEndpoint()
      let clientTransport = ZeroMQTransport.Client(
        endpoint: endpoint,
        security: .curveClient(keyPair: nodeKeys, serverPublicKey: serverKeys.publicKey)
      )
      try await withGRPCClient(transport: clientTransport) { grpc in
        let client = Ndrc_Hitech_V1_Diagnostics.Client(wrapping: grpc)
        var ping = Ndrc_Hitech_V1_PingRequest()
        ping.payload = Data([1, 2, 3])
        let pong = try await client.ping(ping)
        #expect(pong.payload == Data([1, 2, 3]))
        #expect(pong.serverRole == "test")
        #expect(pong.hasServerTime)

        let identity = try await client.whoAmI(Ndrc_Hitech_V1_WhoAmIRequest())
        #expect(identity.authenticatedIdentity == "370200")
        #expect(identity.peerAddress == "127.0.0.1")

        var request = Ndrc_Hitech_V1_CountRequest()
        request.count = 500
        let indices = try await client.count(request) { response in
          var seen: [UInt32] = []
          for try await message in response.messages { seen.append(message.index) }
          return seen
        }
        #expect(indices == Array(0..<500))

        request.count = 2_000_000
        await #expect(throws: RPCError.self) {
          try await client.count(request) { response in
            for try await _ in response.messages {}
          }
        }
      }
      server.beginGracefulShutdown()
      try await group.waitForAll()
    }
  }
}
