import Foundation
import GRDB
import TransparencyLog

/// The submissions log on SQLite: reading the tree and appending a batch's revisions inside its
/// write transaction (SQLite has one writer, so the log's tail needs no other lock).
enum SQLiteLog {
  static func size(_ db: Database) throws -> UInt64 {
    UInt64(try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(log_index) + 1, 0) FROM log_entries")) ?? 0)
  }

  static func subtrees(_ db: Database, _ subtrees: [PerfectSubtree]) throws -> [PerfectSubtree: MerkleHash] {
    let statement = try db.cachedStatement(sql: "SELECT hash FROM log_subtrees WHERE level = ? AND idx = ?")
    var hashes = [PerfectSubtree: MerkleHash]()
    for subtree in subtrees {
      if let data = try Data.fetchOne(statement, arguments: [subtree.level, Int64(bitPattern: subtree.index)]),
        let hash = MerkleHash(data)
      {
        hashes[subtree] = hash
      }
    }
    return hashes
  }

  /// The logged attestation of each stored submission id that has one.
  static func attestations(_ db: Database, submissionIds: [String]) throws -> [String: [UInt8]] {
    let statement = try db.cachedStatement(sql: "SELECT attestation FROM log_entries WHERE submission_id = ?")
    var found = [String: [UInt8]]()
    for id in Set(submissionIds) {
      if let data = try Data.fetchOne(statement, arguments: [id]) { found[id] = [UInt8](data) }
    }
    return found
  }

  /// The round-clock time of each submission id's arrival event, where the round has a calendar.
  static func roundClocks(_ db: Database, submissionIds: [String]) throws -> [String: Int64] {
    let statement = try db.cachedStatement(
      sql: """
        SELECT e.round_clock_at FROM arrival_events e JOIN submissions s ON s.id = e.submission_row_id
        WHERE s.submission_id = ?
        """)
    var clocks = [String: Int64]()
    for id in submissionIds {
      if let micros = try Int64?.fetchOne(statement, arguments: [id]) ?? nil { clocks[id] = micros }
    }
    return clocks
  }

  /// Appends the batch's new revisions to the log and sets the attestation of every receipt the
  /// batch answers with. Runs in the batch's transaction, after its requests are decided.
  static func finish(_ outcomes: inout [Result<IngestOutcome, StoreError>], db: Database) throws {
    let newRows = LogBatch.newRows(outcomes)
    let originals = LogBatch.originals(outcomes)
    guard !newRows.isEmpty || !originals.isEmpty else { return }
    let size = try size(db)
    let appended = try LogBatch.append(
      &outcomes,
      size: size,
      frontier: try subtrees(db, LogBatch.frontier(ofSize: size)),
      roundClocks: try roundClocks(db, submissionIds: newRows),
      originals: try attestations(db, submissionIds: originals))
    try insert(appended, db: db)
  }

  static func insert(_ appended: LogBatch.Appended, db: Database) throws {
    let entry = try db.cachedStatement(
      sql: "INSERT INTO log_entries (log_index, submission_id, leaf_hash, attestation) VALUES (?, ?, ?, ?)")
    for e in appended.entries {
      try entry.execute(arguments: [Int64(e.logIndex), e.submissionId, Data(e.leafHash.bytes), Data(e.attestation)])
    }
    let subtree = try db.cachedStatement(sql: "INSERT INTO log_subtrees (level, idx, hash) VALUES (?, ?, ?)")
    for (s, hash) in appended.subtrees {
      try subtree.execute(arguments: [s.level, Int64(bitPattern: s.index), Data(hash.bytes)])
    }
  }

  /// Appends every stored revision the log lacks (stored before the log existed), in row order.
  /// Returns how many.
  static func catchUp(_ db: Database) throws -> Int {
    let rowIds = try Int64.fetchAll(
      db,
      sql: """
        SELECT s.id FROM submissions s
        WHERE s.accession_number IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM log_entries l WHERE l.submission_id = s.submission_id)
        ORDER BY s.id
        """)
    guard !rowIds.isEmpty else { return 0 }
    var outcomes: [Result<IngestOutcome, StoreError>] = try rowIds.map { rowId in
      guard let receipt = try Rows.receipt(db, rowId: rowId) else {
        throw StoreError(code: .internalError, message: "submission row \(rowId) vanished")
      }
      return .success(.accepted(receipt))
    }
    try finish(&outcomes, db: db)
    return rowIds.count
  }

  /// The attestation a stored row's receipt carries (see ``StoredReceipt/attestation``).
  static func attestation(_ db: Database, of receipt: StoredReceipt, rowId: Int64) throws -> ReceiptAttestation? {
    switch receipt.status {
    case .accepted, .acceptedWithWarnings, .acceptedLate:
      return try attestations(db, submissionIds: [receipt.submissionId])[receipt.submissionId].map(ReceiptAttestation.init(encoded:))
    case .duplicate:
      return try attestations(db, submissionIds: [receipt.duplicateOfSubmissionId])[receipt.duplicateOfSubmissionId]
        .map(ReceiptAttestation.init(encoded:))
    case .rejected:
      let clock = try Int64?.fetchOne(
        db.cachedStatement(sql: "SELECT round_clock_at FROM arrival_events WHERE submission_row_id = ?"),
        arguments: [rowId]) ?? nil
      return LogBatch.attestation(of: receipt, roundClockMicros: clock, logIndex: -1)
    }
  }
}
