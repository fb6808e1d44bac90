import AggregatorStore
import Foundation
import Logging
import PostgresNIO
import TransparencyLog

/// The submissions log on PostgreSQL: reading the tree, and appending a batch's revisions inside
/// its transaction under one advisory lock, so that the aggregators sharing the database append
/// to one tree one batch after another (held until the batch commits).
enum PostgresLog {
  /// The transaction-level advisory lock on the log's tail.
  static let tailLockKey: Int64 = 0x6869_7465_6368_0002

  static func size(_ connection: PostgresConnection, _ logger: Logger) async throws -> UInt64 {
    let size = try await connection.row("SELECT coalesce(max(log_index) + 1, 0) AS n FROM log_entries", logger)?
      .get("n", as: Int64.self) ?? 0
    return UInt64(size)
  }

  static func subtrees(
    _ connection: PostgresConnection, _ subtrees: [PerfectSubtree], _ logger: Logger
  ) async throws -> [PerfectSubtree: MerkleHash] {
    guard !subtrees.isEmpty else { return [:] }
    let levels = subtrees.map { Int32($0.level) }
    let indices = subtrees.map { Int64(bitPattern: $0.index) }
    let rows = try await connection.rows(
      """
      SELECT t.level, t.idx, t.hash FROM log_subtrees t
      JOIN unnest(\(levels)::integer[], \(indices)::bigint[]) AS w(level, idx) ON t.level = w.level AND t.idx = w.idx
      """, logger)
    var hashes = [PerfectSubtree: MerkleHash]()
    for row in rows {
      let level: Int32 = try row.get("level")
      let index: Int64 = try row.get("idx")
      if let hash = MerkleHash(try row.bytes("hash")) {
        hashes[PerfectSubtree(level: Int(level), index: UInt64(bitPattern: index))] = hash
      }
    }
    return hashes
  }

  static func attestations(
    _ connection: PostgresConnection, submissionIds: [String], _ logger: Logger
  ) async throws -> [String: [UInt8]] {
    guard !submissionIds.isEmpty else { return [:] }
    var found = [String: [UInt8]]()
    for row in try await connection.rows(
      "SELECT submission_id, attestation FROM log_entries WHERE submission_id = ANY(\(Array(Set(submissionIds))))", logger)
    {
      found[try row.get("submission_id")] = try row.bytes("attestation")
    }
    return found
  }

  static func roundClocks(
    _ connection: PostgresConnection, submissionIds: [String], _ logger: Logger
  ) async throws -> [String: Int64] {
    guard !submissionIds.isEmpty else { return [:] }
    var clocks = [String: Int64]()
    for row in try await connection.rows(
      """
      SELECT s.submission_id, e.round_clock_at FROM arrival_events e JOIN submissions s ON s.id = e.submission_row_id
      WHERE s.submission_id = ANY(\(submissionIds)) AND e.round_clock_at IS NOT NULL
      """, logger)
    {
      clocks[try row.get("submission_id")] = try row.get("round_clock_at", as: Int64.self)
    }
    return clocks
  }

  /// Appends the batch's new revisions to the log and sets the attestation of every receipt the
  /// batch answers with. Runs in the batch's transaction, after its requests are decided.
  static func finish(
    _ outcomes: inout [Result<IngestOutcome, StoreError>], _ connection: PostgresConnection, _ logger: Logger
  ) async throws {
    let newRows = LogBatch.newRows(outcomes)
    let originals = LogBatch.originals(outcomes)
    guard !newRows.isEmpty || !originals.isEmpty else { return }
    let stored = newRows.isEmpty ? [] : outcomes.compactMap { result -> String? in
      if case .success(.accepted(let receipt)) = result { receipt.submissionId } else { nil }
    }
    if !stored.isEmpty {
      try await connection.run("SELECT pg_advisory_xact_lock(\(tailLockKey))", logger)
    }
    let size = try await self.size(connection, logger)
    let appended = try LogBatch.append(
      &outcomes,
      size: size,
      frontier: try await subtrees(connection, LogBatch.frontier(ofSize: size), logger),
      roundClocks: try await roundClocks(connection, submissionIds: newRows, logger),
      originals: try await attestations(connection, submissionIds: originals, logger))
    try await insert(appended, connection, logger)
  }

  static func insert(_ appended: LogBatch.Appended, _ connection: PostgresConnection, _ logger: Logger) async throws {
    guard !appended.entries.isEmpty else { return }
    var binds = PostgresBindings()
    var values = [String]()
    for entry in appended.entries {
      let n = binds.count
      try binds.append(Int64(entry.logIndex))
      try binds.append(entry.submissionId)
      try binds.append(Data(entry.leafHash.bytes))
      try binds.append(Data(entry.attestation))
      values.append("($\(n + 1), $\(n + 2), $\(n + 3), $\(n + 4))")
    }
    try await connection.run(
      PostgresQuery(
        unsafeSQL: "INSERT INTO log_entries (log_index, submission_id, leaf_hash, attestation) VALUES "
          + values.joined(separator: ", "),
        binds: binds), logger)
    binds = PostgresBindings()
    values = []
    for (subtree, hash) in appended.subtrees {
      let n = binds.count
      try binds.append(Int32(subtree.level))
      try binds.append(Int64(bitPattern: subtree.index))
      try binds.append(Data(hash.bytes))
      values.append("($\(n + 1), $\(n + 2), $\(n + 3))")
    }
    try await connection.run(
      PostgresQuery(
        unsafeSQL: "INSERT INTO log_subtrees (level, idx, hash) VALUES " + values.joined(separator: ", "),
        binds: binds), logger)
  }

  /// Appends every stored revision the log lacks (stored before the log existed), in row order,
  /// in one transaction under the tail lock. Returns how many.
  static func catchUp(_ connection: PostgresConnection, _ logger: Logger) async throws -> Int {
    try await connection.run("BEGIN", logger)
    do {
      try await connection.run("SELECT pg_advisory_xact_lock(\(tailLockKey))", logger)
      let rowIds = try await connection.rows(
        """
        SELECT s.id FROM submissions s
        WHERE s.accession_number IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM log_entries l WHERE l.submission_id = s.submission_id)
        ORDER BY s.id
        """, logger
      ).map { try $0.get("id", as: Int64.self) }
      var outcomes: [Result<IngestOutcome, StoreError>] = []
      for rowId in rowIds {
        guard let receipt = try await PostgresRows.receipt(connection, rowId: rowId, logger) else {
          throw StoreError(code: .internalError, message: "submission row \(rowId) vanished")
        }
        outcomes.append(.success(.accepted(receipt)))
      }
      if !outcomes.isEmpty { try await finish(&outcomes, connection, logger) }
      try await connection.run("COMMIT", logger)
      return rowIds.count
    } catch {
      _ = try? await connection.run("ROLLBACK", logger)
      throw error
    }
  }

  /// The attestation a stored row's receipt carries (see ``StoredReceipt/attestation``).
  static func attestation(
    _ connection: PostgresConnection, of receipt: StoredReceipt, rowId: Int64, _ logger: Logger
  ) async throws -> ReceiptAttestation? {
    switch receipt.status {
    case .accepted, .acceptedWithWarnings, .acceptedLate:
      return try await attestations(connection, submissionIds: [receipt.submissionId], logger)[receipt.submissionId]
        .map(ReceiptAttestation.init(encoded:))
    case .duplicate:
      return try await attestations(connection, submissionIds: [receipt.duplicateOfSubmissionId], logger)[
        receipt.duplicateOfSubmissionId
      ].map(ReceiptAttestation.init(encoded:))
    case .rejected:
      let clock = try await connection.row(
        "SELECT round_clock_at FROM arrival_events WHERE submission_row_id = \(rowId)", logger)?
        .get("round_clock_at", as: Int64?.self)
      return LogBatch.attestation(of: receipt, roundClockMicros: clock, logIndex: -1)
    }
  }
}
