import AggregatorStore
import ArgumentParser
import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import SwiftProtobuf
import TransparencyLog
import ZeroMQ
import ZeroMQTransport

/// `hitech receipt`: checking what the centre signed, offline.
struct ReceiptCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "receipt",
    abstract: "Signed receipts (proto-schemas/RECEIPTS.md): verify one offline, manage the signing keys.",
    subcommands: [Verify.self, Prove.self, NewKey.self, Keys.self, RetireKey.self]
  )

  struct Prove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Fetch the proof that a receipt is in the centre's signed submissions log.",
      discussion: """
        Asks the aggregator (as the node does, with the node's CURVE key) for its latest signed
        tree head and the inclusion proof of the receipt's leaf, checks both, and writes them
        beside the receipt as RECEIPT.proof.json (proto3 JSON: `treeHead`, a SignedTreeHead,
        and `inclusionProof`, an InclusionProof). With the receipt, its report file and the
        centre's public key, anyone can then check offline (`hitech receipt verify`, or
        proto-schemas/RECEIPTS.md §5 in any language) that the centre logged exactly this report.
        """
    )
    @Argument(help: "The receipt file (sent/NAME.receipt.json).") var receipt: String
    @Option(help: "The aggregator's endpoint.") var endpoint: String = "tcp://127.0.0.1:7400"
    @Option(help: "The aggregator's CURVE public key file.") var serverKey: String
    @Option(help: "This node's CURVE secret key file (mode 0600).") var secretKey: String
    @Option(name: .customLong("key"), help: "The centre's receipt public key file(s) to check the tree head with.")
    var keys: [String] = []
    @Option(help: "Where to write the bundle (default: RECEIPT.proof.json).") var out: String?

    func run() async throws {
      guard let data = FileManager.default.contents(atPath: receipt) else { throw ValidationError("\(receipt): cannot read the file") }
      let parsed = try Ndrc_Hitech_V1_Receipt(jsonUTF8Data: data)
      guard parsed.logIndex >= 0, !parsed.attestation.isEmpty else {
        throw ValidationError("\(receipt): the receipt names no leaf of the log (a refusal, or from a centre that does not sign)")
      }
      let attestation = try ReceiptAttestation(encoded: Array(parsed.attestation))
      let ring = LogKeyRing(try keys.map { .init(key: try ReceiptSigningKeyFile.readPublicKey($0), retired: false) })
      let transport = ZeroMQTransport.Client(
        endpoint: endpoint,
        security: .curveClient(
          keyPair: try CurveKeyFile.readKeyPair(secretKeyPath: secretKey), serverPublicKey: try CurveKeyFile.readPublicKey(serverKey)))
      var options = CallOptions.defaults
      options.timeout = .seconds(30)
      let bundle = try await withGRPCClient(transport: transport) { grpc in
        let client = Ndrc_Hitech_V1_SubmissionLog.Client(wrapping: grpc)
        let head = try await client.getSignedTreeHead(Ndrc_Hitech_V1_GetSignedTreeHeadRequest(), options: options)
        var request = Ndrc_Hitech_V1_GetInclusionProofRequest()
        request.logIndex = attestation.logIndex
        request.treeSize = head.treeSize
        return ProofBundle(head: head, inclusion: try await client.getInclusionProof(request, options: options))
      }
      if !ring.entries.isEmpty {
        let problems = bundle.check(attestation: attestation, keys: ring)
        guard problems.isEmpty else {
          for problem in problems { print("problem: \(problem)") }
          throw ExitCode(1)
        }
      }
      let path = out ?? receipt + ".proof.json"
      try bundle.write(path)
      print("leaf \(attestation.logIndex) of the signed tree of \(bundle.head.treeSize) leaves: \(path)")
    }
  }

  struct NewKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "new-key",
      abstract: "Make a receipt signing key: FILE (secret, mode 0600) and FILE.pub (public).",
      discussion: """
        The aggregator makes its key on first start when `receiptSigningKeyPath` names no file;
        this makes one ahead (or the next one, for a rotation: point receiptSigningKeyPath at it,
        restart, then retire the old key id with `hitech receipt retire-key`). Publish FILE.pub:
        it is what provinces verify receipts with.
        """
    )
    @Option(help: "The secret key file to write.") var out: String

    func run() async throws {
      let key = try ReceiptSigningKeyFile.generate(at: out)
      print("secret key: \(out) (mode 0600)")
      print("public key: \(out).pub")
      print("key id: \(key.verifyingKey.keyID)")
    }
  }

  struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "keys", abstract: "List the keys the centre has signed receipts and tree heads with.")
    @OptionGroup var store: StoreOptions

    func run() async throws {
      let database = try await store.open()
      let keys = try await database.signingKeys()
      try await database.close()
      for record in keys {
        let retired = record.retiredAtMicros.map { " retired at \(Date(timeIntervalSince1970: Double($0) / 1e6))" } ?? ""
        print("\(record.key.keyID)  \(MerkleHash(record.key.publicKey)!.hex)  first used \(Date(timeIntervalSince1970: Double(record.firstUsedAtMicros) / 1e6))\(retired)")
      }
    }
  }

  struct RetireKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "retire-key",
      abstract: "Mark a receipt signing key retired after a rotation (what it signed still verifies).")
    @Argument(help: "The key id (16 hex digits).") var keyID: String
    @OptionGroup var store: StoreOptions

    func run() async throws {
      let database = try await store.open()
      let found = try await database.retireSigningKey(
        keyID: keyID, atMicros: Int64(Date().timeIntervalSince1970 * 1_000_000))
      try await database.close()
      guard found else {
        FileHandle.standardError.write(Data("hitech receipt retire-key: no key \(keyID) has signed in this store\n".utf8))
        throw ExitCode(1)
      }
      print("retired \(keyID)")
    }
  }

  struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Verify a receipt's signature, its fields, and the report file it answers.",
      discussion: """
        RECEIPT is a receipt as the province node keeps it (sent/NAME.receipt.json, proto3
        JSON) or as binary protobuf (.pb). The centre's public keys come from the `.pub` files
        the centre publishes beside its receipt signing key (--key; --retired-key for keys it
        has rotated away from: what they signed still verifies, and is reported as such).
        The report is the message file the receipt answers: by default the file beside the
        receipt without `.receipt.json`, when there is one. Exit status 0 when everything
        checks out, 1 when anything does not (each problem names the field), 2 when a file
        cannot be read.
        """
    )

    @Argument(help: "The receipt file.") var receipt: String
    @Option(name: .customLong("key"), help: "A current public key file of the centre (64 hex digits); repeatable.")
    var keys: [String] = []
    @Option(name: .customLong("retired-key"), help: "A public key the centre has retired; repeatable.")
    var retiredKeys: [String] = []
    @Option(help: "The report message file the receipt answers (.json or .pb).") var report: String?
    @Option(help: "A proof bundle made by `hitech receipt prove` (default: RECEIPT.proof.json when there is one): also check that the receipt is in the signed log.")
    var proof: String?

    func run() async throws {
      let ring: LogKeyRing
      let parsed: Ndrc_Hitech_V1_Receipt
      var contentHash: [UInt8]?
      var reportPath = report
      do {
        ring = LogKeyRing(
          try keys.map { .init(key: try ReceiptSigningKeyFile.readPublicKey($0), retired: false) }
            + retiredKeys.map { .init(key: try ReceiptSigningKeyFile.readPublicKey($0), retired: true) })
        guard let data = FileManager.default.contents(atPath: receipt) else {
          throw ValidationError("\(receipt): cannot read the file")
        }
        parsed = receipt.hasSuffix(".pb")
          ? try Ndrc_Hitech_V1_Receipt(serializedBytes: data)
          : try Ndrc_Hitech_V1_Receipt(jsonUTF8Data: data)
        if reportPath == nil, receipt.hasSuffix(".receipt.json") {
          let beside = String(receipt.dropLast(".receipt.json".count))
          if FileManager.default.fileExists(atPath: beside) { reportPath = beside }
        }
        if let reportPath {
          guard let bytes = FileManager.default.contents(atPath: reportPath) else {
            throw ValidationError("\(reportPath): cannot read the report file")
          }
          let submission = reportPath.hasSuffix(".pb")
            ? try Ndrc_Hitech_V1_Submission(serializedBytes: bytes)
            : try Ndrc_Hitech_V1_Submission(jsonUTF8Data: bytes)
          contentHash = try submission.computedContentHash()
        }
      } catch {
        FileHandle.standardError.write(Data("hitech receipt verify: \(error)\n".utf8))
        throw ExitCode(2)
      }
      if ring.entries.isEmpty {
        FileHandle.standardError.write(Data("hitech receipt verify: give the centre's public key with --key FILE.pub\n".utf8))
        throw ExitCode(2)
      }
      let result = ReceiptVerification.check(parsed, keys: ring, reportContentSHA256: contentHash)
      if let attestation = result.attestation {
        print("receipt: \(attestation.accessionNumber.isEmpty ? "(no accession number)" : attestation.accessionNumber) "
          + "\(attestation.status) — reporter \(attestation.reporterCode), base \(attestation.baseID), "
          + "year \(attestation.reportYear), revision \(attestation.revision), submission \(attestation.submissionID)")
        print("log index: \(attestation.isLogged ? "\(attestation.logIndex)" : "not logged (a refusal)")")
      }
      switch result.verdict {
      case .valid(let id)?: print("signature: valid, key \(id)")
      case .validByRetiredKey(let id)?: print("signature: valid, by key \(id), which the centre has retired")
      case .unknownKey(let id)?: print("signature: by key \(id), which is none of the keys given")
      case .badSignature(let id)?: print("signature: INVALID for key \(id)")
      case nil: print("signature: none")
      }
      if let reportPath {
        print("report: \(reportPath) \(contentHash.map { MerkleHash($0)!.hex } ?? "")")
      }
      var problems = result.problems
      let bundlePath = proof ?? (FileManager.default.fileExists(atPath: receipt + ".proof.json") ? receipt + ".proof.json" : nil)
      if let bundlePath, let attestation = result.attestation {
        do {
          let bundle = try ProofBundle.read(bundlePath)
          problems += bundle.check(attestation: attestation, keys: ring)
          if problems.isEmpty {
            print("log: leaf \(attestation.logIndex) of the signed tree of \(bundle.head.treeSize) leaves (root \(MerkleHash(bundle.head.rootHash)?.hex ?? "?"))")
          }
        } catch {
          problems.append("proof: \(bundlePath): \(error)")
        }
      }
      for problem in problems { print("problem: \(problem)") }
      guard problems.isEmpty, result.verdict?.isValid == true else { throw ExitCode(1) }
      print("verified")
    }
  }
}

/// A signed tree head and the inclusion proof of one receipt's leaf in it, as a JSON file.
struct ProofBundle {
  var head: Ndrc_Hitech_V1_SignedTreeHead
  var inclusion: Ndrc_Hitech_V1_InclusionProof

  static func read(_ path: String) throws -> ProofBundle {
    guard let data = FileManager.default.contents(atPath: path),
      let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
      let head = object["treeHead"], let inclusion = object["inclusionProof"]
    else { throw ValidationError("not a proof bundle (treeHead, inclusionProof)") }
    return ProofBundle(
      head: try Ndrc_Hitech_V1_SignedTreeHead(jsonUTF8Data: try JSONSerialization.data(withJSONObject: head)),
      inclusion: try Ndrc_Hitech_V1_InclusionProof(jsonUTF8Data: try JSONSerialization.data(withJSONObject: inclusion)))
  }

  func write(_ path: String) throws {
    let text = "{\n  \"treeHead\": \(try head.jsonString()),\n  \"inclusionProof\": \(try inclusion.jsonString())\n}\n"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }

  /// Every way the bundle fails to prove `attestation` in a tree head signed by `keys`.
  func check(attestation: ReceiptAttestation, keys: LogKeyRing) -> [String] {
    switch LogProofCheck.signedHead(head, keys: keys) {
    case .failure(let problem): return ["treeHead: \(problem)"]
    case .success(let signed): return LogProofCheck.inclusion(inclusion, of: attestation, in: signed).map { ["inclusionProof: \($0)"] } ?? []
    }
  }
}
