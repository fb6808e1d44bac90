import ArgumentParser

@main
struct HiTech: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "hitech",
    abstract: "The national high-tech industrial base reporting system.",
    discussion: """
      Daemons and operator tools of the reporting federation: province nodes push annual
      reports over ZeroMQ (CurveZMQ) to the central aggregator; the coordinator runs the yearly
      rounds; operators watch arrivals.
      """,
    subcommands: [AggregatorCommand.self, ApplicationCommand.self, CoordinatorCommand.self, NodeCommand.self, RegistryCommand.self, RoundsCommand.self, StoreCommand.self, ReceiptCommand.self, ResultsCommand.self, StatusCommand.self, Submit.self, ReportCommand.self, Keys.self, ServeDiagnostics.self, Ping.self]
  )
}
