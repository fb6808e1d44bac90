import Foundation
import GRDB
public import TransparencyLog

extension AggregatorDatabase: SubmissionsLog {
  public func logSize() async throws -> UInt64 {
    try await read("reading the submissions log's size") { db in try SQLiteLog.size(db) }
  }

  public func logSubtrees(_ subtrees: [PerfectSubtree]) async throws -> [PerfectSubtree: MerkleHash] {
    try await read("reading the submissions log") { db in try SQLiteLog.subtrees(db, subtrees) }
  }

  public func logEntry(_ lookup: LogEntryLookup) async throws -> LogEntry? {
    try await read("reading the submissions log") { db in
      let select = """
        SELECT l.log_index, l.attestation, s.reporter_code
        FROM log_entries l JOIN submissions s ON s.submission_id = l.submission_id
        """
      let row: Row?
      switch lookup {
      case .index(let index):
        guard index <= UInt64(Int64.max) else { return nil }
        row = try Row.fetchOne(db, sql: "\(select) WHERE l.log_index = ?", arguments: [Int64(index)])
      case .leafHash(let hash):
        row = try Row.fetchOne(db, sql: "\(select) WHERE l.leaf_hash = ?", arguments: [Data(hash.bytes)])
      case .accessionNumber(let accession):
        row = try Row.fetchOne(db, sql: "\(select) WHERE s.accession_number = ?", arguments: [accession])
      }
      return row.map { row in
        LogEntry(
          logIndex: UInt64(row["log_index"] as Int64),
          attestation: [UInt8](row["attestation"] as Data),
          reporterCode: row["reporter_code"])
      }
    }
  }

  public func latestTreeHead() async throws -> StoredTreeHead? {
    try await read("reading the latest signed tree head") { db in
      try Row.fetchOne(
        db, sql: "SELECT encoded, key_id, signature FROM log_tree_heads ORDER BY tree_size DESC, id DESC LIMIT 1"
      ).map { row in
        let encoded = [UInt8](row["encoded"] as Data)
        return StoredTreeHead(
          head: try TreeHead(encoded: encoded),
          signed: SignedStatement(encoded: encoded, keyID: row["key_id"], signature: [UInt8](row["signature"] as Data)))
      }
    }
  }

  public func appendTreeHead(_ stored: StoredTreeHead) async throws {
    let size = try await logSize()
    guard stored.head.treeSize <= size else {
      throw StoreError(code: .invalidArgument, message: "a tree head of \(stored.head.treeSize) leaves; the log has \(size)")
    }
    guard try await logRoot(size: stored.head.treeSize) == stored.head.rootHash else {
      throw StoreError(code: .invalidArgument, message: "the tree head's root is not the log's root at \(stored.head.treeSize) leaves")
    }
    try await write("recording a signed tree head") { db in
      try db.execute(
        sql: """
          INSERT INTO log_tree_heads (tree_size, root_hash, issued_at, encoded, key_id, signature)
          VALUES (?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          Int64(stored.head.treeSize), Data(stored.head.rootHash.bytes),
          stored.head.timestamp.seconds * 1_000_000 + Int64(stored.head.timestamp.nanos / 1000),
          Data(stored.signed.encoded), stored.signed.keyID, Data(stored.signed.signature),
        ])
    }
  }

  public func recordSigningKey(_ key: LogVerifyingKey, atMicros: Int64) async throws {
    try await write("recording a receipt signing key") { db in
      try db.execute(
        sql: "INSERT INTO log_signing_keys (key_id, public_key, first_used_at) VALUES (?, ?, ?) ON CONFLICT (key_id) DO NOTHING",
        arguments: [key.keyID, Data(key.publicKey), atMicros])
    }
  }

  public func retireSigningKey(keyID: String, atMicros: Int64) async throws -> Bool {
    try await write("retiring a receipt signing key") { db in
      try db.execute(
        sql: "UPDATE log_signing_keys SET retired_at = coalesce(retired_at, ?) WHERE key_id = ?", arguments: [atMicros, keyID])
      return db.changesCount > 0
    }
  }

  public func signingKeys() async throws -> [SigningKeyRecord] {
    try await read("reading the receipt signing keys") { db in
      try Row.fetchAll(db, sql: "SELECT key_id, public_key, first_used_at, retired_at FROM log_signing_keys ORDER BY first_used_at, key_id")
        .map { row in
          SigningKeyRecord(
            key: try LogVerifyingKey(publicKey: [UInt8](row["public_key"] as Data)),
            firstUsedAtMicros: row["first_used_at"],
            retiredAtMicros: row["retired_at"])
        }
    }
  }
}
