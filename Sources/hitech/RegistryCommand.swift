import Aggregator
import AggregatorStore
import ArgumentParser
import DaemonSupport
import Foundation
import Logging

/// Options shared by the commands that work on the aggregator's store.
struct StoreOptions: ParsableArguments {
  @Option(help: "The aggregator's SQLite store (default: $HITECH_AGGREGATOR_DATABASE_PATH or aggregator.sqlite).")
  var database: String = ProcessInfo.processInfo.environment["HITECH_AGGREGATOR_DATABASE_PATH"] ?? "aggregator.sqlite"

  @Option(
    name: .customLong("store"),
    help: "The store: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE (default: $HITECH_AGGREGATOR_STORE, else --database).")
  var storeOption: String? = ProcessInfo.processInfo.environment["HITECH_AGGREGATOR_STORE"].flatMap { $0.isEmpty ? nil : $0 }

  @Option(help: "Who is acting, for the audit log (default: $USER).")
  var actor: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"

  /// The store named by --store, else the SQLite file --database.
  var location: StoreLocation {
    get throws { try StoreLocation(storeOption ?? "sqlite:" + database) }
  }

  func open() async throws -> any ReportStore {
    try await location.open(
      verifyIntegrity: false, logger: Logger(label: "hitech.registry", factory: { _ in SwiftLogNoOpLogHandler() }))
  }
}

struct RegistryCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "registry",
    abstract: "The aggregator's registry: reporters, bases and reporters' CURVE keys.",
    subcommands: [Import.self, Reporters.self, Bases.self, RegisterKey.self, RetireKey.self, Keys.self]
  )

  struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Import reporters and bases from a registry file (.json / .txtpb Registry), or bases from a .csv.",
      discussion: "Every problem in the file is listed with its line and column; nothing is imported unless the whole file is valid."
    )
    @OptionGroup var store: StoreOptions
    @Argument(help: "The registry file.") var file: String

    func run() async throws {
      let bases: [BaseRecord]
      let reporters: [ReporterRecord]
      do {
        reporters = try RegistryFile.readReporters(path: file)
        bases = try RegistryFile.readBases(path: file)
      } catch {
        print("\(error)")
        throw ExitCode(65)  // EX_DATAERR
      }
      let database = try await store.open()
      try await Registry.seedReporters(database, actor: store.actor)
      for reporter in reporters { try await database.upsertReporter(reporter, actor: store.actor) }
      let known = Set(try await database.reporters().map(\.code))
      let unknown = bases.filter { !known.contains($0.reporterCode) }
      guard unknown.isEmpty else {
        for base in unknown { print("\(file): base \(base.baseId): reporter_code \(base.reporterCode) is not one of the reporters") }
        try await database.close()
        throw ExitCode(65)
      }
      for base in bases { try await database.upsertBase(base, actor: store.actor) }
      try await database.close()
      print("imported \(reporters.count) reporters and \(bases.count) bases from \(file)")
    }
  }

  struct Reporters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the reporters.")
    @OptionGroup var store: StoreOptions

    func run() async throws {
      let database = try await store.open()
      try await Registry.seedReporters(database, actor: store.actor)
      for reporter in try await database.reporters() {
        print("\(reporter.code)  \(reporter.kind.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0))  \(reporter.nameZh)  \(reporter.nameEn)")
      }
      try await database.close()
    }
  }

  struct Bases: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the bases.")
    @OptionGroup var store: StoreOptions
    @Option(help: "Only this reporter's bases.") var reporter: String?

    func run() async throws {
      let database = try await store.open()
      for base in try await database.bases(reporterCode: reporter, includeWithdrawn: true) {
        print("\(base.baseId)  \(base.reporterCode)  \(base.kind.rawValue)  \(base.level.rawValue)  \(base.fields.joined(separator: ";"))  \(base.status.rawValue)  \(base.nameZh)")
      }
      try await database.close()
    }
  }

  struct RegisterKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "register-key",
      abstract: "Admit a CURVE public key: a province node's (as its reporter), the coordinator's or an operator's.",
      discussion: """
        A running aggregator admits the key within seconds; no restart is needed.
        Either --reporter CODE (a node), or --role coordinator|operator with --name NAME: the
        coordinator's key may drive rounds (RoundRelay); an operator's may read every reporter's
        arrival status. Neither can submit reports.
        """
    )
    @OptionGroup var store: StoreOptions
    @Option(help: "The reporter's GB/T 2260 code (for a node's key).") var reporter: String?
    @Option(help: "coordinator or operator (for a central key).") var role: String?
    @Option(help: "The central principal's name, e.g. central (with --role).") var name: String?
    @Option(help: "The public key file (<name>.pub).") var publicKey: String
    @Option(help: "A note for the audit log, e.g. who sent the key and how.") var comment: String = ""

    func validate() throws {
      switch (reporter, role) {
      case (.some, nil): break
      case (nil, .some(let role)):
        guard PrincipalKeyRecord.Role(rawValue: role) != nil else {
          throw ValidationError("--role: coordinator or operator, got \"\(role)\"")
        }
        guard let name, !name.isEmpty else { throw ValidationError("--name is required with --role") }
      default:
        throw ValidationError("give either --reporter CODE or --role coordinator|operator --name NAME")
      }
    }

    func run() async throws {
      let key = try CurveKeyFile.readPublicKey(publicKey)
      let database = try await store.open()
      try await Registry.seedReporters(database, actor: store.actor)
      if let reporter {
        try await database.registerKey(key.z85, reporterCode: reporter, comment: comment, actor: store.actor)
        print("registered \(key.z85) for reporter \(reporter)")
      } else if let role = role.flatMap(PrincipalKeyRecord.Role.init(rawValue:)), let name {
        try await database.registerPrincipalKey(key.z85, role: role, name: name, comment: comment, actor: store.actor)
        print("registered \(key.z85) for \(role.rawValue) \(name)")
      }
      try await database.close()
    }
  }

  struct RetireKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "retire-key",
      abstract: "Stop admitting a CURVE public key, on new and open connections, within two seconds."
    )
    @OptionGroup var store: StoreOptions
    @Option(help: "The public key file.") var publicKey: String

    func run() async throws {
      let key = try CurveKeyFile.readPublicKey(publicKey)
      let database = try await store.open()
      try await database.retireKey(key.z85, actor: store.actor)
      try await database.close()
      print("retired \(key.z85)")
    }
  }

  struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List registered keys.")
    @OptionGroup var store: StoreOptions

    func run() async throws {
      let database = try await store.open()
      for key in try await database.keys(reporterCode: nil, includeRetired: true) {
        print("\(key.publicKeyZ85)  \(key.reporterCode)  \(key.isActive ? "active" : "retired")  \(key.comment)")
      }
      for key in try await database.principalKeys(includeRetired: true) {
        print("\(key.publicKeyZ85)  \(key.identity)  \(key.isActive ? "active" : "retired")  \(key.comment)")
      }
      try await database.close()
    }
  }
}

struct RoundsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rounds",
    abstract: "The aggregator's view of the yearly rounds (which report years it accepts).",
    subcommands: [Set.self, List.self]
  )

  struct Set: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Record a round's state by hand (audited).")
    @OptionGroup var store: StoreOptions
    @Option(help: "The report year.") var year: Int
    @Option(help: "planned, open, closed, assessed or published.") var state: String
    @Option(help: "After closing: accept_mark_late or refuse.") var latePolicy: String = "accept_mark_late"

    func run() async throws {
      guard let state = RoundRecord.State(rawValue: state) else {
        throw ValidationError("--state: one of \(RoundRecord.State.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      guard let policy = RoundRecord.LatePolicy(rawValue: latePolicy) else {
        throw ValidationError("--late-policy: accept_mark_late or refuse")
      }
      let database = try await store.open()
      try await database.setRound(RoundRecord(reportYear: year, state: state, latePolicy: policy), actor: store.actor)
      try await database.close()
      print("round \(year): \(state.rawValue) (\(policy.rawValue))")
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the rounds.")
    @OptionGroup var store: StoreOptions

    func run() async throws {
      let database = try await store.open()
      for round in try await database.rounds() {
        print("\(round.reportYear)  \(round.state.rawValue)  \(round.latePolicy.rawValue)")
      }
      try await database.close()
    }
  }
}
