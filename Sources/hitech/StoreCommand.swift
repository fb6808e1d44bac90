import Aggregator
import AggregatorStore
import AggregatorStorePostgres
import ArgumentParser
import Foundation
import Logging

/// `hitech store`: the aggregator's store as a whole — its schema version, and moving a centre's
/// whole history from one store to another.
struct StoreCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "store",
    abstract: "The aggregator's store: migrate its schema, copy a whole store into another.",
    subcommands: [Migrate.self, Copy.self]
  )

  static let quiet = Logger(label: "hitech.store", factory: { _ in SwiftLogNoOpLogHandler() })

  /// The store's tables, for reading its schema version and rows.
  static func tables(_ location: StoreLocation, readOnly: Bool) throws -> any StoreTables {
    switch location {
    case .sqlite(let path): try SQLiteTables(path: path, readOnly: readOnly)
    case .postgres(let url): try PostgresTables(url, logger: quiet)
    }
  }

  static func version(_ applied: [String], of known: [String]) -> String {
    "\(applied.last ?? "none") (\(applied.count) of \(known.count) migrations)"
  }

  /// Runs `body`, turning a store's error into its message on standard error and exit status 1.
  static func reporting(_ body: () async throws -> Void) async throws {
    do {
      try await body()
    } catch let error as StoreError {
      FileHandle.standardError.write(Data("hitech store: \(error)\n".utf8))
      throw ExitCode(1)
    }
  }

  struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Bring the store's schema up to date and print its version before and after.",
      discussion: """
        Creates the store when it does not exist (an SQLite file, or the tables in an existing
        PostgreSQL database). Migrations are versioned and recorded in the store; several
        aggregators starting at once wait for each other. On PostgreSQL run it as the role that
        owns the schema (deploy/postgres/roles.sql), before starting aggregators that log in as a
        role without CREATE.
        """
    )
    @OptionGroup var store: StoreOptions

    func run() async throws {
      try await StoreCommand.reporting {
        let location = try store.location
        let tables = try StoreCommand.tables(location, readOnly: false)
        let before = try await tables.appliedMigrations()
        try await tables.close()
        let database = try await location.open(verifyIntegrity: false, logger: StoreCommand.quiet)
        try await database.close()
        let after = try StoreCommand.tables(location, readOnly: true)
        let applied = try await after.appliedMigrations()
        let known = after.knownMigrations
        try await after.close()
        print("store \(location)")
        print("schema before: \(StoreCommand.version(before, of: known))")
        print("schema after:  \(StoreCommand.version(applied, of: known))\(before == applied ? ", nothing to do" : "")")
      }
    }
  }

  struct Copy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Copy a whole store into an empty one, then verify the copy.",
      discussion: """
        Moves a centre's whole history — reporters, bases, keys, every submission with its
        original bytes, findings and report revisions, rounds, round steps, notices and the audit
        log — keeping row ids, accession numbers and times, e.g. from the SQLite file into
        PostgreSQL (any direction works). Stop every aggregator on both stores first. The source
        must be at this software's schema version (run `hitech store migrate` on it first); the
        target is created or migrated, and refused if it holds any row. Everything is written in
        one transaction. The copy is then verified table by table (row counts and SHA-256 over
        the rows in a canonical order, read back from the target): exit status 0 when identical,
        1 otherwise.
        """
    )
    @Option(help: "The store to copy: sqlite:PATH or postgres://….") var from: String
    @Option(help: "The empty store to copy into: postgres://… or sqlite:PATH.") var to: String

    func run() async throws {
      try await StoreCommand.reporting {
        let source = try StoreLocation(from)
        let target = try StoreLocation(to)
        guard source != target else {
          throw StoreError(code: .invalidArgument, message: "--from and --to name the same store")
        }
        let sourceTables = try StoreCommand.tables(source, readOnly: true)
        do {
          try await sourceTables.requireCurrentSchema()
          // Create or migrate the target as an aggregator would.
          let database = try await target.open(verifyIntegrity: false, logger: StoreCommand.quiet)
          try await database.close()
          let targetTables = try StoreCommand.tables(target, readOnly: false)
          do {
            let report = try await StoreCopy.copy(from: sourceTables, to: targetTables)
            try await targetTables.close()
            try await sourceTables.close()
            print(report)
            if !report.verified { throw ExitCode(1) }
          } catch {
            try? await targetTables.close()
            throw error
          }
        } catch {
          try? await sourceTables.close()
          throw error
        }
      }
    }
  }
}
