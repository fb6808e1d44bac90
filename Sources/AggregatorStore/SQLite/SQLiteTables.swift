import Foundation
import GRDB

/// An SQLite store's tables as plain rows (``StoreTables``), read and written through GRDB
/// outside the store's own writer: for `hitech store copy` and `hitech store migrate`, while no
/// aggregator runs on the file.
package final class SQLiteTables: StoreTables {
  package let path: String
  package var location: String { "sqlite:\(path)" }
  private let queue: DatabaseQueue

  /// Opens the file; `readOnly` refuses every write (a copy's source).
  ///
  /// - Throws: ``StoreError`` `.cannotOpen` when the file cannot be opened (a read-only open of
  ///   a file that does not exist fails).
  package init(path: String, readOnly: Bool) throws {
    self.path = path
    var configuration = GRDB.Configuration()
    configuration.readonly = readOnly
    configuration.foreignKeysEnabled = true
    configuration.label = "SQLiteTables"
    do {
      if readOnly, !FileManager.default.fileExists(atPath: path) {
        throw StoreError(code: .cannotOpen, message: "there is no store file \(path)")
      }
      queue = try DatabaseQueue(path: path, configuration: configuration)
    } catch {
      throw StoreError.opening(path, error)
    }
  }

  package var knownMigrations: [String] { Schema.migrator.migrations }

  package func appliedMigrations() async throws -> [String] {
    try await access("reading the schema version") { db in
      guard try db.tableExists("grdb_migrations") else { return [] }
      return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
    }
  }

  package func tables() async throws -> [StoreTable] {
    try await access("reading the schema") { db in
      let names = try String.fetchAll(
        db,
        sql: """
          SELECT name FROM sqlite_master
          WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'
          ORDER BY name
          """)
      return try names.map { name in
        let info = try Row.fetchAll(db, sql: "PRAGMA table_info(\(name.quotedDatabaseIdentifier))")
        let columns: [String] = info.map { $0["name"] }
        let key = info.filter { ($0["pk"] as Int) > 0 }.sorted { ($0["pk"] as Int) < ($1["pk"] as Int) }
          .map { $0["name"] as String }
        return StoreTable(name: name, columns: columns, primaryKey: key)
      }
    }
  }

  package func rowCounts(_ tables: [StoreTable]) async throws -> [Int] {
    try await access("counting rows") { db in
      try tables.map { try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0.name.quotedDatabaseIdentifier)") ?? 0 }
    }
  }

  package func read(_ selections: [StoreTableSelection]) async throws -> [[[StoreValue]]] {
    try await access("reading the tables") { db in
      try selections.map { selection in
        let sql = "SELECT \(Self.list(selection.columns)) FROM \(selection.table.name.quotedDatabaseIdentifier)"
          + (selection.table.primaryKey.isEmpty ? "" : " ORDER BY \(Self.list(selection.table.primaryKey))")
        var rows: [[StoreValue]] = []
        let cursor = try Row.fetchCursor(db, sql: sql)
        while let row = try cursor.next() {
          rows.append(
            try (0..<row.count).map { index -> StoreValue in
              switch (row[index] as DatabaseValue).storage {
              case .null: return .null
              case .int64(let value): return .integer(value)
              case .string(let value): return .text(value)
              case .blob(let value): return .bytes([UInt8](value))
              case .double(let value): return .real(value)
              }
            })
        }
        return rows
      }
    }
  }

  package func load(_ tables: [(selection: StoreTableSelection, rows: [[StoreValue]])]) async throws {
    try await access("loading the tables", write: true) { db in
      try db.inTransaction {
        // The tables' triggers are suspended (dropped, then made again from their own SQL in the
        // same transaction): the rows they would derive are copied as they were.
        let names = tables.map(\.selection.table.name)
        let triggers = try Row.fetchAll(
          db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (\(names.map { _ in "?" }.joined(separator: ", ")))",
          arguments: StatementArguments(names))
        for trigger in triggers {
          try db.execute(sql: "DROP TRIGGER \((trigger["name"] as String).quotedDatabaseIdentifier)")
        }
        for (selection, rows) in tables {
          let placeholders = Array(repeating: "?", count: selection.columns.count).joined(separator: ", ")
          let statement = try db.makeStatement(
            sql: "INSERT INTO \(selection.table.name.quotedDatabaseIdentifier) (\(Self.list(selection.columns))) "
              + "VALUES (\(placeholders))")
          for row in rows {
            try statement.execute(
              arguments: StatementArguments(
                row.map { value -> DatabaseValue in
                  switch value {
                  case .null: .null
                  case .integer(let v): v.databaseValue
                  case .real(let v): v.databaseValue
                  case .text(let v): v.databaseValue
                  case .bytes(let v): Data(v).databaseValue
                  }
                }))
          }
        }
        for trigger in triggers { try db.execute(sql: trigger["sql"] as String) }
        // The dense accession counters per year (SQLite's own bookkeeping) follow the numbers
        // copied; AUTOINCREMENT ids (sqlite_sequence) follow the inserted ids by themselves.
        if try Int.fetchOne(db, sql: "SELECT count(*) FROM accession_counters") == 0 {
          try db.execute(
            sql: """
              INSERT INTO accession_counters (report_year, last_sequence)
              SELECT report_year, max(CAST(substr(accession_number, -8) AS INTEGER))
              FROM submissions WHERE accession_number IS NOT NULL GROUP BY report_year
              """)
        }
        return .commit
      }
    }
  }

  package func close() async throws {
    try queue.close()
  }

  private static func list(_ names: [String]) -> String {
    names.map(\.quotedDatabaseIdentifier).joined(separator: ", ")
  }

  /// Runs `body` in one read snapshot, or (`write`) outside any transaction for it to open one.
  private func access<T: Sendable>(
    _ what: String, write: Bool = false, _ body: @escaping @Sendable (Database) throws -> T
  ) async throws -> T {
    do {
      return write ? try await queue.writeWithoutTransaction { db in try body(db) } : try await queue.read(body)
    } catch {
      throw StoreError.operation(what, path: path, error)
    }
  }
}
