import AggregatorStore
import Foundation
public import GRPCCore
public import HiTechSchema
import Logging
import SwiftProtobuf
import TransparencyLog

/// The aggregator's `ndrc.hitech.v1.SubmissionLog` service: signed tree heads, inclusion and
/// consistency proofs of the submissions log (proto-schemas/RECEIPTS.md), computed from the
/// store's perfect subtrees. Proofs are only given up to the latest signed tree head, so every
/// proof a caller gets can be checked against a head the centre signed.
public struct SubmissionLogService: Ndrc_Hitech_V1_SubmissionLog.SimpleServiceProtocol {
  let database: any SubmissionsLog
  let logger: Logger

  public init(database: any SubmissionsLog, logger: Logger) {
    self.database = database
    self.logger = logger
  }

  public func getSignedTreeHead(
    request: Ndrc_Hitech_V1_GetSignedTreeHeadRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_SignedTreeHead {
    _ = try CallerIdentity.of(context)
    guard let head = try await storeCall({ try await database.latestTreeHead() }) else {
      throw RPCError(code: .notFound, message: "the submissions log has no signed tree head yet (it is empty)")
    }
    return Ndrc_Hitech_V1_SignedTreeHead(head)
  }

  public func getInclusionProof(
    request: Ndrc_Hitech_V1_GetInclusionProofRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_InclusionProof {
    let caller = try CallerIdentity.of(context)
    let lookup: LogEntryLookup
    switch request.leaf {
    case .logIndex(let index):
      guard index >= 0 else { throw RPCError(code: .invalidArgument, message: "log_index: 0 or more, got \(index)") }
      lookup = .index(UInt64(index))
    case .leafHash(let bytes):
      guard let hash = MerkleHash(bytes) else {
        throw RPCError(code: .invalidArgument, message: "leaf_hash: 32 bytes, got \(bytes.count)")
      }
      lookup = .leafHash(hash)
    case .accessionNumber(let accession):
      lookup = .accessionNumber(accession)
    case nil:
      throw RPCError(code: .invalidArgument, message: "leaf: give log_index, leaf_hash or accession_number")
    }
    let treeSize = try await signedSize(request.treeSize, field: "tree_size")
    guard let entry = try await storeCall({ try await database.logEntry(lookup) }) else {
      throw RPCError(code: .notFound, message: "no leaf of the submissions log matches \(request.leaf.map { "\($0)" } ?? "")")
    }
    if case .reporter(let code) = caller, entry.reporterCode != code {
      throw RPCError(code: .permissionDenied, message: "leaf \(entry.logIndex) is another reporter's; reporter \(code) may prove its own")
    }
    guard entry.logIndex < treeSize else {
      throw RPCError(
        code: .outOfRange,
        message: "tree_size: leaf \(entry.logIndex) is not in the tree of \(treeSize) leaves; ask again after the next tree head")
    }
    let path = try await storeCall { try await database.logInclusionProof(leafIndex: entry.logIndex, treeSize: treeSize) }
    var proof = Ndrc_Hitech_V1_InclusionProof()
    proof.logIndex = Int64(entry.logIndex)
    proof.treeSize = treeSize
    proof.attestation = Data(entry.attestation)
    proof.path = path.map { Data($0.bytes) }
    return proof
  }

  public func getConsistencyProof(
    request: Ndrc_Hitech_V1_GetConsistencyProofRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ConsistencyProof {
    _ = try CallerIdentity.of(context)
    guard request.firstSize > 0, request.firstSize <= request.secondSize else {
      throw RPCError(
        code: .invalidArgument,
        message: "first_size: must be above 0 and at most second_size (\(request.secondSize)), got \(request.firstSize)")
    }
    let secondSize = try await signedSize(request.secondSize, field: "second_size")
    let path = try await storeCall { try await database.logConsistencyProof(oldSize: request.firstSize, newSize: secondSize) }
    var proof = Ndrc_Hitech_V1_ConsistencyProof()
    proof.firstSize = request.firstSize
    proof.secondSize = secondSize
    proof.path = path.map { Data($0.bytes) }
    return proof
  }

  public func listSigningKeys(
    request: Ndrc_Hitech_V1_ListSigningKeysRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ListSigningKeysResponse {
    _ = try CallerIdentity.of(context)
    var response = Ndrc_Hitech_V1_ListSigningKeysResponse()
    response.keys = try await storeCall { try await database.signingKeys() }.map { record in
      var key = Ndrc_Hitech_V1_SigningKey()
      key.keyID = record.key.keyID
      key.publicKey = Data(record.key.publicKey)
      key.firstUsedAt = Google_Protobuf_Timestamp(microsecondsSince1970: record.firstUsedAtMicros)
      key.retired = record.retiredAtMicros != nil
      return key
    }
    return response
  }

  /// `requested` (0: the latest signed tree head's size), refused beyond the latest head.
  private func signedSize(_ requested: UInt64, field: String) async throws -> UInt64 {
    let latest = try await storeCall { try await database.latestTreeHead() }?.head.treeSize ?? 0
    if requested == 0 {
      guard latest > 0 else {
        throw RPCError(code: .outOfRange, message: "\(field): the submissions log has no signed tree head yet")
      }
      return latest
    }
    guard requested <= latest else {
      throw RPCError(code: .outOfRange, message: "\(field): \(requested) is beyond the latest signed tree head (\(latest) leaves)")
    }
    return requested
  }
}

extension Ndrc_Hitech_V1_SignedTreeHead {
  init(_ stored: StoredTreeHead) {
    self.init()
    treeSize = stored.head.treeSize
    rootHash = Data(stored.head.rootHash.bytes)
    timestamp = Google_Protobuf_Timestamp(seconds: stored.head.timestamp.seconds, nanos: stored.head.timestamp.nanos)
    encoded = Data(stored.signed.encoded)
    signature = Data(stored.signed.signature)
    signingKeyID = stored.signed.keyID
  }
}
