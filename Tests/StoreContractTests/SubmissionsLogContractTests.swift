import AggregatorStore
import Foundation
import GRDB
import Testing
import TransparencyLog

@Suite("Store contract: the submissions log")
struct SubmissionsLogContractTests {
  /// Stores `count` reports of distinct bases concurrently (so they are decided in several
  /// group-commit batches), plus a rejection, a duplicate and a replay.
  static func fill(_ store: any ReportStore, count: Int, prefix: String = "s") async throws -> [StoredReceipt] {
    try await withThrowingTaskGroup(of: StoredReceipt?.self) { group in
      for n in 0..<count {
        group.addTask {
          try await store.ingest(request("\(prefix)-\(n)", base: "HTB-\(prefix)-\(n)", content: "\(prefix) report \(n)")).receipt
        }
      }
      var receipts: [StoredReceipt] = []
      for try await receipt in group { receipts.append(try #require(receipt)) }
      return receipts
    }
  }

  /// The tree of the log's leaves as the store gives them, one by one.
  static func leaves(_ store: any ReportStore) async throws -> MemoryMerkleTree {
    var tree = MemoryMerkleTree()
    let size = try await store.logSize()
    for index in 0..<size {
      let entry = try #require(try await store.logEntry(.index(index)))
      tree.append(leaf: entry.attestation)
    }
    return tree
  }

  @Test("every stored revision is one leaf, its receipt carries the leaf, every proof verifies", arguments: Backend.available)
  func leavesAndProofs(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      #expect(try await store.logSize() == 0)
      let receipts = try await Self.fill(store, count: 40)
      #expect(try await store.logSize() == 40)
      var indices = Set<Int64>()
      for receipt in receipts {
        let attestation = try #require(receipt.attestation)
        #expect(attestation.submissionID == receipt.submissionId)
        #expect(attestation.accessionNumber == receipt.accessionNumber)
        #expect(attestation.contentSHA256.bytes == receipt.contentSHA256)
        #expect(attestation.status == "ACCEPTED")
        #expect(indices.insert(attestation.logIndex).inserted)
        let entry = try #require(try await store.logEntry(.index(UInt64(attestation.logIndex))))
        #expect(entry.attestation == attestation.encoded)
        #expect(entry.reporterCode == "440300")
        #expect(try await store.logEntry(.leafHash(attestation.leafHash)) == entry)
        #expect(try await store.logEntry(.accessionNumber(receipt.accessionNumber)) == entry)
        #expect(try await store.receipt(submissionId: receipt.submissionId) == receipt)
      }
      #expect(indices == Set(0..<40))

      let tree = try await Self.leaves(store)
      for size in [UInt64(1), 2, 3, 7, 8, 9, 31, 32, 33, 40] {
        let root = try await store.logRoot(size: size)
        #expect(root == (try tree.rootHash(treeSize: size)), "root of \(size)")
        for index in Swift.stride(from: UInt64(0), to: size, by: 3) {
          let entry = try #require(try await store.logEntry(.index(index)))
          let proof = try await store.logInclusionProof(leafIndex: index, treeSize: size)
          #expect(
            MerkleTree.verifyInclusion(
              leafHash: MerkleTree.leafHash(entry.attestation), leafIndex: index, treeSize: size, proof: proof, rootHash: root),
            "leaf \(index) of \(size)")
        }
        for oldSize in [UInt64(1), 5, 8, 16, 21] where oldSize <= size {
          let proof = try await store.logConsistencyProof(oldSize: oldSize, newSize: size)
          #expect(
            MerkleTree.verifyConsistency(
              oldSize: oldSize, newSize: size, oldRoot: try await store.logRoot(size: oldSize), newRoot: root, proof: proof),
            "\(oldSize) → \(size)")
        }
      }

      // A refusal is attested but not logged; a duplicate and a replay carry the original's leaf.
      let original = receipts[0]
      let rejected = try #require(try await store.ingest(request("r-1", base: "HTB-R", content: "bad", status: .rejected)).receipt)
      let refusal = try #require(rejected.attestation)
      #expect(refusal.logIndex == -1)
      #expect(refusal.status == "REJECTED")
      #expect(refusal.accessionNumber == "")
      let duplicate = try #require(
        try await store.ingest(request("d-1", base: "HTB-s-0", content: "s report 0", receivedAt: 1_760_000_000_000_000)).receipt)
      #expect(duplicate.status == .duplicate)
      #expect(duplicate.attestation == original.attestation)
      #expect(try await store.ingest(request("s-0", base: "HTB-s-0", content: "s report 0")) == .replayed(original))
      #expect(try await store.receipt(submissionId: "r-1") == rejected)
      #expect(try await store.receipt(submissionId: "d-1") == duplicate)
      #expect(try await store.logSize() == 40)
    }
  }

  @Test("a revision stored and replayed in the same batch carries its leaf", arguments: Backend.available)
  func sameBatch(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let writer = try writer(of: store)
      await writer.pause()
      async let first = store.ingest(request("b-1", base: "HTB-B", content: "b"))
      async let again = store.ingest(request("b-1", base: "HTB-B", content: "b"))
      async let dup = store.ingest(request("b-2", base: "HTB-B", content: "b"))
      try await Task.sleep(for: .milliseconds(200))
      await writer.resume()
      let outcomes = try await [first, again, dup]
      let attestations = outcomes.map { $0.receipt?.attestation }
      #expect(attestations.allSatisfy { $0 != nil && $0 == attestations[0] })
      #expect(try await store.logSize() == 1)
    }
  }

  @Test("tree heads must match the log; signing keys are recorded and retired", arguments: Backend.available)
  func treeHeadsAndKeys(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      _ = try await Self.fill(store, count: 5)
      let key = LogSigningKey()
      #expect(try await store.latestTreeHead() == nil)
      let root = try await store.logRoot(size: 5)
      let head = TreeHead(treeSize: 5, rootHash: root, timestamp: LogTimestamp(seconds: 1_760_000_000, nanos: 0))
      try await store.appendTreeHead(StoredTreeHead(head: head, signed: try key.sign(head.encoded)))
      #expect(try await store.latestTreeHead()?.head == head)
      let wrong = TreeHead(treeSize: 4, rootHash: root, timestamp: head.timestamp)
      await #expect(throws: StoreError.self) {
        try await store.appendTreeHead(StoredTreeHead(head: wrong, signed: try key.sign(wrong.encoded)))
      }
      let beyond = TreeHead(treeSize: 6, rootHash: root, timestamp: head.timestamp)
      await #expect(throws: StoreError.self) {
        try await store.appendTreeHead(StoredTreeHead(head: beyond, signed: try key.sign(beyond.encoded)))
      }

      let second = LogSigningKey()
      try await store.recordSigningKey(key.verifyingKey, atMicros: 10)
      try await store.recordSigningKey(key.verifyingKey, atMicros: 11)
      try await store.recordSigningKey(second.verifyingKey, atMicros: 20)
      #expect(try await store.retireSigningKey(keyID: key.verifyingKey.keyID, atMicros: 30))
      #expect(try await store.retireSigningKey(keyID: "0000000000000000", atMicros: 30) == false)
      let keys = try await store.signingKeys()
      #expect(keys.map(\.key) == [key.verifyingKey, second.verifyingKey])
      #expect(keys.map(\.firstUsedAtMicros) == [10, 20])
      #expect(keys.map(\.retiredAtMicros) == [30, nil])
    }
  }

  @Test("a reopened store continues the same tree, and two stores on one database append to one tree", arguments: Backend.available)
  func continuesTheSameTree(_ backend: Backend) async throws {
    let database = try await ContractDatabase.make(backend)
    defer { Task { await database.remove() } }
    let first = try await database.open()
    _ = try await Self.fill(first, count: 10, prefix: "a")
    let oldRoot = try await first.logRoot(size: 10)
    try await first.close()

    let one = try await database.open()
    let two = try await database.open()
    async let fromOne = Self.fill(one, count: 15, prefix: "b")
    async let fromTwo = Self.fill(two, count: 15, prefix: "c")
    _ = try await (fromOne, fromTwo)
    #expect(try await one.logSize() == 40)
    let tree = try await Self.leaves(two)
    let newRoot = try await one.logRoot(size: 40)
    #expect(newRoot == (try tree.rootHash()))
    #expect(
      MerkleTree.verifyConsistency(
        oldSize: 10, newSize: 40, oldRoot: oldRoot, newRoot: newRoot,
        proof: try await two.logConsistencyProof(oldSize: 10, newSize: 40)))
    var names = Set<String>()
    for index in UInt64(0)..<40 {
      let entry = try #require(try await one.logEntry(.index(index)))
      names.insert(try ReceiptAttestation(encoded: entry.attestation).submissionID)
    }
    #expect(names.count == 40)
    try await one.close()
    try await two.close()
  }

  @Test("an edit of the log behind the store's back fails the consistency check")
  func editedBehindItsBack() async throws {
    let database = try await ContractDatabase.make(.sqlite)
    defer { Task { await database.remove() } }
    let store = try await database.open()
    _ = try await Self.fill(store, count: 12)
    let heldRoot = try await store.logRoot(size: 8)
    try await store.close()

    // Whoever holds the file rewrites leaf 3 and everything above it, consistently.
    let path = String(database.location.dropFirst("sqlite:".count))
    let queue = try DatabaseQueue(path: path)
    try await queue.write { db in
      let attestation = try Data.fetchOne(db, sql: "SELECT attestation FROM log_entries WHERE log_index = 3")!
      var forged = try ReceiptAttestation(encoded: [UInt8](attestation))
      forged.contentSHA256 = MerkleTree.leafHash(Array("another report".utf8))
      var tree = MemoryMerkleTree()
      for index in 0..<12 {
        let bytes = index == 3 ? forged.encoded : [UInt8](try Data.fetchOne(db, sql: "SELECT attestation FROM log_entries WHERE log_index = ?", arguments: [index])!)
        tree.append(leaf: bytes)
      }
      try db.execute(sql: "DROP TRIGGER log_subtrees_no_update")
      for row in try Row.fetchAll(db, sql: "SELECT level, idx FROM log_subtrees") {
        let subtree = PerfectSubtree(level: row["level"], index: UInt64(row["idx"] as Int64))
        try db.execute(
          sql: "UPDATE log_subtrees SET hash = ? WHERE level = ? AND idx = ?",
          arguments: [Data(try tree.hash(of: subtree).bytes), subtree.level, Int64(subtree.index)])
      }
    }
    try queue.close()

    let reopened = try await database.open()
    let newRoot = try await reopened.logRoot(size: 12)
    let proof = try await reopened.logConsistencyProof(oldSize: 8, newSize: 12)
    #expect(!MerkleTree.verifyConsistency(oldSize: 8, newSize: 12, oldRoot: heldRoot, newRoot: newRoot, proof: proof))
    // The held root itself is no longer the log's root at 8.
    #expect(try await reopened.logRoot(size: 8) != heldRoot)
    try await reopened.close()
  }
}
