import Foundation
import GRPCCore
import HiTechSchema
import ProvinceNode
import Synchronization
import Testing
import ZeroMQ
import ZeroMQTransport

/// A CURVE server with the aggregator's keys whose `ReportIngest.Submit` answers from a script:
/// for each base, the statuses its calls get in turn, then a receipt.
final class ScriptedAggregator: Sendable {
  final class State: Sendable {
    let script: Mutex<[String: [RPCError.Code]]>
    let calls = Mutex<[String: Int]>([:])
    init(script: [String: [RPCError.Code]]) { self.script = Mutex(script) }
  }

  struct Service: Ndrc_Hitech_V1_ReportIngest.SimpleServiceProtocol {
    let state: State

    func submit(request: Ndrc_Hitech_V1_Submission, context: ServerContext) async throws -> Ndrc_Hitech_V1_Receipt {
      state.calls.withLock { $0[request.baseID, default: 0] += 1 }
      let failure = state.script.withLock { script -> RPCError.Code? in
        guard var codes = script[request.baseID], !codes.isEmpty else { return nil }
        let code = codes.removeFirst()
        script[request.baseID] = codes
        return code
      }
      if let failure { throw RPCError(code: failure, message: "scripted \(failure)") }
      var receipt = Ndrc_Hitech_V1_Receipt()
      receipt.submissionID = request.submissionID
      receipt.accessionNumber = "HT-\(request.reportYear)-00000001"
      receipt.baseID = request.baseID
      receipt.reportYear = request.reportYear
      receipt.revision = request.revision
      return receipt
    }

    func validateSubmission(request: Ndrc_Hitech_V1_Submission, context: ServerContext) async throws -> Ndrc_Hitech_V1_ValidationResult {
      throw RPCError(code: .unimplemented, message: "not scripted")
    }

    func getReceipt(request: Ndrc_Hitech_V1_GetReceiptRequest, context: ServerContext) async throws -> Ndrc_Hitech_V1_Receipt {
      throw RPCError(code: .unimplemented, message: "not scripted")
    }

    func listSubmissions(request: Ndrc_Hitech_V1_ListSubmissionsRequest, context: ServerContext) async throws -> Ndrc_Hitech_V1_ListSubmissionsResponse {
      throw RPCError(code: .unimplemented, message: "not scripted")
    }
  }

  let service: Service
  let transport: ZeroMQTransport.Server
  let server: GRPCServer<ZeroMQTransport.Server>

  init(keys: CurveKeyPair, nodeKey: CurveKey, reporter: String, script: [String: [RPCError.Code]]) {
    service = Service(state: State(script: script))
    transport = ZeroMQTransport.Server(
      endpoint: "tcp://127.0.0.1:*",
      security: .curveServer(keyPair: keys, policy: CurveAllowList([nodeKey: reporter]))
    )
    server = GRPCServer(transport: transport, services: [service])
  }

  func calls(_ base: String) -> Int { service.state.calls.withLock { $0[base] ?? 0 } }
}

/// The node files a message in rejected/ only when the aggregator refused it; a call that
/// failed otherwise — the transport's or GRPCCore's UNKNOWN, INTERNAL, CANCELLED, a deadline,
/// an unregistered key — is retried until it gets a receipt.
@Suite(.serialized)
struct NodeRetryTests {
  @Test(
    "a Submit failing with UNKNOWN, INTERNAL, CANCELLED, DEADLINE_EXCEEDED, UNAUTHENTICATED, UNIMPLEMENTED, ABORTED, DATA_LOSS is retried until sent; INVALID_ARGUMENT goes to rejected/",
    .timeLimit(.minutes(3))
  )
  func onlyRefusalsAreRejected() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: ["110000"], years: [2000])
    let failures: [RPCError.Code] = [
      .unknown, .internalError, .cancelled, .deadlineExceeded, .unauthenticated, .unimplemented, .aborted, .dataLoss,
    ]
    let scripted = ScriptedAggregator(
      keys: aggregator.serverKeys,
      nodeKey: try #require(aggregator.nodeKeys["110000"]).publicKey,
      reporter: "110000",
      script: ["SAMPLE-110000-01": failures, "SAMPLE-110000-02": [.invalidArgument]]
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await scripted.server.serve() }
      defer { scripted.server.beginGracefulShutdown() }
      let endpoint = try await scripted.transport.listeningEndpoint()
      let node = try NodeUnderTest(
        reporter: "110000", aggregator: aggregator,
        // A generous deadline: the scripted server answers at once, and a call timed out on a
        // loaded machine would be retried, which this test counts.
        extra: [
          "aggregatorEndpoint": endpoint, "initialBackoffMilliseconds": 50, "maxBackoffMilliseconds": 200,
          "callTimeoutSeconds": 60,
        ])
      try node.start()
      try node.drop("retried.json", try NodeSamples.submission(base: "SAMPLE-110000-01", year: 2000))
      try node.drop("refused.json", try NodeSamples.submission(base: "SAMPLE-110000-02", year: 2000))
      try await node.waitUntilDone(2, timeout: .seconds(90))

      #expect(node.files("sent").count == 1 && node.files("sent").first?.hasSuffix("retried.json") == true,
              "sent \(node.files("sent")), rejected \(node.files("rejected")): \(node.log().suffix(3000))")
      #expect(node.files("rejected").count == 1 && node.files("rejected").first?.hasSuffix("refused.json") == true,
              "rejected \(node.files("rejected"))")
      #expect(scripted.calls("SAMPLE-110000-01") == failures.count + 1)
      #expect(scripted.calls("SAMPLE-110000-02") == 1)
      let reason = node.files("rejected").first.map { node.text("rejected", $0 + ".rejected.txt") } ?? ""
      #expect(reason.contains("invalidArgument") || reason.contains("INVALID_ARGUMENT"), "\(reason)")
      #expect(node.terminate() == 0)
    }
  }
}
