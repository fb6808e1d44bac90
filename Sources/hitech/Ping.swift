import ArgumentParser
import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import ZeroMQ
import ZeroMQTransport

struct Ping: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check a daemon: reachability, the identity it gives this key, and call throughput.",
    discussion: """
      Exit status 0 when every call succeeded; 1 otherwise, with the gRPC status printed.
      With --count and --concurrency it also measures unary calls per second.
      """
  )

  @Option(help: "The daemon's endpoint.")
  var endpoint: String = "tcp://127.0.0.1:7400"

  @Option(help: "The daemon's CURVE public key file. Needs --secret-key.")
  var serverKey: String?

  @Option(help: "This client's CURVE secret key file (mode 0600).")
  var secretKey: String?

  @Option(help: "Ping calls to make after WhoAmI.")
  var count: Int = 1

  @Option(help: "Calls kept in flight at once.")
  var concurrency: Int = 1

  @Option(help: "Deadline of each call, in seconds.")
  var timeout: Double = 5

  @Flag(help: "Wait (up to the deadline) for a daemon that is starting, instead of failing at once.")
  var waitForReady = false

  func run() async throws {
    let security: ZeroMQTransport.Security
    switch (serverKey, secretKey) {
    case (let serverKey?, let secretKey?):
      security = .curveClient(
        keyPair: try CurveKeyFile.readKeyPair(secretKeyPath: secretKey),
        serverPublicKey: try CurveKeyFile.readPublicKey(serverKey)
      )
    case (nil, nil):
      security = .plaintext
    default:
      throw ValidationError("--server-key and --secret-key go together")
    }
    guard count >= 0, concurrency >= 1 else { throw ValidationError("--count >= 0 and --concurrency >= 1") }
    var callOptions = CallOptions.defaults
    callOptions.timeout = .milliseconds(Int64(timeout * 1000))
    callOptions.waitForReady = waitForReady
    let options = callOptions
    let transport = ZeroMQTransport.Client(endpoint: endpoint, security: security)
    let (count, concurrency) = (self.count, self.concurrency)
    let endpoint = self.endpoint
    do {
      try await withGRPCClient(transport: transport) { grpc in
        let client = Ndrc_Hitech_V1_Diagnostics.Client(wrapping: grpc)
        let identity = try await client.whoAmI(Ndrc_Hitech_V1_WhoAmIRequest(), options: options)
        let name = identity.authenticatedIdentity.isEmpty ? "(unauthenticated)" : identity.authenticatedIdentity
        print("\(endpoint): reachable; it knows this client as \(name) from \(identity.peerAddress)")
        guard count > 0 else { return }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
          var started = 0
          for _ in 0..<min(concurrency, count) {
            group.addTask { _ = try await client.ping(Ndrc_Hitech_V1_PingRequest(), options: options) }
            started += 1
          }
          while try await group.next() != nil {
            if started < count {
              group.addTask { _ = try await client.ping(Ndrc_Hitech_V1_PingRequest(), options: options) }
              started += 1
            }
          }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "%d pings, %d in flight: %.3f s, %.0f calls/s", count, concurrency, seconds, Double(count) / seconds))
      }
    } catch let error as RPCError {
      print("\(endpoint): \(error.code): \(error.message)")
      throw ExitCode(1)
    }
  }
}
