import Crypto
import Foundation

/// Moves a whole store into an empty one — another backend or the same — and proves the copy:
/// the registry, keys, every submission with its bytes, findings and report revisions, rounds,
/// round steps, notices and the audit log, with their row ids, accession numbers and times.
///
/// The copy reads the source in one snapshot, refuses a target that holds any row, writes
/// everything in one transaction (a failed copy leaves the target empty), and then verifies it:
/// per table, the number of rows and a SHA-256 over the rows in a canonical order (each row's
/// backend-neutral encoding, sorted bytewise, so neither backend's collation matters), computed
/// on the rows read back from the target and compared with the source's.
///
/// Both stores must be at this software's schema version, and no aggregator may write to
/// either while it runs.
package enum StoreCopy {
  package static func copy(from source: any StoreTables, to target: any StoreTables) async throws -> StoreCopyReport {
    try await source.requireCurrentSchema()
    try await target.requireCurrentSchema()
    let sourceTables = try await source.tables()
    let targetTables = Dictionary(uniqueKeysWithValues: try await target.tables().map { ($0.name, $0) })

    let counts = try await target.rowCounts(Array(targetTables.values))
    let nonEmpty = zip(targetTables.values, counts).filter { $0.1 > 0 }.map { "\($0.0.name) (\($0.1) rows)" }.sorted()
    guard nonEmpty.isEmpty else {
      throw StoreError(
        code: .failedPrecondition,
        message: "the target store \(target.location) is not empty: \(nonEmpty.joined(separator: ", ")); "
          + "copy into a new, empty store")
    }

    var selections: [StoreTableSelection] = []
    var skipped: [String] = []
    for name in StoreTableOrder.sorted(sourceTables.map(\.name)) {
      let table = sourceTables.first { $0.name == name }!
      guard let other = targetTables[name] else {
        if StoreTableOrder.derived.contains(name) {
          skipped.append(name)
          continue
        }
        throw StoreError(
          code: .failedPrecondition, message: "the target store \(target.location) has no table \(name) to copy into")
      }
      let missing = table.columns.filter { !other.columns.contains($0) }
      guard missing.isEmpty else {
        throw StoreError(
          code: .failedPrecondition,
          message: "the target store's table \(name) has no column \(missing.joined(separator: ", "))")
      }
      selections.append(StoreTableSelection(table: table, columns: table.columns))
    }

    let rows = try await source.read(selections)
    try await target.load(Array(zip(selections, rows)))
    let copied = try await target.read(
      selections.map { StoreTableSelection(table: targetTables[$0.table.name]!, columns: $0.columns) })
    let tables = zip(selections, zip(rows, copied)).map { selection, pair in
      StoreCopyReport.Table(
        name: selection.table.name,
        sourceRows: pair.0.count, targetRows: pair.1.count,
        sourceSHA256: contentHash(pair.0), targetSHA256: contentHash(pair.1))
    }
    return StoreCopyReport(source: source.location, target: target.location, tables: tables, derived: skipped)
  }

  /// SHA-256 over a table's rows in a canonical order: each row's encoding, sorted bytewise,
  /// each prefixed by its length.
  package static func contentHash(_ rows: [[StoreValue]]) -> String {
    let encoded = rows.map { row -> [UInt8] in
      var out: [UInt8] = []
      for value in row { value.encode(into: &out) }
      return out
    }.sorted { $0.lexicographicallyPrecedes($1) }
    var hasher = SHA256()
    for row in encoded {
      withUnsafeBytes(of: UInt64(row.count).bigEndian) { hasher.update(bufferPointer: $0) }
      hasher.update(data: row)
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }
}

/// What a copy did and how it was verified, table by table.
package struct StoreCopyReport: Sendable, CustomStringConvertible {
  package struct Table: Sendable {
    package var name: String
    package var sourceRows: Int
    package var targetRows: Int
    package var sourceSHA256: String
    package var targetSHA256: String
    package var matches: Bool { sourceRows == targetRows && sourceSHA256 == targetSHA256 }
  }

  package var source: String
  package var target: String
  package var tables: [Table]
  /// Source tables the target derives rather than copies (SQLite's accession counters).
  package var derived: [String]

  package var verified: Bool { tables.allSatisfy(\.matches) }
  package var rowCount: Int { tables.reduce(0) { $0 + $1.sourceRows } }

  package var description: String {
    let width = max(5, tables.map(\.name.count).max() ?? 0)
    func pad(_ text: String, _ n: Int, right: Bool = false) -> String {
      let fill = String(repeating: " ", count: max(0, n - text.count))
      return right ? fill + text : text + fill
    }
    var lines = [
      "copied \(source) -> \(target)",
      "\(pad("table", width))  \(pad("source rows", 11, right: true))  \(pad("target rows", 11, right: true))  "
        + "\(pad("source sha256", 16))  \(pad("target sha256", 16))",
    ]
    for table in tables {
      lines.append(
        "\(pad(table.name, width))  \(pad(String(table.sourceRows), 11, right: true))  "
          + "\(pad(String(table.targetRows), 11, right: true))  \(table.sourceSHA256.prefix(16))  "
          + "\(table.targetSHA256.prefix(16))  \(table.matches ? "ok" : "DIFFERENT")")
    }
    for name in derived {
      lines.append("\(pad(name, width))  derived by the target from the copied submissions, not copied")
    }
    lines.append(
      verified
        ? "verified: \(tables.count) tables, \(rowCount) rows, identical counts and content hashes"
        : "NOT verified: \(tables.filter { !$0.matches }.map(\.name).joined(separator: ", ")) differ")
    return lines.joined(separator: "\n")
  }
}
