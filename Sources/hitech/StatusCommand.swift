import Aggregator
import AggregatorStore
import ArgumentParser
import Foundation
import Monitoring

/// `hitech status`: a round's arrivals from the aggregator's store, as a table or JSON.
struct StatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show a round's report arrivals: per reporter, and with --bases per base.",
    discussion: """
      Reads the aggregator's store (the same file the aggregator writes; it may be running) and
      prints, for one round, a table per reporter: bases expected, accepted, rejected, missing,
      late, and the last submission time. --bases adds one row per base with its state and its
      receipt's accession number, and the findings of rejected bases. --json prints the same as
      the dashboard's GET /api/v1/rounds/YEAR/status. Colour only on a terminal, and never
      when NO_COLOR is set.

      Exit codes:
        0  nothing is missing (among the rows shown), or the round's deadline has not passed
        1  an error: unknown year or reporter, a bad option value, an unreadable store
        3  something is missing (a base with no accepted report) after the round's deadline

      --watch follows the aggregator's live arrival feed (ArrivalStatus.WatchArrivals at
      --endpoint, with --server-key and --secret-key of an operator key) instead of reading the
      store: one line per stored submission (sequence, time, reporter, base, year, outcome,
      revision, accession number, submission id, and the first finding of a rejection) and per
      round step (sequence, time, "round", year, opened/reminded/closed/assessed/published, the
      round's state, the reporters sent a notice, step id), with the time on the round's
      calendar when it differs, from now on or after --after SEQUENCE, until interrupted. It resubscribes after the last
      sequence printed when the stream ends or the connection is lost: nothing is printed twice
      or skipped.
      """
  )

  @OptionGroup var store: StoreOptions
  @Option(help: "The report year of the round (default: the newest round).") var year: Int?
  @Option(help: "Only this reporter (GB/T 2260 code, e.g. 440300).") var reporter: String?
  @Option(help: "Only bases in this field: \(ArrivalFilter.fieldNames.joined(separator: ", ")).") var field: String?
  @Option(help: "Only bases in this state: \(ArrivalFilter.stateNames.joined(separator: ", ")).") var state: String?
  @Flag(help: "Also list each base.") var bases = false
  @Flag(help: "Print JSON (the dashboard API's RoundStatus) instead of tables.") var json = false
  @Flag(help: "Follow the aggregator's live arrival feed, one line per event (see below).") var watch = false
  @Option(help: "With --watch: the aggregator's endpoint.") var endpoint: String = "tcp://127.0.0.1:7400"
  @Option(help: "With --watch: the aggregator's CURVE public key file. Needs --secret-key.") var serverKey: String?
  @Option(help: "With --watch: this operator's CURVE secret key file (mode 0600).") var secretKey: String?
  @Option(help: "With --watch: start after this sequence of the feed (0 = from its start; default: from now on).") var after: Int64?

  func run() async throws {
    if watch {
      try await StatusWatch(
        endpoint: endpoint, serverKey: serverKey, secretKey: secretKey, year: year, reporter: reporter, after: after
      ).run()
      return
    }
    if case .sqlite(let path) = try store.location, !FileManager.default.fileExists(atPath: path) {
      fail("no aggregator store at \(path) (give --database or --store, or set HITECH_AGGREGATOR_DATABASE_PATH or HITECH_AGGREGATOR_STORE)")
    }
    var filter = ArrivalFilter()
    if let state {
      guard let parsed = ArrivalFilter.state(named: state) else {
        fail("--state: one of \(ArrivalFilter.stateNames.joined(separator: ", ")), not \"\(state)\"")
      }
      filter.state = parsed
    }
    if let field {
      guard ArrivalFilter.fieldNames.contains(field) else {
        fail("--field: one of \(ArrivalFilter.fieldNames.joined(separator: ", ")), not \"\(field)\"")
      }
      filter.field = field
    }

    let database = try await store.open()
    let result: Result<(String, StatusReport.ExitCode), StatusFailure>
    do {
      result = try await report(database, filter: filter)
    } catch {
      try? await database.close()
      throw error
    }
    try await database.close()
    switch result {
    case .success(let (text, code)):
      FileHandle.standardOutput.write(Data(text.utf8))
      if code != .ok { throw ExitCode(code.rawValue) }
    case .failure(let failure):
      fail(failure.message)
    }
  }

  struct StatusFailure: Error {
    var message: String
  }

  private func report(
    _ database: any ReportStore, filter: ArrivalFilter
  ) async throws -> Result<(String, StatusReport.ExitCode), StatusFailure> {
    var filter = filter
    let rounds = try await database.rounds()
    let known = rounds.map { String($0.reportYear) }.joined(separator: ", ")
    guard let round = year.map({ y in rounds.first { $0.reportYear == y } }) ?? rounds.first else {
      return .failure(
        StatusFailure(
          message: year.map { "no round for report year \($0)" + (rounds.isEmpty ? "; the store has no round yet" : " (rounds: \(known))") }
            ?? "the store has no round yet"))
    }
    if let reporter {
      guard try await database.reporter(code: reporter) != nil else {
        return .failure(StatusFailure(message: "no reporter \(reporter) in the registry (see hitech registry reporters)"))
      }
      filter.reporterCode = reporter
    }
    let status = try await database.arrivalStatus(reportYear: round.reportYear, reporterCode: filter.reporterCode)
    let fieldsByBase = Dictionary(
      try await database.bases(reporterCode: filter.reporterCode, includeWithdrawn: true).map { ($0.baseId, $0.fields) }, uniquingKeysWith: { a, _ in a })
    let shown = filter.apply(to: status, fieldsByBase: fieldsByBase)
    let now = AggregatorDatabase.systemNowMicros()
    let text =
      json
      ? try StatusReport.json(status: shown, round: round, fieldsByBase: fieldsByBase, nowMicros: now)
      : StatusReport.table(
        status: shown, round: round, fieldsByBase: fieldsByBase, nowMicros: now, bases: bases, color: Self.useColour)
    return .success((text, StatusReport.exitCode(status: shown, round: round, nowMicros: now)))
  }

  /// Colour when stdout is a terminal and NO_COLOR is unset (https://no-color.org).
  static var useColour: Bool {
    isatty(STDOUT_FILENO) != 0 && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
  }

  private func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("hitech status: \(message)\n".utf8))
    Foundation.exit(StatusReport.ExitCode.failure.rawValue)
  }
}
