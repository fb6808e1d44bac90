public import GRPCCore
public import HiTechSchema
import DaemonSupport
import HiTechDomain
import Logging

/// The coordinator's `ndrc.hitech.v1.RoundControl` service for NDRC operators: list rounds,
/// get one, move one to its next state by hand. (The missing bases of a round are the
/// aggregator's knowledge: `ArrivalStatus.ListMissing`, `hitech status`.)
///
/// It is served only on an ipc:// or loopback endpoint (the configuration refuses others), so
/// whoever can reach it is an operator of this machine; the operator's name for the history and
/// the audit log is taken from the request metadata `hitech-actor` (default "operator").
public struct RoundControlService: Ndrc_Hitech_V1_RoundControl.ServiceProtocol {
  let coordinator: RoundCoordinator
  let logger: Logger

  public init(coordinator: RoundCoordinator, logger: Logger) {
    self.coordinator = coordinator
    self.logger = logger
  }

  public func listRounds(
    request: ServerRequest<Ndrc_Hitech_V1_ListRoundsRequest>,
    context: ServerContext
  ) async throws -> ServerResponse<Ndrc_Hitech_V1_ListRoundsResponse> {
    let message = request.message
    guard message.pageSize >= 0 else {
      throw RPCError(code: .invalidArgument, message: "page_size: must not be negative, got \(message.pageSize)")
    }
    let size = message.pageSize == 0 ? 20 : min(Int(message.pageSize), 100)
    var below = Int.max
    if !message.pageToken.isEmpty {
      guard let year = Int(message.pageToken) else {
        throw RPCError(code: .invalidArgument, message: "page_token: not a token from a previous response")
      }
      below = year
    }
    let states = Set(message.states.compactMap(RoundState.init))
    let rounds = try await call {
      try await coordinator.rounds().reversed().filter { $0.reportYear < below && (states.isEmpty || states.contains($0.state)) }
    }
    var response = Ndrc_Hitech_V1_ListRoundsResponse()
    response.rounds = rounds.prefix(size).map(Ndrc_Hitech_V1_Round.init)
    if rounds.count > size, let last = rounds.prefix(size).last {
      response.nextPageToken = "\(last.reportYear)"
    }
    return ServerResponse(message: response)
  }

  public func getRound(
    request: ServerRequest<Ndrc_Hitech_V1_GetRoundRequest>,
    context: ServerContext
  ) async throws -> ServerResponse<Ndrc_Hitech_V1_Round> {
    let year = Int(request.message.reportYear)
    guard year != 0 else { throw RPCError(code: .invalidArgument, message: "report_year: required") }
    guard let round = try await call({ try await coordinator.roundMessage(year) }) else {
      throw RPCError(code: .notFound, message: "no round for report year \(year)")
    }
    return ServerResponse(message: round)
  }

  public func updateRoundState(
    request: ServerRequest<Ndrc_Hitech_V1_UpdateRoundStateRequest>,
    context: ServerContext
  ) async throws -> ServerResponse<Ndrc_Hitech_V1_Round> {
    let message = request.message
    let year = Int(message.reportYear)
    guard year != 0 else { throw RPCError(code: .invalidArgument, message: "report_year: required") }
    guard let target = RoundState(message.toState) else { throw RPCError(code: .invalidArgument, message: "to_state: required") }
    let actor = "operator:" + (request.metadata["hitech-actor"].compactMap { value -> String? in
      if case .string(let text) = value { return text }
      return nil
    }.first ?? "operator")
    let (round, _) = try await call {
      try await coordinator.advance(
        reportYear: year, to: target, reason: message.reason, actor: actor,
        expectedState: RoundState(message.expectedState))
    }
    return ServerResponse(message: Ndrc_Hitech_V1_Round(round))
  }

  /// Turns ``CoordinatorError`` into the status codes of round_control_service.proto, once.
  private func call<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let error as CoordinatorError {
      let code: RPCError.Code =
        switch error.code {
        case .notFound: .notFound
        case .invalidArgument: .invalidArgument
        case .failedPrecondition: .failedPrecondition
        case .aborted: .aborted
        case .storage: .unavailable
        default: .internalError
        }
      throw RPCError(code: code, message: error.message)
    }
  }
}
