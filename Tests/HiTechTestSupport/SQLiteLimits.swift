public import Foundation
import GRDB

/// SQLite's own limits on this disk, for measurements to compare the aggregator with in the same
/// run: plain INSERTs of 2 KiB rows into a WAL file with `synchronous=FULL`, one writer.
public enum SQLiteLimits {
  /// Rows per second, 100 rows per commit.
  public static func batchedInsertRate(rows: Int) throws -> Double {
    try withTable { pool, payload in
      let commits = max(1, rows / 100)
      let start = ContinuousClock.now
      for _ in 0..<commits {
        try pool.write { db in
          for _ in 0..<100 { try db.execute(sql: "INSERT INTO t (payload) VALUES (?)", arguments: [payload]) }
        }
      }
      return Double(commits * 100) / seconds(ContinuousClock.now - start)
    }
  }

  /// The median time, in seconds, of one durable commit of one row.
  public static func commitLatency(commits: Int) throws -> Double {
    try withTable { pool, payload in
      var times: [Double] = []
      for _ in 0..<commits {
        let start = ContinuousClock.now
        try pool.write { db in try db.execute(sql: "INSERT INTO t (payload) VALUES (?)", arguments: [payload]) }
        times.append(seconds(ContinuousClock.now - start))
      }
      return times.sorted()[times.count / 2]
    }
  }

  /// A fresh database file with table `t`, removed afterwards, and a 2 KiB payload.
  private static func withTable<Result>(_ body: (DatabasePool, Data) throws -> Result) throws -> Result {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-limits-\(UUID().uuidString).sqlite").path
    defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
    let pool = try DatabasePool(path: path)
    try pool.writeWithoutTransaction { db in
      try db.execute(sql: "PRAGMA synchronous = FULL")
      try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
    }
    return try body(pool, Data(repeating: 7, count: 2048))
  }

  private static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }
}
