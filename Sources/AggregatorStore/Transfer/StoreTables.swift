/// A store's tables as plain rows, whatever the backend: what `hitech store copy` reads from one
/// store and writes to another, and what it hashes to verify the copy.
///
/// Values are backend-neutral (``StoreValue``): PostgreSQL's BOOLEAN reads as the integer 0 or 1
/// that SQLite stores, INTEGER and BIGINT as 64-bit integers, BYTEA and BLOB as bytes. The
/// tables are those of the store's schema, without the migration bookkeeping of either backend.
package protocol StoreTables: Sendable {
  /// Where the store is, for messages (never a password).
  var location: String { get }

  /// The names of the migrations this software knows for the backend, in order.
  var knownMigrations: [String] { get }

  /// The names of the migrations applied to the store (empty for a new one).
  func appliedMigrations() async throws -> [String]

  /// The schema's tables with their columns and primary keys.
  func tables() async throws -> [StoreTable]

  /// The number of rows in each table.
  func rowCounts(_ tables: [StoreTable]) async throws -> [Int]

  /// Every row of each table, the named columns in that order, all read in one snapshot.
  func read(_ selections: [StoreTableSelection]) async throws -> [[[StoreValue]]]

  /// Inserts the rows, keeping every value as it is (row ids included), in one transaction with
  /// the tables' own triggers suspended (rows a trigger derives, such as arrival events, are
  /// copied as they were rather than made again), then brings the backend's own counters past them (identity sequences, the accession
  /// sequence or counters), so that the next row stored gets a new id and accession number.
  func load(_ tables: [(selection: StoreTableSelection, rows: [[StoreValue]])]) async throws

  /// Releases the connection or the file.
  func close() async throws
}

/// One table of a store's schema.
package struct StoreTable: Sendable, Hashable {
  package var name: String
  /// Column names, in the table's order.
  package var columns: [String]
  /// The primary key's columns (rows are read in this order).
  package var primaryKey: [String]

  package init(name: String, columns: [String], primaryKey: [String]) {
    self.name = name
    self.columns = columns
    self.primaryKey = primaryKey
  }
}

/// Some columns of a table.
package struct StoreTableSelection: Sendable, Hashable {
  package var table: StoreTable
  package var columns: [String]

  package init(table: StoreTable, columns: [String]) {
    self.table = table
    self.columns = columns
  }
}

/// One value of a row, as both backends can hold it.
package enum StoreValue: Sendable, Hashable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
  case bytes([UInt8])

  /// A self-delimiting encoding (a tag, a length, the bytes): equal rows encode equally and
  /// different rows differently, whichever backend they were read from.
  package func encode(into out: inout [UInt8]) {
    func length(_ n: Int) { withUnsafeBytes(of: UInt64(n).bigEndian) { out.append(contentsOf: $0) } }
    switch self {
    case .null:
      out.append(0)
    case .integer(let value):
      out.append(1)
      withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    case .real(let value):
      out.append(4)
      withUnsafeBytes(of: value.bitPattern.bigEndian) { out.append(contentsOf: $0) }
    case .text(let value):
      out.append(2)
      let utf8 = Array(value.utf8)
      length(utf8.count)
      out.append(contentsOf: utf8)
    case .bytes(let value):
      out.append(3)
      length(value.count)
      out.append(contentsOf: value)
    }
  }
}

extension StoreTables {
  /// Fails unless every migration this software knows has been applied, in order.
  package func requireCurrentSchema() async throws {
    let applied = try await appliedMigrations()
    guard applied == knownMigrations else {
      let version = applied.last ?? "none"
      throw StoreError(
        code: .failedPrecondition,
        message: "the store \(location) is at schema version \(version), this software's is "
          + "\(knownMigrations.last ?? "none"); run `hitech store migrate --store \(location)` first")
    }
  }
}

/// Table names in an order that satisfies the foreign keys (referenced tables first); tables not
/// listed come after, by name.
package enum StoreTableOrder {
  package static let known = [
    "reporters", "reporter_keys", "principal_keys", "bases", "base_fields",
    "submissions", "submission_bytes", "report_revisions", "findings", "accession_counters",
    "audit_log", "rounds", "round_steps", "round_notices", "arrival_events",
    "application_calls", "experts", "applications", "application_revisions", "application_submissions",
    "application_history", "application_evaluations", "application_decisions", "base_level_history",
  ]

  package static func sorted(_ names: [String]) -> [String] {
    names.sorted { a, b in
      switch (known.firstIndex(of: a), known.firstIndex(of: b)) {
      case (let x?, let y?): x < y
      case (.some, nil): true
      case (nil, .some): false
      case (nil, nil): a < b
      }
    }
  }

  /// Tables one backend keeps for itself, derived from the history when a store is loaded:
  /// SQLite's dense accession counters per year (PostgreSQL uses one sequence).
  package static let derived: Set<String> = ["accession_counters"]
}
