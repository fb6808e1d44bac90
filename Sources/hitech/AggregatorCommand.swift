import Aggregator
import ArgumentParser
import DaemonSupport
import Foundation
import Logging

struct AggregatorCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "aggregator",
    abstract: "The central aggregator daemon.",
    subcommands: [Run.self]
  )

  struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the aggregator until SIGTERM or SIGINT.",
      discussion: """
        Reads the JSON configuration file (see deploy/aggregator.example.json) with HITECH_AGGREGATOR_*
        environment variables overriding its keys, e.g. HITECH_AGGREGATOR_DATABASE_PATH. Exit status
        78 when the configuration is unusable; 75 when another aggregator runs on the same store
        (its <databasePath>.lock is held; the message names the holder's PID).
        """
    )

    @Option(help: "The configuration file (JSON).")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
      let level = Logger.Level(rawValue: logLevel) ?? .info
      LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
      }
      let logger = Logger(label: "hitech.aggregator")
      let configuration: AggregatorConfiguration
      do {
        configuration = try await AggregatorConfiguration.load(file: config)
      } catch {
        logger.critical("cannot start: \(error)")
        throw ExitCode(78)  // EX_CONFIG
      }
      do {
        try await AggregatorDaemon(configuration: configuration, logger: logger).run()
      } catch let error as StateLock.InUse {
        logger.critical("cannot start: \(error)")
        throw ExitCode(StateLock.exitStatus)  // EX_TEMPFAIL
      } catch {
        logger.critical("the aggregator stopped on an error: \(error)")
        throw ExitCode(1)
      }
    }
  }
}
