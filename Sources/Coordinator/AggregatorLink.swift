import GRPCCore
public import HiTechSchema
import Logging
public import ServiceLifecycle
public import ZeroMQTransport

/// The coordinator's way to the aggregator (RoundRelay). The real one is ``RoundRelayLink``;
/// tests use a fake conforming to the same protocol.
public protocol AggregatorLink: Sendable {
  /// Applies one step at the aggregator: the round's new state and what to announce. Applying
  /// a step id again changes nothing there and returns the first answer.
  /// - Throws: an `RPCError`; `unavailable` and `deadlineExceeded` are worth retrying soon.
  func applyRoundStep(_ request: Ndrc_Hitech_V1_ApplyRoundStepRequest) async throws -> Ndrc_Hitech_V1_ApplyRoundStepResponse
  /// Every base expected to report for `reportYear`, with its reports (ListAssessmentInputs).
  func assessmentInputs(reportYear: Int) async throws -> [Ndrc_Hitech_V1_AssessmentInput]
  /// A signed tree head of the submissions log covering every report stored now (SignTreeHead).
  func signTreeHead() async throws -> Ndrc_Hitech_V1_SignedTreeHead
}

/// The real link: a `GRPCClient` on a ``ZeroMQTransport/ZeroMQTransport/Client`` (CURVE, with
/// the coordinator's key registered at the aggregator with the coordinator role) calling
/// `Ndrc_Hitech_V1_RoundRelay`. It is a `Service`: ``run()`` runs the client's connections
/// until graceful shutdown; calls made before then wait for it.
public final class RoundRelayLink: AggregatorLink, Service {
  let grpc: GRPCClient<ZeroMQTransport.Client>
  let client: Ndrc_Hitech_V1_RoundRelay.Client<ZeroMQTransport.Client>
  let callTimeout: Duration

  /// - Parameters:
  ///   - endpoint: the aggregator's ROUTER endpoint.
  ///   - security: `.curveClient(keyPair:serverPublicKey:)` in production.
  ///   - callTimeout: the deadline of each call.
  public init(endpoint: String, security: ZeroMQTransport.Security, callTimeout: Duration = .seconds(30), logger: Logger) {
    let transport = ZeroMQTransport.Client(
      endpoint: endpoint, security: security, configuration: .init(logger: logger))
    grpc = GRPCClient(transport: transport)
    client = Ndrc_Hitech_V1_RoundRelay.Client(wrapping: grpc)
    self.callTimeout = callTimeout
  }

  /// Runs the connections until graceful shutdown (then lets calls in flight finish).
  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await grpc.runConnections()
    } onGracefulShutdown: {
      self.grpc.beginGracefulShutdown()
    }
  }

  public func applyRoundStep(_ request: Ndrc_Hitech_V1_ApplyRoundStepRequest) async throws -> Ndrc_Hitech_V1_ApplyRoundStepResponse {
    var options = CallOptions.defaults
    options.timeout = callTimeout
    return try await client.applyRoundStep(request, options: options)
  }

  public func assessmentInputs(reportYear: Int) async throws -> [Ndrc_Hitech_V1_AssessmentInput] {
    var request = Ndrc_Hitech_V1_ListAssessmentInputsRequest()
    request.reportYear = Int32(clamping: reportYear)
    var options = CallOptions.defaults
    options.timeout = callTimeout
    return try await client.listAssessmentInputs(request, options: options) { response in
      var inputs: [Ndrc_Hitech_V1_AssessmentInput] = []
      for try await input in response.messages { inputs.append(input) }
      return inputs
    }
  }

  public func signTreeHead() async throws -> Ndrc_Hitech_V1_SignedTreeHead {
    var options = CallOptions.defaults
    options.timeout = callTimeout
    return try await client.signTreeHead(Ndrc_Hitech_V1_SignTreeHeadRequest(), options: options)
  }
}
