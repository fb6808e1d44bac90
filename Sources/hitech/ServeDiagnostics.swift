import ArgumentParser
import DaemonSupport
import GRPCCore
import Logging
import ServiceLifecycle
import ZeroMQ
import ZeroMQTransport

struct ServeDiagnostics: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve-diagnostics",
    abstract: "Serve only the Diagnostics service over ZeroMQ, to check keys and connectivity.",
    discussion: """
      Stops cleanly on SIGTERM or SIGINT. With --secret-key the socket uses CURVE and admits
      only the keys given with --allow, reporting each caller's identity to WhoAmI.
      """
  )

  @Option(help: "The endpoint to bind, e.g. tcp://127.0.0.1:7400 or ipc:///run/hitech/diag.sock.")
  var endpoint: String = "tcp://127.0.0.1:7400"

  @Option(help: "This server's CURVE secret key file (mode 0600). Without it the socket is plaintext.")
  var secretKey: String?

  @Option(help: "A client allowed in, as IDENTITY=PUBLIC_KEY_FILE (repeatable).")
  var allow: [String] = []

  func run() async throws {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    let logger = Logger(label: "hitech.serve-diagnostics")
    let security: ZeroMQTransport.Security
    if let secretKey {
      var allowed: [CurveKey: String] = [:]
      for entry in allow {
        guard let separator = entry.firstIndex(of: "=") else {
          throw ValidationError("--allow \(entry): expected IDENTITY=PUBLIC_KEY_FILE")
        }
        let key = try CurveKeyFile.readPublicKey(String(entry[entry.index(after: separator)...]))
        allowed[key] = String(entry[..<separator])
      }
      security = .curveServer(keyPair: try CurveKeyFile.readKeyPair(secretKeyPath: secretKey), policy: CurveAllowList(allowed))
    } else {
      guard allow.isEmpty else { throw ValidationError("--allow needs --secret-key: a plaintext socket authenticates nobody") }
      security = .plaintext
    }
    let transport = ZeroMQTransport.Server(
      endpoint: endpoint, security: security, configuration: .init(logger: logger)
    )
    let server = GRPCServer(transport: transport, services: [DiagnosticsService(role: "serve-diagnostics")])
    let group = ServiceGroup(
      configuration: .init(
        services: [.init(service: GRPCServerService(server: server))],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger
      )
    )
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      tasks.addTask {
        let bound = try await transport.listeningEndpoint()
        logger.info("serving Diagnostics", metadata: ["zmq.endpoint": "\(bound)", "curve": "\(secretKey != nil)"])
      }
      try await tasks.waitForAll()
    }
  }
}
