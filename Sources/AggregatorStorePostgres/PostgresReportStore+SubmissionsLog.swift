import AggregatorStore
import Foundation
import PostgresNIO
public import TransparencyLog

extension PostgresReportStore: SubmissionsLog {
  public func logSize() async throws -> UInt64 {
    let logger = self.logger
    return try await read("reading the submissions log's size") { connection in
      try await PostgresLog.size(connection, logger)
    }
  }

  public func logSubtrees(_ subtrees: [PerfectSubtree]) async throws -> [PerfectSubtree: MerkleHash] {
    let logger = self.logger
    return try await read("reading the submissions log") { connection in
      try await PostgresLog.subtrees(connection, subtrees, logger)
    }
  }

  public func logEntry(_ lookup: LogEntryLookup) async throws -> LogEntry? {
    let logger = self.logger
    return try await read("reading the submissions log") { connection in
      let row: PostgresRandomAccessRow?
      switch lookup {
      case .index(let index):
        guard index <= UInt64(Int64.max) else { return nil }
        row = try await connection.row(
          """
          SELECT l.log_index, l.attestation, s.reporter_code
          FROM log_entries l JOIN submissions s ON s.submission_id = l.submission_id WHERE l.log_index = \(Int64(index))
          """, logger)
      case .leafHash(let hash):
        row = try await connection.row(
          """
          SELECT l.log_index, l.attestation, s.reporter_code
          FROM log_entries l JOIN submissions s ON s.submission_id = l.submission_id WHERE l.leaf_hash = \(Data(hash.bytes))
          """, logger)
      case .accessionNumber(let accession):
        row = try await connection.row(
          """
          SELECT l.log_index, l.attestation, s.reporter_code
          FROM log_entries l JOIN submissions s ON s.submission_id = l.submission_id WHERE s.accession_number = \(accession)
          """, logger)
      }
      guard let row else { return nil }
      return LogEntry(
        logIndex: UInt64(try row.get("log_index", as: Int64.self)),
        attestation: try row.bytes("attestation"),
        reporterCode: try row.get("reporter_code"))
    }
  }

  public func latestTreeHead() async throws -> StoredTreeHead? {
    let logger = self.logger
    return try await read("reading the latest signed tree head") { connection in
      guard
        let row = try await connection.row(
          "SELECT encoded, key_id, signature FROM log_tree_heads ORDER BY tree_size DESC, id DESC LIMIT 1", logger)
      else { return nil }
      let encoded = try row.bytes("encoded")
      return StoredTreeHead(
        head: try TreeHead(encoded: encoded),
        signed: SignedStatement(encoded: encoded, keyID: try row.get("key_id"), signature: try row.bytes("signature")))
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
    let logger = self.logger
    let issued = stored.head.timestamp.seconds * 1_000_000 + Int64(stored.head.timestamp.nanos / 1000)
    try await write("recording a signed tree head") { connection in
      try await connection.run(
        """
        INSERT INTO log_tree_heads (tree_size, root_hash, issued_at, encoded, key_id, signature)
        VALUES (\(Int64(stored.head.treeSize)), \(Data(stored.head.rootHash.bytes)), \(issued),
          \(Data(stored.signed.encoded)), \(stored.signed.keyID), \(Data(stored.signed.signature)))
        """, logger)
    }
  }

  public func recordSigningKey(_ key: LogVerifyingKey, atMicros: Int64) async throws {
    let logger = self.logger
    try await write("recording a receipt signing key") { connection in
      try await connection.run(
        """
        INSERT INTO log_signing_keys (key_id, public_key, first_used_at) VALUES (\(key.keyID), \(Data(key.publicKey)), \(atMicros))
        ON CONFLICT (key_id) DO NOTHING
        """, logger)
    }
  }

  public func retireSigningKey(keyID: String, atMicros: Int64) async throws -> Bool {
    let logger = self.logger
    return try await write("retiring a receipt signing key") { connection in
      try await connection.row(
        "UPDATE log_signing_keys SET retired_at = coalesce(retired_at, \(atMicros)) WHERE key_id = \(keyID) RETURNING key_id",
        logger) != nil
    }
  }

  public func signingKeys() async throws -> [SigningKeyRecord] {
    let logger = self.logger
    return try await read("reading the receipt signing keys") { connection in
      try await connection.rows(
        "SELECT key_id, public_key, first_used_at, retired_at FROM log_signing_keys ORDER BY first_used_at, key_id", logger
      ).map { row in
        SigningKeyRecord(
          key: try LogVerifyingKey(publicKey: try row.bytes("public_key")),
          firstUsedAtMicros: try row.get("first_used_at"),
          retiredAtMicros: try row.get("retired_at", as: Int64?.self))
      }
    }
  }
}
