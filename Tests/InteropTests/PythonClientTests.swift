import DaemonSupport
import Foundation
import TestProcesses
import GRPCCore
import Testing
import ZeroMQ
import ZeroMQTransport

/// Runs `python/diagnostics_client.py`, a client written from `proto-schemas/WIRE.md` alone,
/// against the real Swift server: the proof that WIRE.md is enough for another language.
@Suite("A Python client written from WIRE.md talks to the Swift server", .timeLimit(.minutes(2)))
struct PythonClientTests {
  static let repoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // InteropTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()
  static let requirementsHint =
    "run `pip install -r Tests/InteropTests/python/requirements.txt` (the interop test needs pyzmq and protobuf for python3)"

  @Test("ping, whoAmI, count 300 with credit, concurrency, errors and deadlines over CURVE")
  func pythonClient() async throws {
    // The client needs python3 with pyzmq and protobuf; fail (never skip) without them.
    let probe = try await Self.run(["python3", "-c", "import zmq, google.protobuf"], timeout: 30)
    try #require(
      probe.status == 0,
      "python3 cannot import zmq and google.protobuf: \(Self.requirementsHint)\n\(probe.stderr)"
    )

    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("interop-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let serverKeys = try CurveKeyFile.generate(name: "server", in: directory)
    let clientKeys = try CurveKeyFile.generate(name: "client", in: directory)

    let transport = ZeroMQTransport.Server(
      endpoint: "tcp://127.0.0.1:*",
      security: .curveServer(
        keyPair: serverKeys.keyPair,
        policy: CurveAllowList([clientKeys.keyPair.publicKey: "420100"])
      )
    )
    let server = GRPCServer(transport: transport, services: [DiagnosticsService(role: "interop")])
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let result: Result<ProcessResult, any Error>
      do {
        let endpoint = try await transport.listeningEndpoint()
        let script = Self.repoRoot.appendingPathComponent("Tests/InteropTests/python/diagnostics_client.py").path
        result = .success(
          try await Self.run(
            [
              "python3", script,
              "--endpoint", endpoint,
              "--server-key", serverKeys.publicKeyPath,
              "--secret-key", clientKeys.secretKeyPath,
              "--public-key", clientKeys.publicKeyPath,
              "--repo-root", Self.repoRoot.path,
            ],
            timeout: 90
          )
        )
      } catch {
        result = .failure(error)
      }
      server.beginGracefulShutdown()
      try await group.waitForAll()

      let client = try result.get()
      print("diagnostics_client.py (exit \(client.status)):\n\(client.stdout)\(client.stderr)")
      #expect(!client.timedOut, "the Python client did not finish within 90 s")
      #expect(
        client.status == 0,
        "the Python client failed (exit \(client.status)):\n\(client.stderr)\n\(client.stdout)"
      )
      if client.status == 2 {
        Issue.record("the Python client could not start: \(Self.requirementsHint)")
      }
      let json = try? JSONSerialization.jsonObject(with: Data(client.stdout.utf8)) as? [String: Any]
      try #require(json != nil, "the Python client printed no JSON object:\n\(client.stdout)\n\(client.stderr)")
      #expect(json?["identity"] as? String == "420100")
      #expect((json?["count"] as? NSNumber)?.intValue == 300)
      #expect(json?["server_role"] as? String == "interop")
      #expect(json?["peer_address"] as? String == "127.0.0.1")
      #expect(json?["ok"] as? Bool == true)
      if let checks = json?["checks"] as? [String: [String: Any]] {
        for (name, check) in checks.sorted(by: { $0.key < $1.key }) where check["ok"] as? Bool != true {
          Issue.record("Python check \(name) failed: \(check["detail"] ?? "")")
        }
      }
    }
  }

  struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
  }

  /// Runs a command found on PATH, with its output in files (no pipe to fill), and kills it
  /// after `timeout` seconds.
  static func run(_ arguments: [String], timeout: Double) async throws -> ProcessResult {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("interop-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("stdout")
    let errURL = directory.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    defer {
      try? out.close()
      try? err.close()
    }

    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.currentDirectoryURL = repoRoot
    process.standardInput = nil
    process.standardOutput = out
    process.standardError = err
    try process.run()

    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    var timedOut = false
    while process.isRunning {
      if ContinuousClock.now >= deadline {
        timedOut = true
        process.terminate()
        try await Task.sleep(for: .seconds(1))
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        break
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    process.waitUntilExit()
    return ProcessResult(
      status: process.terminationStatus,
      stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
      timedOut: timedOut
    )
  }
}
