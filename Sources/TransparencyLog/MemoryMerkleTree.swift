/// A log kept in memory: every perfect subtree by level. For tests, tools and small logs; a
/// store keeps the same subtrees in a table (``MerkleTree/subtreesCompleted(byAppending:at:existing:)``).
public struct MemoryMerkleTree: Sendable {
  /// `levels[l][i]` is the hash of ``PerfectSubtree`` `(l, i)`.
  private var levels: [[MerkleHash]] = [[]]

  public init() {}

  /// Appends the leaves' hashes, in order.
  public init(leafHashes: some Sequence<MerkleHash>) {
    for hash in leafHashes { append(leafHash: hash) }
  }

  /// The number of leaves.
  public var size: UInt64 { UInt64(levels[0].count) }

  /// Appends a leaf by its hash; returns its index.
  @discardableResult
  public mutating func append(leafHash: MerkleHash) -> UInt64 {
    let index = size
    let completed = MerkleTree.subtreesCompleted(byAppending: leafHash, at: index) { levels[$0.level][Int($0.index)] }
    for (subtree, hash) in completed {
      if subtree.level == levels.count { levels.append([]) }
      precondition(levels[subtree.level].count == Int(subtree.index))
      levels[subtree.level].append(hash)
    }
    return index
  }

  /// Appends a leaf (hashed as RFC 9162 says); returns its index.
  @discardableResult
  public mutating func append(leaf: some Sequence<UInt8>) -> UInt64 {
    append(leafHash: MerkleTree.leafHash(leaf))
  }

  /// The hash of a perfect subtree the tree has.
  public func hash(of subtree: PerfectSubtree) throws -> MerkleHash {
    guard subtree.level < levels.count, subtree.index < UInt64(levels[subtree.level].count) else {
      throw TransparencyLogError.proofOutOfRange("no subtree \(subtree) in a tree of \(size) leaves")
    }
    return levels[subtree.level][Int(subtree.index)]
  }

  /// The root of the first `treeSize` leaves (all of them by default).
  public func rootHash(treeSize: UInt64? = nil) throws -> MerkleHash {
    let treeSize = treeSize ?? size
    guard treeSize <= size else {
      throw TransparencyLogError.proofOutOfRange("a tree of \(size) leaves has no prefix of \(treeSize)")
    }
    return try MerkleTree.rootHash(size: treeSize, subtrees: hash(of:))
  }

  public func inclusionProof(leafIndex: UInt64, treeSize: UInt64? = nil) throws -> [MerkleHash] {
    let treeSize = treeSize ?? size
    guard treeSize <= size else {
      throw TransparencyLogError.proofOutOfRange("a tree of \(size) leaves has no prefix of \(treeSize)")
    }
    return try MerkleTree.inclusionProof(leafIndex: leafIndex, treeSize: treeSize, subtrees: hash(of:))
  }

  public func consistencyProof(oldSize: UInt64, newSize: UInt64? = nil) throws -> [MerkleHash] {
    let newSize = newSize ?? size
    guard newSize <= size else {
      throw TransparencyLogError.proofOutOfRange("a tree of \(size) leaves has no prefix of \(newSize)")
    }
    return try MerkleTree.consistencyProof(oldSize: oldSize, newSize: newSize, subtrees: hash(of:))
  }
}
