/// The centre's signed statement of the log's size and root at a time (RFC 9162 §4.10, in the
/// canonical encoding of proto-schemas/RECEIPTS.md §3).
public struct TreeHead: Hashable, Sendable {
  public static let tag = "hitech-tree-head-v1"

  public var treeSize: UInt64
  public var rootHash: MerkleHash
  /// When it was issued, on the aggregator's clock.
  public var timestamp: LogTimestamp

  public init(treeSize: UInt64, rootHash: MerkleHash, timestamp: LogTimestamp) {
    self.treeSize = treeSize
    self.rootHash = rootHash
    self.timestamp = timestamp
  }

  /// The canonical encoding: what is signed.
  public var encoded: [UInt8] {
    var writer = CanonicalWriter()
    writer.string(Self.tag)
    writer.uint64(treeSize)
    writer.hash(rootHash)
    writer.int64(timestamp.seconds)
    writer.int32(timestamp.nanos)
    return writer.bytes
  }

  public init(encoded bytes: [UInt8]) throws {
    var reader = CanonicalReader(bytes)
    let tag = try reader.string("tag")
    guard tag == Self.tag else {
      throw TransparencyLogError.malformed("tag: \"\(tag)\", expected \"\(Self.tag)\"")
    }
    treeSize = try reader.uint64("tree_size")
    rootHash = try reader.hash("root_hash")
    timestamp = LogTimestamp(seconds: try reader.int64("timestamp.seconds"), nanos: try reader.int32("timestamp.nanos"))
    try reader.finish()
  }
}

/// Signed bytes: a ``ReceiptAttestation`` or a ``TreeHead`` encoding with the Ed25519 signature
/// and the id of the key that made it.
public struct SignedStatement: Hashable, Sendable {
  public var encoded: [UInt8]
  public var keyID: String
  public var signature: [UInt8]

  public init(encoded: [UInt8], keyID: String, signature: [UInt8]) {
    self.encoded = encoded
    self.keyID = keyID
    self.signature = signature
  }
}
