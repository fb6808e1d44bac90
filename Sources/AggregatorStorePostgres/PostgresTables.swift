import AggregatorStore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A PostgreSQL store's tables as plain rows (``StoreTables``): for `hitech store copy` and
/// `hitech store migrate`, while no aggregator writes to the database.
///
/// BOOLEAN columns read as the integers 0 and 1 (as SQLite keeps them) and are written back as
/// booleans; identity columns are written with `OVERRIDING SYSTEM VALUE`, so row ids are kept.
package final class PostgresTables: StoreTables {
  package let url: PostgresStoreURL
  package var location: String { url.description }
  private let client: PostgresClient
  private let runner: Task<Void, Never>
  private let logger: Logger

  package init(_ url: String, logger: Logger) throws {
    self.url = try PostgresStoreURL(url)
    var background = logger
    background.logLevel = .error
    let client = PostgresClient(configuration: self.url.clientConfiguration(), backgroundLogger: background)
    self.client = client
    self.runner = Task { await client.run() }
    self.logger = logger
  }

  package var knownMigrations: [String] { PostgresSchema.migrations.map(\.name) }

  package func appliedMigrations() async throws -> [String] {
    try await access("reading the schema version") { db, logger in
      let exists = try await db.row("SELECT to_regclass('hitech_schema_migrations') IS NOT NULL AS e", logger)?
        .get("e", as: Bool.self) ?? false
      guard exists else { return [] }
      return try await db.rows("SELECT name FROM hitech_schema_migrations ORDER BY applied_at, name", logger)
        .map { try $0.get("name", as: String.self) }
    }
  }

  /// Column kinds, from `information_schema.columns.data_type`.
  private enum Kind {
    case integer, boolean, real, text, bytes

    init(_ dataType: String) throws {
      switch dataType {
      case "bigint", "integer", "smallint": self = .integer
      case "boolean": self = .boolean
      case "double precision", "real": self = .real
      case "text", "character varying": self = .text
      case "bytea": self = .bytes
      default: throw StoreError(code: .internalError, message: "a column of type \(dataType) cannot be copied")
      }
    }
  }

  private struct Column {
    var kind: Kind
    var identity: Bool
  }

  private func columns(_ db: PostgresConnection, _ table: String) async throws -> [String: Column] {
    var result: [String: Column] = [:]
    for row in try await db.rows(
      """
      SELECT column_name::text AS name, data_type::text AS type, is_identity::text AS identity
      FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table)
      """, logger)
    {
      result[try row.get("name")] = Column(kind: try Kind(try row.get("type")), identity: try row.get("identity") == "YES")
    }
    return result
  }

  package func tables() async throws -> [StoreTable] {
    try await access("reading the schema") { db, logger in
      let names = try await db.rows(
        """
        SELECT table_name::text AS name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'hitech_schema_migrations'
        ORDER BY table_name
        """, logger
      ).map { try $0.get("name", as: String.self) }
      var tables: [StoreTable] = []
      for name in names {
        let columns = try await db.rows(
          """
          SELECT column_name::text AS name FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = \(name) ORDER BY ordinal_position
          """, logger
        ).map { try $0.get("name", as: String.self) }
        let key = try await db.rows(
          """
          SELECT a.attname::text AS name
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
          WHERE i.indrelid = \(Self.quoted(name))::regclass AND i.indisprimary
          ORDER BY array_position(i.indkey::int2[], a.attnum)
          """, logger
        ).map { try $0.get("name", as: String.self) }
        tables.append(StoreTable(name: name, columns: columns, primaryKey: key))
      }
      return tables
    }
  }

  package func rowCounts(_ tables: [StoreTable]) async throws -> [Int] {
    try await access("counting rows") { db, logger in
      var counts: [Int] = []
      for table in tables {
        counts.append(
          Int(try await db.row("SELECT count(*) AS n FROM \(unescaped: Self.quoted(table.name))", logger)?
            .get("n", as: Int64.self) ?? 0))
      }
      return counts
    }
  }

  package func read(_ selections: [StoreTableSelection]) async throws -> [[[StoreValue]]] {
    try await access("reading the tables", begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { db, logger in
      var result: [[[StoreValue]]] = []
      for selection in selections {
        let kinds = try await self.columns(db, selection.table.name)
        let list = try selection.columns.map { name -> (String, Kind) in
          guard let column = kinds[name] else {
            throw StoreError(code: .internalError, message: "\(selection.table.name) has no column \(name)")
          }
          let quoted = Self.quoted(name)
          switch column.kind {
          case .integer: return ("\(quoted)::bigint", .integer)
          case .boolean: return ("\(quoted)::integer::bigint", .integer)
          case .real: return ("\(quoted)::double precision", .real)
          case .text: return ("\(quoted)::text", .text)
          case .bytes: return (quoted, .bytes)
          }
        }
        let order = selection.table.primaryKey.isEmpty
          ? "" : " ORDER BY " + selection.table.primaryKey.map(Self.quoted).joined(separator: ", ")
        let sql = "SELECT \(list.map(\.0).joined(separator: ", ")) FROM \(Self.quoted(selection.table.name))\(order)"
        var rows: [[StoreValue]] = []
        for try await row in try await db.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
          var values: [StoreValue] = []
          values.reserveCapacity(list.count)
          for (cell, (_, kind)) in zip(row, list) {
            guard cell.bytes != nil else {
              values.append(.null)
              continue
            }
            switch kind {
            case .integer, .boolean: values.append(.integer(try cell.decode(Int64.self)))
            case .real: values.append(.real(try cell.decode(Double.self)))
            case .text: values.append(.text(try cell.decode(String.self)))
            case .bytes: values.append(.bytes([UInt8](try cell.decode(Data.self))))
            }
          }
          rows.append(values)
        }
        result.append(rows)
      }
      return result
    }
  }

  package func load(_ tables: [(selection: StoreTableSelection, rows: [[StoreValue]])]) async throws {
    try await access("loading the tables", begin: "BEGIN") { db, logger in
      // The tables' own triggers are suspended for the load (the rows they would derive, such
      // as arrival events, are copied as they were); this needs the tables' owner.
      for (selection, _) in tables {
        try await db.run(PostgresQuery(unsafeSQL: "ALTER TABLE \(Self.quoted(selection.table.name)) DISABLE TRIGGER USER"), logger)
      }
      for (selection, rows) in tables where !rows.isEmpty {
        let columns = try await self.columns(db, selection.table.name)
        let kinds = try selection.columns.map { name -> Kind in
          guard let column = columns[name] else {
            throw StoreError(code: .internalError, message: "\(selection.table.name) has no column \(name)")
          }
          return column.kind
        }
        let overriding = columns.values.contains { $0.identity } ? " OVERRIDING SYSTEM VALUE" : ""
        let head = "INSERT INTO \(Self.quoted(selection.table.name)) "
          + "(\(selection.columns.map(Self.quoted).joined(separator: ", ")))\(overriding) VALUES "
        // As many rows per statement as the protocol's 65,535 parameters allow (500 at most).
        let perStatement = max(1, min(500, 60_000 / max(1, kinds.count)))
        var start = 0
        while start < rows.count {
          let chunk = rows[start..<min(rows.count, start + perStatement)]
          var bindings = PostgresBindings(capacity: chunk.count * kinds.count)
          var tuples: [String] = []
          var n = 0
          for row in chunk {
            var placeholders: [String] = []
            for (value, kind) in zip(row, kinds) {
              n += 1
              placeholders.append("$\(n)")
              try Self.bind(value, kind, &bindings, table: selection.table.name)
            }
            tuples.append("(" + placeholders.joined(separator: ", ") + ")")
          }
          try await db.run(PostgresQuery(unsafeSQL: head + tuples.joined(separator: ", "), binds: bindings), logger)
          start += chunk.count
        }
        // Identity columns continue after the highest id copied.
        for (name, column) in columns where column.identity {
          try await db.run(
            PostgresQuery(
              unsafeSQL: """
                SELECT setval(pg_get_serial_sequence('\(Self.quoted(selection.table.name))', '\(name)'), max(\(Self.quoted(name))))
                FROM \(Self.quoted(selection.table.name)) HAVING max(\(Self.quoted(name))) IS NOT NULL
                """), logger)
        }
      }
      // Deferred foreign keys are checked now: a table with pending checks cannot be altered.
      try await db.run("SET CONSTRAINTS ALL IMMEDIATE", logger)
      for (selection, _) in tables {
        try await db.run(PostgresQuery(unsafeSQL: "ALTER TABLE \(Self.quoted(selection.table.name)) ENABLE TRIGGER USER"), logger)
      }
      // Accession numbers continue after the highest number copied, whatever its year.
      try await db.run(
        """
        SELECT setval('accession_sequence', max(substring(accession_number from '[0-9]+$')::bigint))
        FROM submissions WHERE accession_number IS NOT NULL HAVING count(*) > 0
        """, logger)
    }
  }

  package func close() async throws {
    runner.cancel()
    await runner.value
  }

  private static func bind(_ value: StoreValue, _ kind: Kind, _ bindings: inout PostgresBindings, table: String) throws {
    switch (value, kind) {
    case (.null, _): bindings.appendNull()
    case (.integer(let v), .integer): bindings.append(v)
    case (.integer(let v), .boolean): bindings.append(v != 0)
    case (.real(let v), .real): bindings.append(v)
    case (.integer(let v), .real): bindings.append(Double(v))
    case (.text(let v), .text): bindings.append(v)
    case (.bytes(let v), .bytes): try bindings.append(Data(v))
    case (.text(let v), .bytes): try bindings.append(Data(v.utf8))
    default:
      throw StoreError(code: .failedPrecondition, message: "a value of \(table) does not fit its column: \(value)")
    }
  }

  private static func quoted(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  private func access<T: Sendable>(
    _ what: String, begin: String? = nil, _ body: @escaping (PostgresConnection, Logger) async throws -> T
  ) async throws -> T {
    let logger = self.logger
    do {
      return try await client.withConnection { db in
        guard let begin else { return try await body(db, logger) }
        try await db.run(PostgresQuery(unsafeSQL: begin), logger)
        do {
          let value = try await body(db, logger)
          try await db.run("COMMIT", logger)
          return value
        } catch {
          _ = try? await db.run("ROLLBACK", logger)
          throw error
        }
      }
    } catch {
      throw PostgresReportStore.operationError(what, location: location, error)
    }
  }
}
