import ArgumentParser
import Assessment
import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import SwiftProtobuf
import TransparencyLog
import ZeroMQTransport

/// `hitech results`: checking published results against the submissions log.
struct ResultsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "results",
    abstract: "Published results (proto-schemas/ASSESSMENT.md): check what they were computed from.",
    subcommands: [Verify.self]
  )

  struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check that published results name a signed tree head of the submissions log covering every ranked report.",
      discussion: """
        RESULTS is results-YYYY.json as the coordinator publishes it. Checked offline: the tree
        head it names is signed by one of the centre's keys (--key, --retired-key: the `.pub`
        files published beside the receipt signing key) and says what was signed; every base
        assessed as reported names its leaf (log index and leaf hash) below that head, no two
        the same. With --receipt (a province's sent/NAME.receipt.json, repeatable): the receipt
        verifies, and the results assessed exactly that revision of its base (same accession
        number, same leaf) — a later revision the results ignored, or an earlier one, is a
        problem. With --endpoint, --server-key and --secret-key (a node's key): the aggregator's
        latest signed head is fetched and the results' head is proved a prefix of it (a
        consistency proof), so the results' log is the one every node audits.
        Exit status 0 when everything checks out, 1 when anything does not, 2 when a file cannot
        be read or the aggregator cannot be asked.
        """
    )

    @Argument(help: "The results file (results-YYYY.json).") var results: String
    @Option(name: .customLong("key"), help: "A current public key file of the centre (64 hex digits); repeatable.")
    var keys: [String] = []
    @Option(name: .customLong("retired-key"), help: "A public key the centre has retired; repeatable.")
    var retiredKeys: [String] = []
    @Option(name: .customLong("receipt"), help: "A receipt of a report to find in the results; repeatable.")
    var receipts: [String] = []
    @Option(help: "The aggregator's endpoint, to prove the results' head a prefix of its log.") var endpoint: String?
    @Option(help: "The aggregator's CURVE public key file (with --endpoint).") var serverKey: String?
    @Option(help: "A node's CURVE secret key file, mode 0600 (with --endpoint).") var secretKey: String?

    func run() async throws {
      let assessment: RoundAssessment
      let ring: LogKeyRing
      var parsedReceipts: [(String, Ndrc_Hitech_V1_Receipt)] = []
      do {
        guard let data = FileManager.default.contents(atPath: results) else { throw ValidationError("\(results): cannot read the file") }
        assessment = try ResultsPublication.decode(json: Array(data))
        ring = LogKeyRing(
          try keys.map { .init(key: try ReceiptSigningKeyFile.readPublicKey($0), retired: false) }
            + retiredKeys.map { .init(key: try ReceiptSigningKeyFile.readPublicKey($0), retired: true) })
        for path in receipts {
          guard let bytes = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot read the file") }
          parsedReceipts.append((path, try Ndrc_Hitech_V1_Receipt(jsonUTF8Data: bytes)))
        }
      } catch {
        FileHandle.standardError.write(Data("hitech results verify: \(error)\n".utf8))
        throw ExitCode(2)
      }
      guard !ring.entries.isEmpty else {
        FileHandle.standardError.write(Data("hitech results verify: give the centre's public key with --key FILE.pub\n".utf8))
        throw ExitCode(2)
      }

      var problems = ResultsLogCheck.check(assessment, keys: ring)
      let head = assessment.submissionsLog.flatMap { try? ResultsLogCheck.signedTreeHead($0) }
      if let published = assessment.submissionsLog {
        print("results \(assessment.reportYear): \(assessment.bases.filter(\.reported).count) reported bases, "
          + "submissions log tree size \(published.treeSize), root \(published.rootHash), key \(published.signingKeyId), signed \(published.signedAt)")
      }
      for (path, receipt) in parsedReceipts {
        problems += ResultsLogCheck.check(receipt: receipt, named: path, in: assessment, keys: ring)
      }
      if let endpoint, let head, problems.isEmpty {
        guard let serverKey, let secretKey else {
          FileHandle.standardError.write(Data("hitech results verify: --endpoint needs --server-key and --secret-key\n".utf8))
          throw ExitCode(2)
        }
        do {
          let transport = ZeroMQTransport.Client(
            endpoint: endpoint,
            security: .curveClient(
              keyPair: try CurveKeyFile.readKeyPair(secretKeyPath: secretKey), serverPublicKey: try CurveKeyFile.readPublicKey(serverKey)))
          let extends = try await withGRPCClient(transport: transport) { grpc in
            try await ResultsLogCheck.proveExtended(head, by: Ndrc_Hitech_V1_SubmissionLog.Client(wrapping: grpc), keys: ring)
          }
          if let problem = extends.problem { problems.append(problem) } else { print("log: \(extends.summary)") }
        } catch {
          FileHandle.standardError.write(Data("hitech results verify: asking \(endpoint): \(error)\n".utf8))
          throw ExitCode(2)
        }
      }
      for problem in problems { print("problem: \(problem)") }
      guard problems.isEmpty else { throw ExitCode(1) }
      print("verified")
    }
  }
}

/// The checks of `hitech results verify`, apart from the command line.
enum ResultsLogCheck {
  /// The published head as the protobuf message the log serves.
  static func signedTreeHead(_ published: SubmissionsLogHead) throws -> Ndrc_Hitech_V1_SignedTreeHead {
    guard let encoded = Data(base64Encoded: published.encoded), let signature = Data(base64Encoded: published.signature),
      let root = MerkleHash(hex: published.rootHash)
    else { throw ValidationError("submissionsLog: encoded, signature or rootHash is not well-formed") }
    let signed = try TreeHead(encoded: Array(encoded))
    var head = Ndrc_Hitech_V1_SignedTreeHead()
    head.treeSize = published.treeSize
    head.rootHash = Data(root.bytes)
    head.timestamp = Google_Protobuf_Timestamp(seconds: signed.timestamp.seconds, nanos: signed.timestamp.nanos)
    head.encoded = encoded
    head.signature = signature
    head.signingKeyID = published.signingKeyId
    return head
  }

  /// Every problem of the results' head and leaves.
  static func check(_ assessment: RoundAssessment, keys: LogKeyRing) -> [String] {
    let reported = assessment.bases.filter(\.reported)
    guard let published = assessment.submissionsLog else {
      return reported.isEmpty ? [] : ["submissionsLog: the results name no tree head of the submissions log"]
    }
    var problems: [String] = []
    let head: TreeHead
    do {
      switch LogProofCheck.signedHead(try signedTreeHead(published), keys: keys) {
      case .success(let signed): head = signed
      case .failure(let problem): return ["submissionsLog: \(problem)"]
      }
    } catch {
      return ["\(error)"]
    }
    var seen: [Int64: String] = [:]
    for base in reported {
      guard let leaf = base.logLeaf else {
        problems.append("base \(base.baseId): ranked, but names no leaf of the submissions log")
        continue
      }
      if leaf.index < 0 || UInt64(leaf.index) >= head.treeSize {
        problems.append("base \(base.baseId): log index \(leaf.index) is not below the tree size \(head.treeSize)")
      }
      if MerkleHash(hex: leaf.leafHash) == nil { problems.append("base \(base.baseId): leaf hash \(leaf.leafHash) is not 64 hex digits") }
      if let other = seen.updateValue(base.baseId, forKey: leaf.index) {
        problems.append("bases \(other) and \(base.baseId): both name log index \(leaf.index)")
      }
    }
    return problems
  }

  /// Every problem with `receipt` (a province's) in `assessment`.
  static func check(receipt: Ndrc_Hitech_V1_Receipt, named path: String, in assessment: RoundAssessment, keys: LogKeyRing) -> [String] {
    let verification = ReceiptVerification.check(receipt, keys: keys)
    guard verification.isValid, let attestation = verification.attestation else {
      return verification.problems.map { "\(path): \($0)" } + (verification.verdict == nil ? [] : ["\(path): the receipt does not verify"])
    }
    guard attestation.reportYear == assessment.reportYear else {
      return ["\(path): a receipt for \(attestation.reportYear), the results are for \(assessment.reportYear)"]
    }
    guard let base = assessment.bases.first(where: { $0.baseId == attestation.baseID }) else {
      return ["\(path): base \(attestation.baseID) is not in the results"]
    }
    guard base.reported, let leaf = base.logLeaf else {
      return ["\(path): base \(attestation.baseID) is listed as not reported, but this receipt is leaf \(attestation.logIndex) of the log"]
    }
    guard leaf.index == attestation.logIndex, leaf.leafHash == attestation.leafHash.hex else {
      return [
        "\(path): the results assessed base \(attestation.baseID) from leaf \(leaf.index) (\(base.accessionNumber), revision \(base.revision)), "
          + "not this receipt's revision \(attestation.revision) (leaf \(attestation.logIndex), \(attestation.accessionNumber))"
      ]
    }
    print("\(path): base \(attestation.baseID) assessed from this receipt's revision \(attestation.revision) (leaf \(leaf.index))")
    return []
  }

  /// Proves the results' head a prefix of the aggregator's latest signed head.
  static func proveExtended(
    _ published: Ndrc_Hitech_V1_SignedTreeHead, by client: Ndrc_Hitech_V1_SubmissionLog.Client<ZeroMQTransport.Client>, keys: LogKeyRing
  ) async throws -> (summary: String, problem: String?) {
    var options = CallOptions.defaults
    options.timeout = .seconds(30)
    let latestMessage = try await client.getSignedTreeHead(Ndrc_Hitech_V1_GetSignedTreeHeadRequest(), options: options)
    let latest: TreeHead
    switch LogProofCheck.signedHead(latestMessage, keys: keys) {
    case .success(let signed): latest = signed
    case .failure(let problem): return ("", "the aggregator's latest head: \(problem)")
    }
    guard let old = LogProofCheck.signedFields(published) else { return ("", "submissionsLog: its fields are not what was signed") }
    let consistent = try await LogProofCheck.extends(latest, old) {
      var request = Ndrc_Hitech_V1_GetConsistencyProofRequest()
      request.firstSize = old.treeSize
      request.secondSize = latest.treeSize
      return try await client.getConsistencyProof(request, options: options)
    }
    guard consistent else {
      return ("", "the log the aggregator serves now (\(latest.treeSize) leaves) does not extend the results' head (\(old.treeSize) leaves): its history was rewritten")
    }
    return ("the results' head (\(old.treeSize) leaves) is a prefix of the aggregator's latest signed head (\(latest.treeSize) leaves)", nil)
  }
}
