public import HiTechSchema
public import TransparencyLog

/// The checks anyone holding the centre's keys makes on what the submissions log serves
/// (proto-schemas/RECEIPTS.md): a signed tree head, and an inclusion proof under it. The node's
/// audit, `hitech receipt verify` and `hitech results verify` all use these, so they agree.
public enum LogProofCheck {
  /// The head's signature by one of `keys` (current or retired), and its fields equal to what
  /// was signed. Returns the signed head, or what is wrong with it.
  public static func signedHead(
    _ head: Ndrc_Hitech_V1_SignedTreeHead, keys: LogKeyRing
  ) -> Result<TreeHead, Problem> {
    let verdict = keys.verify(SignedStatement(encoded: Array(head.encoded), keyID: head.signingKeyID, signature: Array(head.signature)))
    guard verdict.isValid else {
      return .failure(Problem("the signed tree head of \(head.treeSize) leaves does not verify (\(verdict))"))
    }
    guard let signed = signedFields(head) else {
      return .failure(Problem("the tree head of \(head.treeSize) leaves: its fields are not what was signed"))
    }
    return .success(signed)
  }

  /// The head its signed bytes encode, when its fields (size, root, time) say the same; nil
  /// when they do not or the bytes are not a tree-head encoding. The signature is not checked.
  public static func signedFields(_ head: Ndrc_Hitech_V1_SignedTreeHead) -> TreeHead? {
    guard let signed = try? TreeHead(encoded: Array(head.encoded)), signed.treeSize == head.treeSize,
      signed.rootHash.bytes == Array(head.rootHash), signed.timestamp.seconds == head.timestamp.seconds,
      signed.timestamp.nanos == head.timestamp.nanos
    else { return nil }
    return signed
  }

  /// Whether `proof` shows `attestation` as its leaf in the tree `head` describes; nil when it
  /// does, else what is wrong.
  public static func inclusion(
    _ proof: Ndrc_Hitech_V1_InclusionProof, of attestation: ReceiptAttestation, in head: TreeHead
  ) -> Problem? {
    guard Array(proof.attestation) == attestation.encoded else {
      return Problem("the inclusion proof's leaf is not this attestation")
    }
    guard attestation.logIndex >= 0, UInt64(attestation.logIndex) < head.treeSize else {
      return Problem("leaf \(attestation.logIndex) is not in the signed tree of \(head.treeSize) leaves")
    }
    let path = proof.path.compactMap { MerkleHash($0) }
    guard path.count == proof.path.count,
      MerkleTree.verifyInclusion(
        leafHash: attestation.leafHash, leafIndex: UInt64(attestation.logIndex), treeSize: head.treeSize,
        proof: path, rootHash: head.rootHash)
    else {
      return Problem("leaf \(attestation.logIndex) is not in the signed tree of \(head.treeSize) leaves (root \(head.rootHash))")
    }
    return nil
  }

  /// Whether the tree `new` extends the tree `old` (same root at the same size; else a
  /// consistency proof, fetched only when needed, that checks out). False means the log's
  /// history was rewritten.
  public static func extends(
    _ new: TreeHead, _ old: TreeHead, proof: () async throws -> Ndrc_Hitech_V1_ConsistencyProof
  ) async rethrows -> Bool {
    if new.treeSize < old.treeSize { return false }
    if new.treeSize == old.treeSize { return new.rootHash == old.rootHash }
    let fetched = try await proof()
    let path = fetched.path.compactMap { MerkleHash($0) }
    return path.count == fetched.path.count && fetched.firstSize == old.treeSize && fetched.secondSize == new.treeSize
      && MerkleTree.verifyConsistency(
        oldSize: old.treeSize, newSize: new.treeSize, oldRoot: old.rootHash, newRoot: new.rootHash, proof: path)
  }

  /// What a check found wrong, in words for the operator.
  public struct Problem: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
  }
}
