import TransparencyLog

/// The part of a group-commit batch that every backend shares once its requests are decided:
/// the attestations of the batch's new rows, and the leaves and subtrees that appending its
/// stored revisions to the submissions log adds. The backend reads what it needs (log size,
/// frontier hashes, round-clock times) and writes what this returns, inside the batch's
/// transaction; nothing here touches storage.
package enum LogBatch {
  /// A leaf to insert.
  package struct Entry: Sendable {
    package var logIndex: UInt64
    package var submissionId: String
    package var leafHash: MerkleHash
    package var attestation: [UInt8]
  }

  /// What appending the batch adds.
  package struct Appended: Sendable {
    package var entries: [Entry] = []
    package var subtrees: [(subtree: PerfectSubtree, hash: MerkleHash)] = []
  }

  /// The subtrees of a log of `size` leaves that later appends may combine with: one per set
  /// bit of `size`. A batch reads these (and no other) before appending.
  package static func frontier(ofSize size: UInt64) -> [PerfectSubtree] {
    (0..<64).compactMap { level in
      size & (1 << UInt64(level)) == 0 ? nil : PerfectSubtree(level: level, index: (size >> UInt64(level)) - 1)
    }
  }

  /// The submission ids whose attestations the batch needs: its new rows (accepted and
  /// rejected); a duplicate's original is read with ``originals(_:)``.
  package static func newRows(_ outcomes: [Result<IngestOutcome, StoreError>]) -> [String] {
    outcomes.compactMap { result in
      switch result {
      case .success(.accepted(let receipt)), .success(.rejected(let receipt)): receipt.submissionId
      default: nil
      }
    }
  }

  /// The original submission ids of the batch's duplicates.
  package static func originals(_ outcomes: [Result<IngestOutcome, StoreError>]) -> [String] {
    outcomes.compactMap { result in
      if case .success(.duplicate(let receipt)) = result { receipt.duplicateOfSubmissionId } else { nil }
    }
  }

  /// Appends the batch's stored revisions to the log in order and sets every receipt's
  /// attestation.
  ///
  /// - Parameters:
  ///   - size: the log's size before the batch (read under the log's lock).
  ///   - frontier: the hashes of ``frontier(ofSize:)``.
  ///   - roundClocks: the round-clock time of each new row, by submission id (absent: none).
  ///   - originals: the logged attestation of each duplicate's original, by submission id.
  package static func append(
    _ outcomes: inout [Result<IngestOutcome, StoreError>],
    size: UInt64,
    frontier: [PerfectSubtree: MerkleHash],
    roundClocks: [String: Int64],
    originals: [String: [UInt8]]
  ) throws -> Appended {
    var appended = Appended()
    var known = frontier
    var next = size
    for position in outcomes.indices {
      guard case .success(let outcome) = outcomes[position] else { continue }
      switch outcome {
      case .accepted(var receipt):
        let attestation = attestation(of: receipt, roundClockMicros: roundClocks[receipt.submissionId], logIndex: Int64(next))
        let bytes = attestation.encoded
        let leaf = MerkleTree.leafHash(bytes)
        let completed = try MerkleTree.subtreesCompleted(byAppending: leaf, at: next) { subtree in
          guard let hash = known[subtree] else {
            throw StoreError(code: .internalError, message: "the submissions log lacks its subtree \(subtree)")
          }
          return hash
        }
        for (subtree, hash) in completed {
          known[subtree] = hash
          appended.subtrees.append((subtree, hash))
        }
        appended.entries.append(Entry(logIndex: next, submissionId: receipt.submissionId, leafHash: leaf, attestation: bytes))
        next += 1
        receipt.attestation = attestation
        outcomes[position] = .success(.accepted(receipt))
      case .rejected(var receipt):
        receipt.attestation = attestation(of: receipt, roundClockMicros: roundClocks[receipt.submissionId], logIndex: -1)
        outcomes[position] = .success(.rejected(receipt))
      case .duplicate(var receipt):
        if let bytes = originals[receipt.duplicateOfSubmissionId] {
          receipt.attestation = try ReceiptAttestation(encoded: bytes)
          outcomes[position] = .success(.duplicate(receipt))
        }
      case .replayed, .conflict:
        break
      }
    }
    // A duplicate or a replay of a row stored earlier in this same batch: its attestation was
    // made just now.
    var made = [String: ReceiptAttestation]()
    for case .success(let outcome) in outcomes {
      if case .accepted(let receipt) = outcome { made[receipt.submissionId] = receipt.attestation }
      if case .rejected(let receipt) = outcome { made[receipt.submissionId] = receipt.attestation }
    }
    for position in outcomes.indices {
      switch outcomes[position] {
      case .success(.duplicate(var receipt)) where receipt.attestation == nil:
        receipt.attestation = made[receipt.duplicateOfSubmissionId]
        outcomes[position] = .success(.duplicate(receipt))
      case .success(.replayed(var receipt)) where receipt.attestation == nil:
        receipt.attestation = made[receipt.submissionId]
        outcomes[position] = .success(.replayed(receipt))
      default:
        break
      }
    }
    return appended
  }

  /// The attestation of a stored row: `logIndex` -1 for a refusal.
  package static func attestation(of receipt: StoredReceipt, roundClockMicros: Int64?, logIndex: Int64) -> ReceiptAttestation {
    ReceiptAttestation(
      reporterCode: receipt.reporterCode,
      baseID: receipt.baseId,
      reportYear: Int32(clamping: receipt.reportYear),
      revision: Int32(clamping: receipt.revision),
      submissionID: receipt.submissionId,
      contentSHA256: MerkleHash(receipt.contentSHA256) ?? MerkleHash(Array(repeating: 0, count: 32))!,
      status: statusName(receipt.status),
      accessionNumber: receipt.accessionNumber,
      receivedAt: LogTimestamp(microsecondsSince1970: receipt.receivedAtMicros),
      roundClockAt: LogTimestamp(microsecondsSince1970: roundClockMicros ?? receipt.receivedAtMicros),
      logIndex: logIndex)
  }

  /// The status as RECEIPTS.md spells it: the proto enum's name without its prefix.
  package static func statusName(_ status: ReceiptStatus) -> String {
    switch status {
    case .accepted: "ACCEPTED"
    case .acceptedWithWarnings: "ACCEPTED_WITH_WARNINGS"
    case .acceptedLate: "ACCEPTED_LATE"
    case .duplicate: "DUPLICATE"
    case .rejected: "REJECTED"
    }
  }

}
