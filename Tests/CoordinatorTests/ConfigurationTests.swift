import Foundation
import Testing

@testable import Coordinator

@Suite("Coordinator configuration", .timeLimit(.minutes(1)))
struct ConfigurationTests {
  static func write(_ json: String) throws -> String {
    let path = Fixture.temporaryDirectory() + "/coordinator.json"
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static func round(_ body: String) -> String {
    """
    { "coordinator": {
        "storePath": "/tmp/c.sqlite", "aggregatorPublicKeyPath": "a.pub", "secretKeyPath": "c.key",
        "rounds": { "years": [2025], "2025": { \(body) } } } }
    """
  }

  static let good = """
    "opensAt": "2026-01-05T09:00", "deadline": "2026-03-31T17:00", "reminders": ["14d", "3d"],
    "latePolicy": "refuse", "assessmentAt": "2026-05-15T09:00", "publishAt": "2026-06-30T09:00+08:00",
    "nationalHighTechOutput": 2150000000
    """

  @Test("times are Asia/Shanghai unless they say otherwise")
  func shanghaiTime() {
    #expect(ShanghaiTime.parse("2026-03-31T17:00") == Date(timeIntervalSince1970: 1_774_947_600))
    #expect(ShanghaiTime.parse("2026-03-31T09:00Z") == ShanghaiTime.parse("2026-03-31T17:00"))
    #expect(ShanghaiTime.parse("2026-03-31T17:00:00+08:00") == ShanghaiTime.parse("2026-03-31T17:00"))
    #expect(ShanghaiTime.parse("2026-03-31T11:00-01:00") == ShanghaiTime.parse("2026-03-31T20:00"))
    #expect(ShanghaiTime.parse("2026-02-30T17:00") == nil)
    #expect(ShanghaiTime.parse("31/03/2026") == nil)
    #expect(ShanghaiTime.format(ShanghaiTime.parse("2026-03-31T17:00")!) == "2026-03-31T17:00:00+08:00")
    #expect(ReminderOffset.parse("14d") == 1_209_600)
    #expect(ReminderOffset.parse("36h") == 129_600)
    #expect(ReminderOffset.parse("-3d") == nil)
  }

  @Test("a file with a round, with environment overrides on top")
  func file() async throws {
    let path = try Self.write(Self.round(Self.good))
    let configuration = try await CoordinatorConfiguration.load(
      file: path, environment: ["HITECH_COORDINATOR_CATCH_UP_WINDOW": "3d", "HITECH_COORDINATOR_CLOCK_SPEED": "86400"])
    #expect(configuration.catchUpWindowSeconds == 3 * 86_400)
    #expect(configuration.clock.speed == 86_400)
    #expect(configuration.effectiveControlEndpoint == "ipc:///tmp/control.sock")
    let round = try #require(configuration.rounds.first)
    #expect(round.reportYear == 2025)
    #expect(round.latePolicy == .refuse)
    #expect(round.reminderOffsets == [1_209_600, 259_200])
    #expect(round.deadline == ShanghaiTime.parse("2026-03-31T09:00Z"))
    #expect(round.nationalHighTechOutputTenThousandYuan == 2_150_000_000)
  }

  @Test(
    "a bad value is refused naming the key",
    arguments: [
      (good.replacingOccurrences(of: "\"refuse\"", with: "\"later\""), "coordinator.rounds.2025.latePolicy"),
      (good.replacingOccurrences(of: "\"3d\"", with: "\"soon\""), "coordinator.rounds.2025.reminders"),
      (good.replacingOccurrences(of: "2026-03-31T17:00", with: "31 March"), "coordinator.rounds.2025.deadline"),
      (good.replacingOccurrences(of: "2026-05-15T09:00", with: "2026-03-01T09:00"), "coordinator.rounds.2025.assessmentAt"),
      (good.replacingOccurrences(of: "2026-06-30T09:00+08:00", with: "2026-05-01T09:00"), "coordinator.rounds.2025.publishAt"),
      (good.replacingOccurrences(of: "\"14d\"", with: "\"90d\""), "coordinator.rounds.2025.reminders"),
      (good.replacingOccurrences(of: "\"opensAt\": \"2026-01-05T09:00\",", with: ""), "coordinator.rounds.2025.opensAt"),
    ])
  func badValue(_ body: String, key: String) async throws {
    let path = try Self.write(Self.round(body))
    do {
      _ = try await CoordinatorConfiguration.load(file: path, environment: [:])
      Issue.record("accepted: \(body)")
    } catch let problem as CoordinatorConfiguration.Problem {
      #expect(problem.description.hasPrefix(key + ":"), "\(problem)")
    }
  }

  @Test("keys and endpoints are checked")
  func required() async throws {
    var configuration = CoordinatorConfiguration(aggregatorPublicKeyPath: "a.pub", secretKeyPath: "")
    #expect(throws: CoordinatorConfiguration.Problem(key: "secretKeyPath", rule: "is required: the coordinator's CURVE secret key file (mode 0600)")) {
      try configuration.validate()
    }
    configuration.secretKeyPath = "c.key"
    configuration.controlEndpoint = "tcp://0.0.0.0:7500"
    #expect(throws: CoordinatorConfiguration.Problem.self) { try configuration.validate() }
    configuration.controlEndpoint = "tcp://127.0.0.1:7500"
    try configuration.validate()
  }

  @Test("the store: SQLite by default, sqlite:PATH or a PostgreSQL URL (environment first); anything else names coordinator.store")
  func store() async throws {
    let plain = try await CoordinatorConfiguration.load(file: Self.write(Self.round(Self.good)), environment: [:])
    #expect(plain.effectiveStore == "sqlite:/tmp/c.sqlite" && plain.stateLockPath == "/tmp/c.sqlite.lock")

    let url = "postgres://hitech@/hitech?host=/run/postgresql"
    let shared = try await CoordinatorConfiguration.load(
      file: Self.write(Self.round(Self.good)), environment: ["HITECH_COORDINATOR_STORE": url])
    #expect(shared.effectiveStore == url && shared.sqlitePath == nil && shared.stateLockPath == nil)

    let file = try await CoordinatorConfiguration.load(
      file: Self.write(Self.round(Self.good)), environment: ["HITECH_COORDINATOR_STORE": "sqlite:/tmp/other.sqlite"])
    #expect(file.sqlitePath == "/tmp/other.sqlite" && file.stateLockPath == "/tmp/other.sqlite.lock")

    for bad in ["mysql://db/hitech", "postgres://u@h:99999/d", "sqlite:"] {
      let error = await #expect(throws: CoordinatorConfiguration.Problem.self) {
        try await CoordinatorConfiguration.load(file: Self.write(Self.round(Self.good)), environment: ["HITECH_COORDINATOR_STORE": bad])
      }
      #expect(error?.key == "store", "\(bad): \(String(describing: error))")
    }
  }

  @Test("deploy/postgres/coordinator.example.json is valid and runs on PostgreSQL")
  func postgresExample() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let configuration = try await CoordinatorConfiguration.load(
      file: root.appendingPathComponent("deploy/postgres/coordinator.example.json").path, environment: [:])
    #expect(configuration.store?.hasPrefix("postgres://") == true)
    #expect(configuration.stateLockPath == nil)
    #expect(configuration.rounds.map(\.reportYear) == [2025])
  }
}
