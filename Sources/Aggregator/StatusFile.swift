import AggregatorStore
import Foundation
import Logging
import ServiceLifecycle

/// Writes the daemon's state as JSON to a file every few seconds (atomically: write, then
/// rename), for operators and monitoring to read without talking to the daemon.
struct StatusFile: Service {
  struct Snapshot: Codable, Hashable {
    var role = "aggregator"
    var pid: Int32
    var startedAt: Date
    var updatedAt: Date
    var endpoint: String
    var databasePath: String
    var state: String
    var committedBatches: Int
    var committedSubmissions: Int
    var failedBatches: Int
    var failedSubmissions: Int
    var largestBatch: Int
    var meanBatchSize: Double
    /// RPC streams the server transport still holds (open, or a handler still running).
    var streams: Int?
    /// Client connections the server transport keeps state for.
    var connections: Int?
  }

  let path: String?
  let database: any ReportStore
  let configuration: AggregatorConfiguration
  let logger: Logger
  /// The server transport's counts, when there is one.
  var transportStatistics: @Sendable () -> (streams: Int, connections: Int)? = { nil }
  var interval: Duration = .seconds(2)

  func run() async throws {
    guard let path else {
      try? await gracefulShutdown()
      return
    }
    let startedAt = Date()
    try? await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        write(await snapshot(state: "running", startedAt: startedAt), to: path)
        try await Task.sleep(for: interval)
      }
    }
    write(await snapshot(state: "stopped", startedAt: startedAt), to: path)
  }

  private func snapshot(state: String, startedAt: Date) async -> Snapshot {
    let statistics = await database.ingestStatistics
    let transport = transportStatistics()
    return Snapshot(
      pid: ProcessInfo.processInfo.processIdentifier,
      startedAt: startedAt,
      updatedAt: Date(),
      endpoint: configuration.endpoint,
      databasePath: configuration.databasePath,
      state: state,
      committedBatches: statistics.committedBatches,
      committedSubmissions: statistics.committedRequests,
      failedBatches: statistics.failedBatches,
      failedSubmissions: statistics.failedRequests,
      largestBatch: statistics.largestBatch,
      meanBatchSize: statistics.meanBatchSize,
      streams: transport?.streams,
      connections: transport?.connections
    )
  }

  private func write(_ snapshot: Snapshot, to path: String) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    do {
      try encoder.encode(snapshot).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      logger.warning("could not write the status file", metadata: ["status.path": "\(path)", "error": "\(error)"])
    }
  }
}
