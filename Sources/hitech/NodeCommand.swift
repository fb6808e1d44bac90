import ArgumentParser
import DaemonSupport
import Foundation
import Logging
import ProvinceNode

struct NodeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "node",
    abstract: "The province node daemon: ships report files dropped in its outbox to the aggregator.",
    subcommands: [Run.self, Status.self]
  )

  struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the node until SIGTERM or SIGINT.",
      discussion: """
        Reads the JSON configuration file (scope "node", see README) with HITECH_NODE_*
        environment variables overriding its keys, e.g. HITECH_NODE_SPOOL_DIRECTORY. Exit status
        78 when the configuration or a key file is unusable (the secret key file must be 0600);
        75 when another node runs on the same spool (its <spool>/.lock is held; the message
        names the holder's PID).
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
      let logger = Logger(label: "hitech.node")
      let configuration: NodeConfiguration
      do {
        configuration = try await NodeConfiguration.load(file: config)
        _ = try CurveKeyFile.readKeyPair(secretKeyPath: configuration.secretKeyPath)
        _ = try CurveKeyFile.readPublicKey(configuration.aggregatorPublicKeyPath)
      } catch {
        logger.critical("cannot start: \(error)")
        throw ExitCode(78)  // EX_CONFIG
      }
      do {
        try await NodeDaemon(configuration: configuration, logger: logger).run()
      } catch let error as StateLock.InUse {
        logger.critical("cannot start: \(error)")
        throw ExitCode(StateLock.exitStatus)  // EX_TEMPFAIL
      } catch {
        logger.critical("the node stopped on an error: \(error)")
        throw ExitCode(1)
      }
    }
  }

  struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the node's status file (queued, in flight, sent, rejected, connection, last error, round notices heard).",
      discussion: """
        Exit status 1 when the configuration names no statusPath or the file is missing; 2 when
        the node is stalled (it has moved nothing on for stallAfterSeconds while work is queued)
        or its running status file has not been rewritten for 30 s (the node is hung or was
        killed); 3 when the audit of the centre's submissions log raised an alarm (a receipt or a
        signed tree head that does not verify: see spool/audit/ledger.json).
        """
    )

    @Option(help: "The configuration file (JSON).")
    var config: String?

    func run() async throws {
      let configuration = try await NodeConfiguration.load(file: config)
      guard let path = configuration.statusPath else {
        print("node.statusPath is not set: the node writes no status file")
        throw ExitCode(1)
      }
      guard let data = FileManager.default.contents(atPath: path) else {
        print("\(path): no status file (is the node running?)")
        throw ExitCode(1)
      }
      print(String(decoding: data, as: UTF8.self))
      guard let status = try? NodeStatus.read(path: path) else { return }
      if let notices = status.notices, !notices.isEmpty {
        // Beside the queue, in words on standard error (standard output stays the JSON).
        var text = "round notices heard (newest last):\n"
        for notice in notices {
          let at = notice.issuedAt.map { ISO8601DateFormatter().string(from: $0) + "  " } ?? ""
          text += "  #\(notice.sequence)  \(at)\(notice.summary)\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
      }
      if let alarms = status.audit?.alarms, !alarms.isEmpty {
        for alarm in alarms { FileHandle.standardError.write(Data("AUDIT ALARM: \(alarm)\n".utf8)) }
        FileHandle.standardError.write(
          Data("the centre's receipts or submissions log did not verify (proto-schemas/RECEIPTS.md); keep spool/audit/ and tell the centre\n".utf8))
        throw ExitCode(3)
      }
      if status.stalled {
        let since = status.stalledSince.map { " since \($0)" } ?? ""
        FileHandle.standardError.write(Data("STALLED\(since): the node has moved nothing on while work is queued (see its log)\n".utf8))
        throw ExitCode(2)
      }
      if status.state == "running", Date().timeIntervalSince(status.updatedAt) > 30 {
        FileHandle.standardError.write(Data("STALE: the status file has not been rewritten since \(status.updatedAt): the node is hung or was killed\n".utf8))
        throw ExitCode(2)
      }
    }
  }
}
