import Crypto
import Testing

@testable import TransparencyLog

/// RFC 9162's definitions computed directly on the list of leaves, independent of the library's
/// subtree arithmetic: the reference every proof is compared with.
private final class Reference {
  let leaves: [[UInt8]]
  /// MTH by (first leaf, count): a range's hash depends on its leaves only, and the proofs of
  /// 300 trees ask for the same ranges many times.
  private var memo = [[Int]: [UInt8]]()

  init(_ leaves: [[UInt8]]) {
    self.leaves = leaves
  }

  static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

  static func split(_ n: Int) -> Int {
    var k = 1
    while k * 2 < n { k *= 2 }
    return k
  }

  /// MTH(D[start:start+count]).
  func mth(_ start: Int, _ count: Int) -> [UInt8] {
    if let hash = memo[[start, count]] { return hash }
    let hash: [UInt8]
    switch count {
    case 0: hash = Self.sha256([])
    case 1: hash = Self.sha256([0] + leaves[start])
    default:
      let k = Self.split(count)
      hash = Self.sha256([1] + mth(start, k) + mth(start + k, count - k))
    }
    memo[[start, count]] = hash
    return hash
  }

  /// PATH(m, D[start:start+n]).
  func path(_ m: Int, _ start: Int, _ n: Int) -> [[UInt8]] {
    guard n > 1 else { return [] }
    let k = Self.split(n)
    if m < k { return path(m, start, k) + [mth(start + k, n - k)] }
    return path(m - k, start + k, n - k) + [mth(start, k)]
  }

  /// SUBPROOF(m, D[start:start+n], complete).
  func subproof(_ m: Int, _ start: Int, _ n: Int, _ complete: Bool) -> [[UInt8]] {
    if m == n { return complete ? [] : [mth(start, n)] }
    let k = Self.split(n)
    if m <= k { return subproof(m, start, k, complete) + [mth(start + k, n - k)] }
    return subproof(m - k, start + k, n - k, false) + [mth(start, k)]
  }
}

private func leaves(_ count: Int) -> [[UInt8]] {
  (0..<count).map { Array("leaf \($0)".utf8) }
}

@Suite struct MerkleTreeTests {
  /// The test vectors of Certificate Transparency's reference implementation.
  @Test func rootsMatchTheKnownVectors() throws {
    let inputs: [[UInt8]] = [
      [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
      Array(0x50...0x57), Array(0x60...0x6f),
    ]
    let roots = [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    var tree = MemoryMerkleTree()
    #expect(try tree.rootHash() == MerkleHash.emptyTree)
    #expect(MerkleHash.emptyTree.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    for (input, root) in zip(inputs, roots) {
      tree.append(leaf: input)
      #expect(try tree.rootHash().hex == root, "size \(tree.size)")
    }
    for size in 1...8 {
      #expect(try tree.rootHash(treeSize: UInt64(size)).hex == roots[size - 1])
    }
  }

  @Test func everyInclusionProofUpTo300LeavesMatchesTheReferenceAndVerifies() throws {
    let all = leaves(300)
    let reference = Reference(all)
    var tree = MemoryMerkleTree()
    for size in 1...300 {
      tree.append(leaf: all[size - 1])
      let root = try tree.rootHash()
      #expect(root.bytes == reference.mth(0, size), "root of \(size)")
      for index in 0..<size {
        let proof = try tree.inclusionProof(leafIndex: UInt64(index))
        #expect(proof.map(\.bytes) == reference.path(index, 0, size), "leaf \(index) of \(size)")
        let verified = MerkleTree.verifyInclusion(
          leafHash: MerkleTree.leafHash(all[index]), leafIndex: UInt64(index), treeSize: UInt64(size),
          proof: proof, rootHash: root)
        #expect(verified, "leaf \(index) of \(size)")
        if !verified { return }
      }
    }
  }

  @Test func inclusionProofsFailWhenAnythingIsChanged() throws {
    let all = leaves(37)
    let tree = MemoryMerkleTree(leafHashes: all.map(MerkleTree.leafHash))
    let root = try tree.rootHash()
    for index in 0..<37 {
      let leaf = MerkleTree.leafHash(all[index])
      let proof = try tree.inclusionProof(leafIndex: UInt64(index))
      let verify = { (leaf: MerkleHash, at: UInt64, size: UInt64, proof: [MerkleHash], root: MerkleHash) in
        MerkleTree.verifyInclusion(leafHash: leaf, leafIndex: at, treeSize: size, proof: proof, rootHash: root)
      }
      #expect(verify(leaf, UInt64(index), 37, proof, root))
      #expect(!verify(MerkleTree.leafHash(all[(index + 1) % 37]), UInt64(index), 37, proof, root), "other leaf")
      #expect(!verify(leaf, UInt64((index + 1) % 37), 37, proof, root), "other index")
      #expect(!verify(leaf, UInt64(index), 37, proof, MerkleTree.leafHash(all[0])), "other root")
      #expect(!verify(leaf, UInt64(index), 37, proof.dropLast(), root), "shorter proof")
      #expect(!verify(leaf, UInt64(index), 37, proof + [root], root), "longer proof")
      for position in proof.indices {
        var bent = proof
        var bytes = bent[position].bytes
        bytes[position % 32] ^= 0x01
        bent[position] = MerkleHash(bytes)!
        #expect(!verify(leaf, UInt64(index), 37, bent, root), "proof element \(position) changed")
      }
    }
    #expect(throws: TransparencyLogError.self) { try tree.inclusionProof(leafIndex: 37) }
    #expect(!MerkleTree.verifyInclusion(leafHash: root, leafIndex: 0, treeSize: 0, proof: [], rootHash: root))
  }

  @Test func everyConsistencyProofUpTo64LeavesMatchesTheReferenceAndVerifies() throws {
    let all = leaves(64)
    let reference = Reference(all)
    let tree = MemoryMerkleTree(leafHashes: all.map(MerkleTree.leafHash))
    for newSize in 1...64 {
      let newRoot = try tree.rootHash(treeSize: UInt64(newSize))
      for oldSize in 0...newSize {
        let oldRoot = try tree.rootHash(treeSize: UInt64(oldSize))
        let proof = try tree.consistencyProof(oldSize: UInt64(oldSize), newSize: UInt64(newSize))
        if oldSize > 0 && oldSize < newSize {
          #expect(proof.map(\.bytes) == reference.subproof(oldSize, 0, newSize, true), "\(oldSize) → \(newSize)")
        } else {
          #expect(proof.isEmpty)
        }
        #expect(
          MerkleTree.verifyConsistency(
            oldSize: UInt64(oldSize), newSize: UInt64(newSize), oldRoot: oldRoot, newRoot: newRoot, proof: proof),
          "\(oldSize) → \(newSize)")
        guard oldSize > 0 && oldSize < newSize else { continue }
        // A forked log: the same sizes with one old leaf changed cannot be proved consistent.
        var forked = all
        forked[oldSize - 1] = Array("forged".utf8)
        let forkedOld = MemoryMerkleTree(leafHashes: forked[0..<oldSize].map(MerkleTree.leafHash))
        #expect(
          !MerkleTree.verifyConsistency(
            oldSize: UInt64(oldSize), newSize: UInt64(newSize), oldRoot: try forkedOld.rootHash(), newRoot: newRoot,
            proof: proof), "forked \(oldSize) → \(newSize)")
        for position in proof.indices {
          var bent = proof
          var bytes = bent[position].bytes
          bytes[0] ^= 0x80
          bent[position] = MerkleHash(bytes)!
          #expect(
            !MerkleTree.verifyConsistency(
              oldSize: UInt64(oldSize), newSize: UInt64(newSize), oldRoot: oldRoot, newRoot: newRoot, proof: bent))
        }
        #expect(
          !MerkleTree.verifyConsistency(
            oldSize: UInt64(oldSize), newSize: UInt64(newSize), oldRoot: oldRoot, newRoot: newRoot, proof: proof.dropLast()))
      }
    }
    #expect(throws: TransparencyLogError.self) { try tree.consistencyProof(oldSize: 5, newSize: 4) }
    #expect(!MerkleTree.verifyConsistency(oldSize: 5, newSize: 4, oldRoot: .emptyTree, newRoot: .emptyTree, proof: []))
  }

  @Test func appendingReportsExactlyTheSubtreesItCompletes() throws {
    var tree = MemoryMerkleTree()
    var stored = [PerfectSubtree: MerkleHash]()
    for index in UInt64(0)..<100 {
      let leaf = MerkleTree.leafHash(Array("x\(index)".utf8))
      let completed = try MerkleTree.subtreesCompleted(byAppending: leaf, at: index) { subtree in
        try #require(stored[subtree], "asked for \(subtree), which a tree of \(index) leaves lacks")
      }
      // One per trailing one bit of the index, plus the leaf.
      #expect(completed.count == 1 + (~index).trailingZeroBitCount)
      for (subtree, hash) in completed { stored[subtree] = hash }
      tree.append(leafHash: leaf)
      #expect(try MerkleTree.rootHash(size: index + 1) { try #require(stored[$0]) } == tree.rootHash())
    }
    #expect(stored.count == 100 + 50 + 25 + 12 + 6 + 3 + 1)
  }

  @Test func subtreesNeededNamesWhatAProofReads() throws {
    let tree = MemoryMerkleTree(leafHashes: leaves(1000).map(MerkleTree.leafHash))
    let needed = try MerkleTree.subtreesNeeded { try _ = MerkleTree.inclusionProof(leafIndex: 517, treeSize: 1000, subtrees: $0) }
    var read = [PerfectSubtree]()
    _ = try MerkleTree.inclusionProof(leafIndex: 517, treeSize: 1000) { read.append($0); return try tree.hash(of: $0) }
    #expect(needed == read)
    #expect(needed.count <= 2 * 10)
  }

  @Test func hashesReadOnlyTheirOwnLength() {
    #expect(MerkleHash([UInt8](repeating: 0, count: 31)) == nil)
    #expect(MerkleHash(hex: "zz" + String(repeating: "0", count: 62)) == nil)
    let hash = MerkleTree.leafHash([1, 2, 3])
    #expect(MerkleHash(hex: hash.hex.uppercased()) == hash)
  }
}
