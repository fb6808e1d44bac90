import DaemonSupport
import Foundation
import TestProcesses
import ProvinceNode
import Testing

struct NodeConfigurationTests {
  func write(_ node: [String: Any]) throws -> String {
    let path = NSTemporaryDirectory() + "node-config-\(UUID().uuidString).json"
    try JSONSerialization.data(withJSONObject: ["node": node]).write(to: URL(fileURLWithPath: path))
    return path
  }

  let valid: [String: Any] = [
    "reporterCode": "110000", "aggregatorEndpoint": "tcp://127.0.0.1:7400",
    "aggregatorPublicKeyPath": "/k/aggregator.pub", "secretKeyPath": "/k/110000.key", "spoolDirectory": "/s",
  ]

  @Test func readsTheFileWithEnvironmentOverrides() async throws {
    let path = try write(valid)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let configuration = try await NodeConfiguration.load(
      file: path,
      environment: ["HITECH_NODE_SPOOL_DIRECTORY": "/var/spool/hitech", "HITECH_NODE_MAX_BACKOFF_MILLISECONDS": "5000"])
    #expect(configuration.reporterCode == "110000")
    #expect(configuration.spoolDirectory == "/var/spool/hitech")
    #expect(configuration.maxBackoffMilliseconds == 5000)
    #expect(configuration.initialBackoffMilliseconds == 500)
  }

  @Test("deploy/node.example.json is valid, sets every key, and differs from the defaults where it should", .timeLimit(.minutes(1)))
  func exampleFileIsComplete() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent("deploy/node.example.json").path
    let configuration = try await NodeConfiguration.load(file: path, environment: [:])
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
    let keys = Set((object?["node"] as? [String: Any])?.keys.map { $0 } ?? [])
    #expect(keys == [
      "reporterCode", "aggregatorEndpoint", "fallbackEndpoints", "aggregatorPublicKeyPath", "secretKeyPath", "spoolDirectory", "statusPath",
      "metricsPath", "initialBackoffMilliseconds", "maxBackoffMilliseconds", "callTimeoutSeconds", "maxInFlight",
      "shutdownGraceSeconds",
    ])
    #expect(configuration.reporterCode == "110000")
    #expect(configuration.statusPath == "/run/hitech/node.status.json")
    #expect(configuration.metricsPath == "/var/lib/hitech/hitech-node.prom")
    #expect(configuration.endpoints.count == 2)
    #expect(configuration.spoolDirectory.hasPrefix("/var/lib/hitech"))
  }

  @Test("fallbackEndpoints: from the file, from the environment (comma-separated), and checked", .timeLimit(.minutes(1)))
  func fallbackEndpoints() async throws {
    var node = valid
    node["fallbackEndpoints"] = ["tcp://10.0.0.2:7400", "ipc:///run/hitech/aggregator.sock"]
    let path = try write(node)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let configuration = try await NodeConfiguration.load(file: path, environment: [:])
    #expect(configuration.endpoints == ["tcp://127.0.0.1:7400", "tcp://10.0.0.2:7400", "ipc:///run/hitech/aggregator.sock"])
    let overridden = try await NodeConfiguration.load(
      file: path, environment: ["HITECH_NODE_FALLBACK_ENDPOINTS": "tcp://10.0.0.3:7400,tcp://10.0.0.4:7400"])
    #expect(overridden.fallbackEndpoints == ["tcp://10.0.0.3:7400", "tcp://10.0.0.4:7400"])
    node["fallbackEndpoints"] = ["http://10.0.0.2"]
    let bad = try write(node)
    defer { try? FileManager.default.removeItem(atPath: bad) }
    await #expect(throws: NodeConfiguration.Problem.self) { try await NodeConfiguration.load(file: bad, environment: [:]) }
  }

  @Test func namesTheKeyAndTheRule() async throws {
    var bad = valid
    bad["maxBackoffMilliseconds"] = 10
    let path = try write(bad)
    defer { try? FileManager.default.removeItem(atPath: path) }
    await #expect {
      _ = try await NodeConfiguration.load(file: path, environment: [:])
    } throws: { error in
      (error as? NodeConfiguration.Problem)?.key == "maxBackoffMilliseconds"
    }
    await #expect {
      _ = try await NodeConfiguration.load(file: path, environment: ["HITECH_NODE_REPORTER_CODE": "11"])
    } throws: { error in
      (error as? NodeConfiguration.Problem)?.key == "reporterCode"
    }
  }

  @Test("`hitech node run` refuses to start (exit 78) when the secret key file is not 0600")
  func refusesAnOpenSecretKey() throws {
    let directory = NSTemporaryDirectory() + "node-key-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let keys = try CurveKeyFile.generate(name: "110000", in: directory)
    let server = try CurveKeyFile.generate(name: "aggregator", in: directory)
    chmod(keys.secretKeyPath, 0o644)
    var node = valid
    node["secretKeyPath"] = keys.secretKeyPath
    node["aggregatorPublicKeyPath"] = server.publicKeyPath
    node["spoolDirectory"] = directory + "/spool"
    let path = try write(node)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let process = ChildProcess()
    process.executableURL = try AggregatorUnderTest.executable
    process.arguments = ["node", "run", "--config", path]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readToEndRetryingInterrupts(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 78)
    #expect(text.contains(keys.secretKeyPath))
    #expect(!FileManager.default.fileExists(atPath: directory + "/spool"))
  }
}
