public import GRPCCore
public import HiTechSchema
import SwiftProtobuf
import ZeroMQTransport

/// The `ndrc.hitech.v1.Diagnostics` service that every daemon offers: echo, the caller's
/// authenticated identity as the transport established it, and a numbered stream.
public struct DiagnosticsService: Ndrc_Hitech_V1_Diagnostics.SimpleServiceProtocol {
  /// The role named in ping answers, e.g. `"aggregator"`.
  public let role: String

  public init(role: String) {
    self.role = role
  }

  public func ping(
    request: Ndrc_Hitech_V1_PingRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_PingResponse {
    var response = Ndrc_Hitech_V1_PingResponse()
    response.payload = request.payload
    response.serverTime = Google_Protobuf_Timestamp(date: .now)
    response.serverRole = role
    return response
  }

  public func whoAmI(
    request: Ndrc_Hitech_V1_WhoAmIRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_WhoAmIResponse {
    var response = Ndrc_Hitech_V1_WhoAmIResponse()
    response.authenticatedIdentity = context.zeroMQPeer?.userID ?? ""
    response.peerAddress = context.zeroMQPeer?.address ?? ""
    return response
  }

  public func count(
    request: Ndrc_Hitech_V1_CountRequest,
    response: RPCWriter<Ndrc_Hitech_V1_CountResponse>,
    context: ServerContext
  ) async throws {
    guard request.count <= 1_000_000 else {
      throw RPCError(code: .invalidArgument, message: "count: at most 1,000,000 messages, got \(request.count)")
    }
    for index in 0..<request.count {
      if context.cancellation.isCancelled {
        throw RPCError(code: .cancelled, message: "Count stopped at \(index): the RPC was cancelled (deadline, client or shutdown)")
      }
      var message = Ndrc_Hitech_V1_CountResponse()
      message.index = index
      try await response.write(message)
    }
  }
}
