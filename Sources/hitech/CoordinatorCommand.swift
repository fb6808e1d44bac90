import ArgumentParser
import Assessment
import Coordinator
import DaemonSupport
import Foundation
import GRPCCore
import HiTechDomain
import HiTechSchema
import Logging
import ZeroMQTransport

struct CoordinatorCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "coordinator",
    abstract: "The coordinator daemon and its operator commands: the yearly assessment rounds.",
    discussion: """
      Every command reads the coordinator's configuration file (--config, JSON, scope
      "coordinator", with HITECH_COORDINATOR_* overrides). rounds, timeline, results and export
      read the coordinator's store (also while the daemon runs); advance asks the running daemon
      over its control endpoint, so that the step's effects (the aggregator, the notices, the
      published files) are driven by the daemon; expert-score writes the store.
      """,
    subcommands: [Run.self, Status.self, Rounds.self, Timeline.self, Advance.self, ExpertScoreCommand.self, EvaluateCommand.self, Results.self, Export.self]
  )

  struct ConfigOption: ParsableArguments {
    @Option(help: "The coordinator's configuration file (JSON).")
    var config: String?

    func load() async throws -> CoordinatorConfiguration {
      do {
        return try await CoordinatorConfiguration.load(file: config)
      } catch {
        print("hitech coordinator: \(error)")
        throw ExitCode(78)
      }
    }

    /// Runs `body` on the configured store (SQLite or PostgreSQL), closed afterwards.
    func withStore<T: Sendable>(_ body: (CoordinatorConfiguration, any CoordinatorStore) async throws -> T) async throws -> T {
      let configuration = try await load()
      let store = try await CoordinatorStores.open(
        configuration.effectiveStore,
        logger: Logger(label: "hitech.coordinator.cli", factory: { _ in SwiftLogNoOpLogHandler() }))
      do {
        let value = try await body(configuration, store)
        try? await store.close()
        return value
      } catch {
        try? await store.close()
        throw error
      }
    }
  }

  struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the coordinator until SIGTERM or SIGINT.",
      discussion: """
        See deploy/coordinator.example.json and proto-schemas/COORDINATOR.md for the keys. Exit
        status 78 when the configuration is unusable; 75 when another coordinator runs on the
        same SQLite store (its <storePath>.lock is held; the message names the holder's PID). On a
        PostgreSQL store (coordinator.store) several may run: one is active, the others wait on
        standby and one of them takes over within seconds when the active one stops.
        """
    )
    @OptionGroup var options: ConfigOption
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
      let level = Logger.Level(rawValue: logLevel) ?? .info
      LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
      }
      let logger = Logger(label: "hitech.coordinator")
      let configuration: CoordinatorConfiguration
      do {
        configuration = try await CoordinatorConfiguration.load(file: options.config)
      } catch {
        logger.critical("cannot start: \(error)")
        throw ExitCode(78)  // EX_CONFIG
      }
      do {
        try await CoordinatorDaemon(configuration: configuration, logger: logger).run()
      } catch let error as StateLock.InUse {
        logger.critical("cannot start: \(error)")
        throw ExitCode(StateLock.exitStatus)  // EX_TEMPFAIL
      } catch {
        logger.critical("the coordinator stopped on an error: \(error)")
        throw ExitCode(1)
      }
    }
  }

  struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the running daemon's status file: active or standby, its rounds, its last error.",
      discussion: """
        Reads coordinator.statusPath, which the daemon rewrites every 2 s. Exit status 0 for a
        running daemon, 1 when there is no status file, 2 when the daemon stopped or its status
        is older than 30 s (stopped, hung or killed).
        """
    )
    @OptionGroup var options: ConfigOption
    @Flag(help: "Print the status file as it is (JSON).") var json = false

    func run() async throws {
      let configuration = try await options.load()
      guard let path = configuration.statusPath else {
        print("hitech coordinator: coordinator.statusPath is not set: the daemon writes no status file")
        throw ExitCode(1)
      }
      let status: CoordinatorStatus
      do {
        status = try CoordinatorStatus.read(path: path)
      } catch {
        print("hitech coordinator: cannot read the status file \(path): \(error)")
        throw ExitCode(1)
      }
      let age = Date().timeIntervalSince(status.updatedAt)
      if json {
        print(String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data(), as: UTF8.self))
      } else {
        print("coordinator pid \(status.pid): \(status.state), \(status.leadership ?? "active")"
          + (status.state == "running" ? " (updated \(Int(age)) s ago)" : ""))
        print("calendar now \(status.calendarNow); aggregator \(status.aggregatorEndpoint); control \(status.controlEndpoint)")
        for round in status.rounds {
          var line = "  \(round.reportYear)  \(round.state.padding(toLength: 9, withPad: " ", startingAt: 0))"
          if !round.pendingSteps.isEmpty { line += "  pending: \(round.pendingSteps.joined(separator: ", "))" }
          if let next = round.nextStep { line += "  next: \(next) due \(round.nextStepDueAt ?? "?")" }
          print(line)
        }
        if let error = status.lastError { print("last error: \(error)") }
      }
      if status.state != "running" || age > 30 { throw ExitCode(2) }
    }
  }

  struct Rounds: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the rounds, their states and next steps.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
      try await options.withStore { _, store in
        let rounds = try await store.rounds()
        if rounds.isEmpty { print("no rounds yet (the daemon plans them from the configuration at start)") }
        print("year  state      opens at (Shanghai)  deadline (Shanghai)  late policy       next step")
        for round in rounds {
          let next = round.steps.filter { $0.state == .pending }.map(\.id).first
            ?? RoundPlanner.nextDueDate(rounds: [round]).map { "due \(ShanghaiTime.format($0))" } ?? "-"
          print(
            "\(round.reportYear)  \(round.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  "
              + "\(ShanghaiTime.format(round.schedule.opensAt))     \(ShanghaiTime.format(round.schedule.deadline))     "
              + "\(round.schedule.latePolicy.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0))  \(next)")
        }
      }
    }
  }

  struct Timeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "A round's timeline: its state changes and every step (recorded, applied, skipped).")
    @OptionGroup var options: ConfigOption
    @Option(help: "The report year.") var year: Int

    func run() async throws {
      try await options.withStore { _, store in
        guard let round = try await store.round(year) else {
          print("hitech coordinator: no round for report year \(year)")
          throw ExitCode(1)
        }
        print("round \(year): \(round.state.rawValue)")
        print("state changes:")
        for transition in round.transitions {
          print("  \(ShanghaiTime.format(transition.at))  \(transition.from.rawValue) -> \(transition.to.rawValue)  by \(transition.actor): \(transition.reason)")
        }
        print("steps:")
        for step in round.steps.sorted(by: { $0.dueAt < $1.dueAt }) {
          var line = "  due \(ShanghaiTime.format(step.dueAt))  \(step.id.padding(toLength: 28, withPad: " ", startingAt: 0)) \(step.state.rawValue)"
          if let applied = step.appliedAt { line += " at \(ShanghaiTime.format(applied))" }
          if let reporters = step.detail.addressedReporterCodes { line += "; notices to \(reporters.count) reporters" }
          if let reason = step.detail.skippedReason { line += "; \(reason)" }
          if step.detail.caughtUp == true { line += " (caught up after downtime)" }
          print(line)
        }
      }
    }
  }

  struct Advance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Move a round to its next state by hand (e.g. close early), with a reason; audited.",
      discussion: """
        Asks the running coordinator over its control endpoint (RoundControl.UpdateRoundState),
        which records the change with your name and reason, then drives its effects as for a
        scheduled step. Only the next state of planned → open → closed → assessed → published
        is allowed. Asks for confirmation unless --yes.
        """
    )
    @OptionGroup var options: ConfigOption
    @Option(help: "The report year.") var year: Int
    @Option(help: "The target state: open, closed, assessed or published.") var to: String
    @Option(help: "Why (recorded in the round's history and the audit log).") var reason: String
    @Option(help: "Your name for the audit log (default: $USER).") var actor: String?
    @Flag(help: "Do not ask for confirmation.") var yes = false

    func run() async throws {
      guard let target = RoundState(rawValue: to), target != .planned else {
        throw ValidationError("--to: open, closed, assessed or published, got \"\(to)\"")
      }
      let configuration = try await options.load()
      if !yes {
        print("Move round \(year) to \(target.rawValue) (\(reason))? Type yes to confirm: ", terminator: "")
        guard readLine()?.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
          print("nothing changed")
          throw ExitCode(1)
        }
      }
      var request = Ndrc_Hitech_V1_UpdateRoundStateRequest()
      request.reportYear = Int32(year)
      request.toState = Ndrc_Hitech_V1_RoundState(target)
      request.reason = reason
      var metadata = Metadata()
      metadata.addString(actor ?? ProcessInfo.processInfo.environment["USER"] ?? "operator", forKey: "hitech-actor")
      let transport = ZeroMQTransport.Client(endpoint: configuration.effectiveControlEndpoint, security: .plaintext)
      do {
        let round = try await withGRPCClient(transport: transport) { client in
          var options = CallOptions.defaults
          options.timeout = .seconds(120)
          return try await Ndrc_Hitech_V1_RoundControl.Client(wrapping: client).updateRoundState(
            request, metadata: metadata, options: options)
        }
        print("round \(round.reportYear) is now \(RoundState(round.state)?.rawValue ?? "unspecified")")
      } catch let error as RPCError {
        print("hitech coordinator: \(error.code): \(error.message)")
        if error.code == .unavailable {
          print("(is the coordinator running? its control endpoint is \(configuration.effectiveControlEndpoint))")
        }
        throw ExitCode(1)
      }
    }
  }

  struct ExpertScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "expert-score",
      abstract: "Record one expert's score of one base for a round not yet assessed (audited).",
      discussion: "A later score by the same expert for the same base replaces the earlier one."
    )
    @OptionGroup var options: ConfigOption
    @Option(help: "The report year.") var year: Int
    @Option(help: "The base id.") var base: String
    @Option(help: "The expert's id, e.g. E-017.") var expert: String
    @Option(help: "The score, 0 to 100 (up to three decimals).") var score: Double
    @Option(help: "A comment.") var comment: String = ""
    @Option(help: "Your name for the audit log (default: $USER).") var actor: String?

    func run() async throws {
      guard (0...100).contains(score) else { throw ValidationError("--score: 0 to 100, got \(score)") }
      try await options.withStore { _, store in
        let milli = Int64((score * 1000).rounded())
        try await store.recordExpertScore(
          reportYear: year, baseId: base, expertId: expert, scoreMilli: milli, comment: comment,
          actor: "operator:" + (actor ?? ProcessInfo.processInfo.environment["USER"] ?? "operator"), at: Date())
        print("recorded: round \(year), base \(base), expert \(expert), score \(score)")
      }
    }
  }

  struct Results: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a round's assessed results: rank, tier, score per base.")
    @OptionGroup var options: ConfigOption
    @Option(help: "The report year.") var year: Int

    func run() async throws {
      try await options.withStore { _, store in
        guard let stored = try await store.assessment(year) else {
          print("hitech coordinator: round \(year) has not been assessed yet")
          throw ExitCode(1)
        }
        let results = try ResultsPublication.decode(json: stored.results)
        print("rank  base                 tier          score    field rank")
        for base in results.bases {
          let rank = base.rank == 0 ? "-" : "\(base.rank)/\(base.rankedCount)"
          let score = String(format: "%.3f", Double(base.totalScoreMilli) / 1000)
          print("\(rank.padding(toLength: 6, withPad: " ", startingAt: 0))\(base.baseId.padding(toLength: 21, withPad: " ", startingAt: 0))\(base.tier.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0))\(score.padding(toLength: 9, withPad: " ", startingAt: 0))\(base.fieldRank)/\(base.fieldRankedCount)")
        }
        let progress = results.progress
        print("specialized bases over the output threshold: \(progress.specializedBasesOverThreshold) of \(progress.specializedBases) (target \(progress.targetCount))")
      }
    }
  }

  struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a round's results (JSON, CSV, HTML) to a folder, as published.",
      discussion: "The files are byte-identical to the published ones for the same publication date."
    )
    @OptionGroup var options: ConfigOption
    @Option(help: "The report year.") var year: Int
    @Option(help: "The folder to write to.") var output: String
    @Option(help: "The publication date shown on the page (YYYY-MM-DD); default: the date it was published (or assessed).") var publishedAt: String?

    func run() async throws {
      try await options.withStore { _, store in
        guard let stored = try await store.assessment(year) else {
          print("hitech coordinator: round \(year) has not been assessed yet")
          throw ExitCode(1)
        }
        let results = try ResultsPublication.decode(json: stored.results)
        // The date the coordinator published with (so the files match), else the assessment's.
        let published = try await store.round(year)?.steps.first { $0.kind == .published }?.recordedAt
        let date = publishedAt ?? ShanghaiTime.formatDate(published ?? stored.assessedAt)
        let written = try ResultsPublication.write(ResultsPublication.render(results, publishedAt: date), to: output)
        print("wrote \(written.isEmpty ? "nothing (the files were already identical)" : written.joined(separator: ", ")) in \(output)")
      }
    }
  }
}
