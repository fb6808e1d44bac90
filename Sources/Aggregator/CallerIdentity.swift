import GRPCCore
import ZeroMQTransport

/// Who is calling, as the ZAP handler established it from the CURVE key (never from a message
/// field or metadata): a reporter's node (identity = the reporter code), the coordinator
/// ("coordinator:NAME") or an NDRC operator ("operator:NAME").
enum CallerIdentity: Sendable, Hashable {
  case reporter(code: String)
  case coordinator(name: String)
  case `operator`(name: String)

  init(userID: String) {
    if let colon = userID.firstIndex(of: ":") {
      let role = userID[..<colon]
      let name = String(userID[userID.index(after: colon)...])
      switch role {
      case "coordinator": self = .coordinator(name: name)
      case "operator": self = .operator(name: name)
      default: self = .reporter(code: userID)
      }
    } else {
      self = .reporter(code: userID)
    }
  }

  /// The caller of an RPC; `unauthenticated` when the connection carries no identity.
  static func of(_ context: ServerContext) throws -> CallerIdentity {
    guard let identity = context.zeroMQPeer?.userID, !identity.isEmpty else {
      throw RPCError(
        code: .unauthenticated,
        message: "This connection carries no identity: connect with CURVE and a registered key"
      )
    }
    return CallerIdentity(userID: identity)
  }

  /// The actor written in audit entries.
  var actor: String {
    switch self {
    case .reporter(let code): "reporter:\(code)"
    case .coordinator(let name): "coordinator:\(name)"
    case .operator(let name): "operator:\(name)"
    }
  }

  var isCentral: Bool {
    if case .reporter = self { return false }
    return true
  }
}
