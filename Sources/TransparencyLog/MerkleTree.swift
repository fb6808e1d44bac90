import Crypto

/// The Merkle tree of RFC 9162 (Certificate Transparency 2.0), §2.1: hashing, proofs and their
/// verification. No storage and no I/O: proofs are built from a function that returns the hash
/// of a ``PerfectSubtree``, which a store answers from its table of subtrees (or a test from
/// memory).
///
/// - Leaf hash: `SHA-256(0x00 || leaf)`; interior node: `SHA-256(0x01 || left || right)`.
/// - The tree of `n` leaves splits at `k`, the largest power of two below `n`.
public enum MerkleTree {
  /// Gives the hash of a perfect subtree the tree already has.
  public typealias SubtreeHashes = (PerfectSubtree) throws -> MerkleHash

  // MARK: Hashing

  /// `SHA-256(0x00 || leaf)`.
  public static func leafHash(_ leaf: some Sequence<UInt8>) -> MerkleHash {
    var hasher = SHA256()
    hasher.update(data: [0x00])
    hasher.update(data: Array(leaf))
    return MerkleHash(trusted: Array(hasher.finalize()))
  }

  /// `SHA-256(0x01 || left || right)`.
  public static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
    var hasher = SHA256()
    hasher.update(data: [0x01])
    hasher.update(data: left.bytes)
    hasher.update(data: right.bytes)
    return MerkleHash(trusted: Array(hasher.finalize()))
  }

  // MARK: Appending

  /// The perfect subtrees that appending a leaf at `index` (the tree's size before) completes,
  /// the leaf itself first, each with its hash. `existing` is asked for the left siblings, all
  /// subtrees the tree of size `index` already has.
  public static func subtreesCompleted(
    byAppending leafHash: MerkleHash,
    at index: UInt64,
    existing: SubtreeHashes
  ) rethrows -> [(subtree: PerfectSubtree, hash: MerkleHash)] {
    var completed = [(subtree: PerfectSubtree(level: 0, index: index), hash: leafHash)]
    var level = 0
    var position = index
    var hash = leafHash
    while position & 1 == 1 {
      let sibling = try existing(PerfectSubtree(level: level, index: position - 1))
      hash = nodeHash(sibling, hash)
      level += 1
      position >>= 1
      completed.append((PerfectSubtree(level: level, index: position), hash))
    }
    return completed
  }

  // MARK: Roots and proofs

  /// The root of the tree of the first `size` leaves (RFC 9162 §2.1.1 MTH).
  public static func rootHash(size: UInt64, subtrees: SubtreeHashes) rethrows -> MerkleHash {
    size == 0 ? .emptyTree : try rangeHash(from: 0, count: size, subtrees: subtrees)
  }

  /// The inclusion proof of leaf `leafIndex` in the tree of `treeSize` leaves
  /// (RFC 9162 §2.1.3.1 PATH), from the leaf upwards.
  public static func inclusionProof(
    leafIndex: UInt64,
    treeSize: UInt64,
    subtrees: SubtreeHashes
  ) throws -> [MerkleHash] {
    guard leafIndex < treeSize else {
      throw TransparencyLogError.proofOutOfRange("leaf \(leafIndex) is not in a tree of \(treeSize) leaves")
    }
    var proof = [MerkleHash]()
    try path(leafIndex, from: 0, count: treeSize, into: &proof, subtrees: subtrees)
    return proof
  }

  /// The consistency proof between the trees of `oldSize` and `newSize` leaves
  /// (RFC 9162 §2.1.4.1 PROOF). Empty when `oldSize` is 0 or equals `newSize`.
  public static func consistencyProof(
    oldSize: UInt64,
    newSize: UInt64,
    subtrees: SubtreeHashes
  ) throws -> [MerkleHash] {
    guard oldSize <= newSize else {
      throw TransparencyLogError.proofOutOfRange("a tree of \(oldSize) leaves is not a prefix of one of \(newSize)")
    }
    guard oldSize > 0, oldSize < newSize else { return [] }
    var proof = [MerkleHash]()
    try subproof(oldSize, from: 0, count: newSize, complete: true, into: &proof, subtrees: subtrees)
    return proof
  }

  /// The perfect subtrees a computation asks for, in the order it asks: lets a store fetch them
  /// in one query before computing.
  public static func subtreesNeeded(
    _ computation: (SubtreeHashes) throws -> Void
  ) rethrows -> [PerfectSubtree] {
    var needed = [PerfectSubtree]()
    var seen = Set<PerfectSubtree>()
    try computation { subtree in
      if seen.insert(subtree).inserted { needed.append(subtree) }
      return .emptyTree
    }
    return needed
  }

  // MARK: Verification

  /// RFC 9162 §2.1.3.2: whether `proof` shows the leaf with `leafHash` at `leafIndex` in the
  /// tree of `treeSize` leaves whose root is `rootHash`.
  public static func verifyInclusion(
    leafHash: MerkleHash,
    leafIndex: UInt64,
    treeSize: UInt64,
    proof: [MerkleHash],
    rootHash: MerkleHash
  ) -> Bool {
    guard leafIndex < treeSize else { return false }
    var fn = leafIndex
    var sn = treeSize - 1
    var r = leafHash
    for p in proof {
      guard sn != 0 else { return false }
      if fn & 1 == 1 || fn == sn {
        r = nodeHash(p, r)
        if fn & 1 == 0 {
          while fn & 1 == 0 && fn != 0 {
            fn >>= 1
            sn >>= 1
          }
        }
      } else {
        r = nodeHash(r, p)
      }
      fn >>= 1
      sn >>= 1
    }
    return sn == 0 && r == rootHash
  }

  /// RFC 9162 §2.1.4.2: whether `proof` shows that the tree of `oldSize` leaves with root
  /// `oldRoot` is a prefix of the tree of `newSize` leaves with root `newRoot`.
  public static func verifyConsistency(
    oldSize: UInt64,
    newSize: UInt64,
    oldRoot: MerkleHash,
    newRoot: MerkleHash,
    proof: [MerkleHash]
  ) -> Bool {
    guard oldSize <= newSize else { return false }
    if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
    if oldSize == 0 { return proof.isEmpty && oldRoot == .emptyTree }
    guard !proof.isEmpty else { return false }
    var path = proof[...]
    if oldSize & (oldSize - 1) == 0 { path = ([oldRoot] + proof)[...] }
    var fn = oldSize - 1
    var sn = newSize - 1
    while fn & 1 == 1 {
      fn >>= 1
      sn >>= 1
    }
    var fr = path.first!
    var sr = fr
    for c in path.dropFirst() {
      guard sn != 0 else { return false }
      if fn & 1 == 1 || fn == sn {
        fr = nodeHash(c, fr)
        sr = nodeHash(c, sr)
        if fn & 1 == 0 {
          while fn & 1 == 0 && fn != 0 {
            fn >>= 1
            sn >>= 1
          }
        }
      } else {
        sr = nodeHash(sr, c)
      }
      fn >>= 1
      sn >>= 1
    }
    return fr == oldRoot && sr == newRoot && sn == 0
  }

  // MARK: Internal

  /// MTH of the `count` leaves from `start`, where `start` is a multiple of the largest power of
  /// two not above `count` (true of every range the RFC's recursions visit).
  static func rangeHash(from start: UInt64, count: UInt64, subtrees: SubtreeHashes) rethrows -> MerkleHash {
    precondition(count > 0)
    if count & (count - 1) == 0 {
      let level = count.trailingZeroBitCount
      precondition(start % count == 0, "range from \(start) of \(count) leaves is not a subtree")
      return try subtrees(PerfectSubtree(level: level, index: start >> UInt64(level)))
    }
    let split = largestPowerOfTwo(below: count)
    return nodeHash(
      try rangeHash(from: start, count: split, subtrees: subtrees),
      try rangeHash(from: start + split, count: count - split, subtrees: subtrees)
    )
  }

  private static func path(
    _ m: UInt64, from start: UInt64, count n: UInt64,
    into proof: inout [MerkleHash], subtrees: SubtreeHashes
  ) throws {
    guard n > 1 else { return }
    let k = largestPowerOfTwo(below: n)
    if m < k {
      try path(m, from: start, count: k, into: &proof, subtrees: subtrees)
      proof.append(try rangeHash(from: start + k, count: n - k, subtrees: subtrees))
    } else {
      try path(m - k, from: start + k, count: n - k, into: &proof, subtrees: subtrees)
      proof.append(try rangeHash(from: start, count: k, subtrees: subtrees))
    }
  }

  private static func subproof(
    _ m: UInt64, from start: UInt64, count n: UInt64, complete: Bool,
    into proof: inout [MerkleHash], subtrees: SubtreeHashes
  ) throws {
    if m == n {
      if !complete { proof.append(try rangeHash(from: start, count: n, subtrees: subtrees)) }
      return
    }
    let k = largestPowerOfTwo(below: n)
    if m <= k {
      try subproof(m, from: start, count: k, complete: complete, into: &proof, subtrees: subtrees)
      proof.append(try rangeHash(from: start + k, count: n - k, subtrees: subtrees))
    } else {
      try subproof(m - k, from: start + k, count: n - k, complete: false, into: &proof, subtrees: subtrees)
      proof.append(try rangeHash(from: start, count: k, subtrees: subtrees))
    }
  }

  /// The largest power of two strictly below `n` (n ≥ 2).
  static func largestPowerOfTwo(below n: UInt64) -> UInt64 {
    precondition(n >= 2)
    return 1 << UInt64(63 - (n - 1).leadingZeroBitCount)
  }
}
