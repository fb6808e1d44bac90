import Aggregator
import Foundation
import Testing

@Suite("Aggregator configuration")
struct AggregatorConfigurationTests {
  func file(_ json: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("aggregator-\(UUID().uuidString).json").path
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test("a file is read, and environment variables override its keys")
  func fileAndEnvironment() async throws {
    let path = try file(#"{"aggregator": {"endpoint": "tcp://127.0.0.1:7410", "databasePath": "/tmp/a.sqlite", "yearOnYearJumpPercent": 250}}"#)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let plain = try await AggregatorConfiguration.load(file: path, environment: [:])
    #expect(plain.endpoint == "tcp://127.0.0.1:7410")
    #expect(plain.databasePath == "/tmp/a.sqlite")
    #expect(plain.yearOnYearJumpPercent == 250)
    #expect(plain.maxMessageBytes == 4 << 20)
    let overridden = try await AggregatorConfiguration.load(
      file: path, environment: ["HITECH_AGGREGATOR_DATABASE_PATH": "/tmp/b.sqlite", "HITECH_AGGREGATOR_MAX_MESSAGE_BYTES": "2048"])
    #expect(overridden.databasePath == "/tmp/b.sqlite")
    #expect(overridden.maxMessageBytes == 2048)
    #expect(overridden.endpoint == "tcp://127.0.0.1:7410")
  }

  @Test("bad values are refused naming the key and the rule")
  func problems() async throws {
    let path = try file(#"{"aggregator": {"endpoint": "tcp://0.0.0.0:7400"}}"#)
    defer { try? FileManager.default.removeItem(atPath: path) }
    do {
      _ = try await AggregatorConfiguration.load(file: path, environment: [:])
      Issue.record("a public endpoint without CURVE was accepted")
    } catch let problem as AggregatorConfiguration.Problem {
      #expect(problem.key == "secretKeyPath")
    }
    do {
      _ = try await AggregatorConfiguration.load(file: nil, environment: ["HITECH_AGGREGATOR_YEAR_ON_YEAR_JUMP_PERCENT": "90"])
      Issue.record("a jump factor below ×1 was accepted")
    } catch let problem as AggregatorConfiguration.Problem {
      #expect(problem.description.contains("aggregator.yearOnYearJumpPercent"))
    }
  }

  @Test("the store is the SQLite file by default, or aggregator.store (HITECH_AGGREGATOR_STORE)")
  func store() async throws {
    let path = try file(#"{"aggregator": {"databasePath": "/tmp/a.sqlite"}}"#)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let plain = try await AggregatorConfiguration.load(file: path, environment: [:])
    #expect(try plain.storeLocation == .sqlite(path: "/tmp/a.sqlite"))
    let url = "postgres://hitech:secret@db.example:5433/hitech?sslmode=require"
    let postgres = try await AggregatorConfiguration.load(file: path, environment: ["HITECH_AGGREGATOR_STORE": url])
    #expect(try postgres.storeLocation == .postgres(url: url))
    #expect(try postgres.storeLocation.description == "postgres://hitech@db.example:5433/hitech?sslmode=require")
    let socket = try StoreLocation("postgres://hitech@/hitech?host=/run/postgresql")
    #expect(socket.description == "postgres://hitech@/hitech?host=/run/postgresql&port=5432")
    #expect(try StoreLocation("sqlite:/var/lib/x.sqlite") == .sqlite(path: "/var/lib/x.sqlite"))
    for bad in ["mysql://x@y/z", "postgres://x@y:99999/z", "postgres://x@y/z?sslmode=maybe", "sqlite:"] {
      do {
        _ = try await AggregatorConfiguration.load(file: nil, environment: ["HITECH_AGGREGATOR_STORE": bad])
        Issue.record("the store \(bad) was accepted")
      } catch let problem as AggregatorConfiguration.Problem {
        #expect(problem.key == "store")
        #expect(!problem.description.contains("secret"))
      }
    }
  }
}
