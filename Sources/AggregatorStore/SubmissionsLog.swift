public import TransparencyLog

/// The submissions log (proto-schemas/RECEIPTS.md): an append-only RFC 9162 Merkle tree over the
/// attestation of every stored report revision, appended in the transaction that stores the
/// revision, in commit order. The store keeps the leaves' attestations, the perfect subtrees
/// (``PerfectSubtree``) that every root and proof is made of, the signed tree heads and the
/// public keys that signed. None of it is ever updated or deleted.
public protocol SubmissionsLog: Sendable {
  /// The number of leaves.
  func logSize() async throws -> UInt64

  /// The hashes of the given perfect subtrees; a subtree the log does not have is absent.
  func logSubtrees(_ subtrees: [PerfectSubtree]) async throws -> [PerfectSubtree: MerkleHash]

  /// One leaf, by index, leaf hash or accession number.
  func logEntry(_ lookup: LogEntryLookup) async throws -> LogEntry?

  /// The most recent signed tree head (the largest tree, the latest signature of it).
  func latestTreeHead() async throws -> StoredTreeHead?

  /// Records a signed tree head. A head that does not match the log (size beyond it, another
  /// root) is refused.
  func appendTreeHead(_ head: StoredTreeHead) async throws

  /// Records a key an aggregator signs with (once; again is a no-op). Several aggregators
  /// sharing a store may each sign with their own key: every one is recorded.
  func recordSigningKey(_ key: LogVerifyingKey, atMicros: Int64) async throws

  /// Marks a key retired (rotated away from): what it signed still verifies. False when no
  /// such key is recorded.
  func retireSigningKey(keyID: String, atMicros: Int64) async throws -> Bool

  /// Every key that has signed, oldest first.
  func signingKeys() async throws -> [SigningKeyRecord]
}

/// How to find a leaf of the log.
public enum LogEntryLookup: Sendable, Hashable {
  case index(UInt64)
  case leafHash(MerkleHash)
  case accessionNumber(String)
}

/// A leaf of the log.
public struct LogEntry: Sendable, Hashable {
  public var logIndex: UInt64
  /// The canonical encoding, exactly as logged.
  public var attestation: [UInt8]
  /// The reporter that submitted (for authorising who may see the leaf).
  public var reporterCode: String

  public init(logIndex: UInt64, attestation: [UInt8], reporterCode: String) {
    self.logIndex = logIndex
    self.attestation = attestation
    self.reporterCode = reporterCode
  }
}

/// A signed tree head as stored.
public struct StoredTreeHead: Sendable, Hashable {
  public var head: TreeHead
  public var signed: SignedStatement

  public init(head: TreeHead, signed: SignedStatement) {
    self.head = head
    self.signed = signed
  }
}

/// A key the centre has signed with.
public struct SigningKeyRecord: Sendable, Hashable {
  public var key: LogVerifyingKey
  public var firstUsedAtMicros: Int64
  public var retiredAtMicros: Int64?

  public init(key: LogVerifyingKey, firstUsedAtMicros: Int64, retiredAtMicros: Int64?) {
    self.key = key
    self.firstUsedAtMicros = firstUsedAtMicros
    self.retiredAtMicros = retiredAtMicros
  }
}

extension SubmissionsLog {
  /// The root of the first `size` leaves, from the stored subtrees.
  public func logRoot(size: UInt64) async throws -> MerkleHash {
    let needed = try MerkleTree.subtreesNeeded { _ = try MerkleTree.rootHash(size: size, subtrees: $0) }
    let hashes = try await logSubtrees(needed)
    return try MerkleTree.rootHash(size: size) { try Self.require(hashes, $0) }
  }

  /// The inclusion proof of a leaf in the tree of `treeSize` leaves.
  public func logInclusionProof(leafIndex: UInt64, treeSize: UInt64) async throws -> [MerkleHash] {
    let needed = try MerkleTree.subtreesNeeded {
      _ = try MerkleTree.inclusionProof(leafIndex: leafIndex, treeSize: treeSize, subtrees: $0)
    }
    let hashes = try await logSubtrees(needed)
    return try MerkleTree.inclusionProof(leafIndex: leafIndex, treeSize: treeSize) { try Self.require(hashes, $0) }
  }

  /// The consistency proof between the trees of `oldSize` and `newSize` leaves.
  public func logConsistencyProof(oldSize: UInt64, newSize: UInt64) async throws -> [MerkleHash] {
    let needed = try MerkleTree.subtreesNeeded {
      _ = try MerkleTree.consistencyProof(oldSize: oldSize, newSize: newSize, subtrees: $0)
    }
    let hashes = try await logSubtrees(needed)
    return try MerkleTree.consistencyProof(oldSize: oldSize, newSize: newSize) { try Self.require(hashes, $0) }
  }

  private static func require(_ hashes: [PerfectSubtree: MerkleHash], _ subtree: PerfectSubtree) throws -> MerkleHash {
    guard let hash = hashes[subtree] else {
      throw StoreError(code: .internalError, message: "the submissions log lacks its subtree \(subtree)")
    }
    return hash
  }
}
