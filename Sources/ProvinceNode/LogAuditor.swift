import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TransparencyLog
import ZeroMQTransport

/// The node's audit of the centre's submissions log (proto-schemas/RECEIPTS.md §5).
///
/// Every `interval` it fetches the latest signed tree head, checks its signature, checks that it
/// extends the head kept from the last audit (a consistency proof), then checks each receipt in
/// sent/ not yet audited: its signature and fields (``ReceiptVerification``), and that its
/// attestation is a leaf of the log (an inclusion proof). What passed is remembered in
/// `audit/ledger.json` in the spool; the new head is kept only when everything passed.
///
/// A failure is an **alarm**: logged at error, kept in the ledger (it survives restarts and is
/// never retried away), counted in the metrics and shown by `hitech node status`, which then
/// exits 3. Only an unreachable aggregator is retried quietly.
struct LogAuditor: Service {
  let endpoints: [String]
  let security: ZeroMQTransport.Security
  let sentDirectory: String
  let ledger: LogAuditLedger
  /// Configured public keys of the centre; when empty, the keys the aggregator lists at the
  /// first audit are pinned in the ledger (trust on first use) and a new key is pinned when
  /// it first appears.
  let configuredKeys: LogKeyRing
  let interval: Duration
  let logger: Logger

  func run() async throws {
    try? await cancelWhenGracefulShutdown {
      var endpointIndex = 0
      while !Task.isCancelled {
        let endpoint = endpoints[endpointIndex % endpoints.count]
        do {
          let transport = ZeroMQTransport.Client(endpoint: endpoint, security: security)
          try await withGRPCClient(transport: transport) { grpc in
            let client = Ndrc_Hitech_V1_SubmissionLog.Client(wrapping: grpc)
            while !Task.isCancelled {
              try await audit(client)
              try await Task.sleep(for: interval)
            }
          }
        } catch let error as RPCError where [.unavailable, .deadlineExceeded, .unknown, .cancelled].contains(error.code) {
          if Task.isCancelled { break }
          logger.notice("submissions log unavailable; auditing later", metadata: ["error": "\(error)", "zmq.endpoint": "\(endpoint)"])
          endpointIndex += 1
        } catch {
          if Task.isCancelled { break }
          logger.warning("submissions log audit failed; auditing later", metadata: ["error": "\(error)"])
          endpointIndex += 1
        }
        try await Task.sleep(for: interval)
      }
    }
  }

  /// One audit pass. Throws only when the aggregator could not be asked.
  func audit(_ client: Ndrc_Hitech_V1_SubmissionLog.Client<ZeroMQTransport.Client>) async throws {
    var options = CallOptions.defaults
    options.timeout = .seconds(30)
    let head: Ndrc_Hitech_V1_SignedTreeHead
    do {
      head = try await client.getSignedTreeHead(Ndrc_Hitech_V1_GetSignedTreeHeadRequest(), options: options)
    } catch let error as RPCError where error.code == .notFound {
      return  // nothing logged yet
    }
    let ring = try await keyRing(client, naming: head.signingKeyID, options: options)

    // 1. The head: signed by a known key, and its fields are what was signed.
    let decoded: TreeHead
    switch LogProofCheck.signedHead(head, keys: ring) {
    case .success(let signed): decoded = signed
    case .failure(let problem):
      alarm(problem.description)
      return
    }

    // 2. It extends the head kept from the last audit.
    if let kept = ledger.keptHead {
      let consistent = try await LogProofCheck.extends(decoded, kept) {
        var request = Ndrc_Hitech_V1_GetConsistencyProofRequest()
        request.firstSize = kept.treeSize
        request.secondSize = decoded.treeSize
        return try await client.getConsistencyProof(request, options: options)
      }
      guard consistent else {
        alarm(
          "the log of \(decoded.treeSize) leaves (root \(decoded.rootHash)) does not extend the one of \(kept.treeSize) leaves "
            + "(root \(kept.rootHash)) the centre signed before: its history was rewritten")
        return
      }
    }

    // 3. Every receipt not yet audited, up to the head.
    var passed = true
    for (file, receipt) in receiptsToAudit() where receipt.logIndex >= 0 && UInt64(receipt.logIndex) < decoded.treeSize {
      let check = ReceiptVerification.check(receipt, keys: ring, reportContentSHA256: reportHash(besides: file))
      guard check.isValid, let attestation = check.attestation else {
        alarm("receipt \(file): \(check.problems.joined(separator: "; "))")
        passed = false
        continue
      }
      var request = Ndrc_Hitech_V1_GetInclusionProofRequest()
      request.logIndex = attestation.logIndex
      request.treeSize = decoded.treeSize
      let proof = try await client.getInclusionProof(request, options: options)
      if let problem = LogProofCheck.inclusion(proof, of: attestation, in: decoded) {
        alarm("receipt \(file): \(problem)")
        passed = false
        continue
      }
      ledger.audited(file)
    }
    if passed {
      ledger.keep(decoded)
      logger.debug("submissions log audited", metadata: ["log.size": "\(decoded.treeSize)", "log.root": "\(decoded.rootHash)"])
    }
    try ledger.save()
  }

  /// The keys to check signatures with: the configured ones, or those pinned in the ledger
  /// (fetched and pinned when none is, or when a head names a key not pinned yet).
  private func keyRing(
    _ client: Ndrc_Hitech_V1_SubmissionLog.Client<ZeroMQTransport.Client>, naming keyID: String, options: CallOptions
  ) async throws -> LogKeyRing {
    if !configuredKeys.entries.isEmpty { return configuredKeys }
    if ledger.pinnedKeys.entries.contains(where: { $0.key.keyID == keyID }) { return ledger.pinnedKeys }
    let listed = try await client.listSigningKeys(Ndrc_Hitech_V1_ListSigningKeysRequest(), options: options)
    for key in listed.keys {
      guard let verifying = try? LogVerifyingKey(publicKey: Array(key.publicKey)), verifying.keyID == key.keyID else { continue }
      if ledger.pin(verifying, retired: key.retired) {
        logger.notice("pinned the centre's receipt signing key", metadata: ["log.key_id": "\(verifying.keyID)"])
      }
    }
    try ledger.save()
    return ledger.pinnedKeys
  }

  private func alarm(_ text: String) {
    if ledger.raise(text) {
      logger.error("submissions log audit ALARM: \(text)")
    }
  }

  /// The receipts in sent/ not audited yet, by file name.
  private func receiptsToAudit() -> [(String, Ndrc_Hitech_V1_Receipt)] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: sentDirectory)) ?? []
    return names.sorted().compactMap { name in
      guard name.hasSuffix(OutboxNaming.receiptSuffix), !ledger.isAudited(name),
        let data = FileManager.default.contents(atPath: (sentDirectory as NSString).appendingPathComponent(name)),
        let receipt = try? Ndrc_Hitech_V1_Receipt(jsonUTF8Data: data), !receipt.attestation.isEmpty
      else { return nil }
      return (name, receipt)
    }
  }

  /// The content hash of the message file a receipt file answers, when it is there.
  private func reportHash(besides receiptFile: String) -> [UInt8]? {
    let name = String(receiptFile.dropLast(OutboxNaming.receiptSuffix.count))
    guard let data = FileManager.default.contents(atPath: (sentDirectory as NSString).appendingPathComponent(name)) else {
      return nil
    }
    let submission =
      name.hasSuffix(".pb")
      ? try? Ndrc_Hitech_V1_Submission(serializedBytes: data) : try? Ndrc_Hitech_V1_Submission(jsonUTF8Data: data)
    return try? submission?.computedContentHash()
  }
}

/// What the audit has established, kept in `audit/ledger.json` in the spool (written
/// atomically): the tree head last verified, the receipts proved included, the keys pinned,
/// and every alarm raised.
final class LogAuditLedger: Sendable {
  struct Contents: Codable, Sendable {
    struct KeptHead: Codable, Sendable {
      var treeSize: UInt64
      var rootHash: String
      var timestampSeconds: Int64
      var timestampNanos: Int32
    }
    struct PinnedKey: Codable, Sendable {
      var keyID: String
      var publicKey: String
      var retired: Bool
    }
    struct Alarm: Codable, Sendable, Hashable {
      var at: Date
      var text: String
    }
    var keptHead: KeptHead?
    var audited: [String] = []
    var pinnedKeys: [PinnedKey] = []
    var alarms: [Alarm] = []
  }

  let path: String
  private let contents: Mutex<Contents>

  init(directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    path = (directory as NSString).appendingPathComponent("ledger.json")
    if let data = FileManager.default.contents(atPath: path) {
      let decoder = JSONDecoder()
      decoder.dateDecodingStrategy = .iso8601
      contents = Mutex(try decoder.decode(Contents.self, from: data))
    } else {
      contents = Mutex(Contents())
    }
  }

  var keptHead: TreeHead? {
    contents.withLock { value in
      value.keptHead.flatMap { kept in
        MerkleHash(hex: kept.rootHash).map {
          TreeHead(treeSize: kept.treeSize, rootHash: $0, timestamp: LogTimestamp(seconds: kept.timestampSeconds, nanos: kept.timestampNanos))
        }
      }
    }
  }

  var pinnedKeys: LogKeyRing {
    LogKeyRing(
      contents.withLock { value in
        value.pinnedKeys.compactMap { pinned in
          MerkleHash(hex: pinned.publicKey).flatMap { try? LogVerifyingKey(publicKey: $0.bytes) }
            .map { LogKeyRing.Entry(key: $0, retired: pinned.retired) }
        }
      })
  }

  func isAudited(_ file: String) -> Bool { contents.withLock { $0.audited.contains(file) } }

  func audited(_ file: String) { contents.withLock { $0.audited.append(file) } }

  func keep(_ head: TreeHead) {
    contents.withLock {
      $0.keptHead = .init(
        treeSize: head.treeSize, rootHash: head.rootHash.hex, timestampSeconds: head.timestamp.seconds,
        timestampNanos: head.timestamp.nanos)
    }
  }

  /// Pins a key; false when it was pinned already.
  func pin(_ key: LogVerifyingKey, retired: Bool) -> Bool {
    contents.withLock { value in
      if let index = value.pinnedKeys.firstIndex(where: { $0.keyID == key.keyID }) {
        value.pinnedKeys[index].retired = retired
        return false
      }
      value.pinnedKeys.append(.init(keyID: key.keyID, publicKey: MerkleHash(key.publicKey)!.hex, retired: retired))
      return true
    }
  }

  /// Records an alarm; false when the same alarm is already recorded.
  func raise(_ text: String) -> Bool {
    contents.withLock { value in
      guard !value.alarms.contains(where: { $0.text == text }) else { return false }
      value.alarms.append(.init(at: Date(), text: text))
      return true
    }
  }

  var summary: LogAuditSummary {
    contents.withLock { value in
      LogAuditSummary(
        treeSize: value.keptHead?.treeSize, rootHash: value.keptHead?.rootHash, auditedReceipts: value.audited.count,
        pinnedKeyIDs: value.pinnedKeys.map(\.keyID), alarms: value.alarms.map { "\(ISO8601DateFormatter().string(from: $0.at)) \($0.text)" })
    }
  }

  func save() throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    let data = try contents.withLock { try encoder.encode($0) }
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
  }
}

/// The audit as `hitech node status` shows it.
public struct LogAuditSummary: Codable, Hashable, Sendable {
  /// The size and root of the tree head last verified.
  public var treeSize: UInt64?
  public var rootHash: String?
  /// Receipts proved to be in the log.
  public var auditedReceipts: Int
  public var pinnedKeyIDs: [String]
  /// Every alarm raised, with its time; never cleared by the node itself.
  public var alarms: [String]
}
