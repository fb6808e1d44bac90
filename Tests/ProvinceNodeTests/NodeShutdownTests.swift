import Foundation
import ProvinceNode
import Testing
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// A CURVE server with the aggregator's keys that completes the handshake and never answers:
/// every call to it waits for its deadline.
final class SilentAggregator: @unchecked Sendable {
  let endpoint: String
  private let context: ZMQContext
  private let socket: ZMQSocket

  init(keys: CurveKeyPair) throws {
    context = try ZMQContext()
    socket = try ZMQSocket(context: context, type: .router)
    try socket.set(.linger(.zero))
    try socket.set(.curveServer(true))
    try socket.set(.curveSecretKey(keys.secretKey))
    try socket.bind("tcp://127.0.0.1:*")
    endpoint = socket.lastEndpoint!
  }

  func close() { socket.close() }
}

/// SIGTERM ends the node within its shutdown grace period (plus a margin) and with status 0,
/// even while calls are in flight that would not end by themselves.
@Suite(.serialized)
struct NodeShutdownTests {
  @Test("a node whose Submit call never gets an answer (deadline 3600 s) stops on SIGTERM with status 0 within the grace period and a margin; the file stays claimed for the next start", .timeLimit(.minutes(3)))
  func sigtermBoundedWhileCallInFlight() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: ["110000"], years: [2000])
    let silent = try SilentAggregator(keys: aggregator.serverKeys)
    defer { silent.close() }
    let node = try NodeUnderTest(
      reporter: "110000", aggregator: aggregator,
      extra: ["aggregatorEndpoint": silent.endpoint, "callTimeoutSeconds": 3600, "shutdownGraceSeconds": 2])
    try node.start()
    try node.drop("waiting.json", try NodeSamples.submission(base: "SAMPLE-110000-01", year: 2000))
    try await SenderRecoveryTests.waitFor("a call in flight", timeout: .seconds(30)) {
      (try? NodeStatus.read(path: node.statusPath))?.inFlight == 1
    }
    try await Task.sleep(for: .seconds(1))
    #expect(node.isRunning)

    let pid = try #require(node.pid)
    let start = ContinuousClock.now
    kill(pid, SIGTERM)
    while node.isRunning && ContinuousClock.now - start < .seconds(40) {
      try await Task.sleep(for: .milliseconds(50))
    }
    let took = ContinuousClock.now - start
    if node.isRunning {
      node.kill9()
      Issue.record("still running \(took) after SIGTERM with a 2 s grace period: \(node.log().suffix(3000))")
      return
    }
    #expect(node.terminate() == 0, "\(node.log().suffix(3000))")
    // Nothing lost: the message waits in claimed/ for the next start, under the same id.
    #expect(node.files("claimed").count == 1, "claimed \(node.files("claimed")), outbox \(node.files("outbox")), rejected \(node.files("rejected")), sent \(node.files("sent")): \(node.log().suffix(2000))")
    #expect(node.files("sent").isEmpty && node.files("quarantine").isEmpty)
  }
}
