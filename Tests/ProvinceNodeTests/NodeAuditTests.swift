import Foundation
import TestProcesses
import HiTechSchema
import HiTechTestSupport
import ProvinceNode
import Testing
import TransparencyLog

/// Signed receipts and the node's audit of the submissions log, with the real aggregator and
/// node processes (proto-schemas/RECEIPTS.md).
@Suite(.serialized)
struct NodeAuditTests {
  static let reporter = "110000"

  /// Runs `executable ARGUMENTS`; its exit status and output (standard output and error).
  static func run(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = ChildProcess()
    process.executableURL = executable
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readToEndRetryingInterrupts()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  /// Runs `hitech ARGUMENTS`.
  static func hitech(_ arguments: [String]) throws -> (status: Int32, output: String) {
    try run(AggregatorProcess.executable, arguments)
  }

  /// Runs a command found on the PATH (`python3`).
  static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
    try run(URL(fileURLWithPath: "/usr/bin/env"), arguments)
  }

  /// Runs one SQL script with the sqlite3 command-line tool; fails unless it succeeds.
  static func sqlite(_ path: String, _ sql: String) throws -> String {
    let result = try run(URL(fileURLWithPath: "/usr/bin/sqlite3"), [path, sql])
    guard result.status == 0 else { throw TestFailure("sqlite3 \(sql): \(result.output)") }
    return result.output
  }

  static func bytes(hex: Substring) -> [UInt8] {
    var bytes = [UInt8]()
    var index = hex.startIndex
    while index < hex.endIndex {
      let next = hex.index(index, offsetBy: 2)
      bytes.append(UInt8(hex[index..<next], radix: 16)!)
      index = next
    }
    return bytes
  }

  static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined() }

  func waitForAudit(_ node: NodeUnderTest, _ condition: (LogAuditSummary) -> Bool) async throws -> LogAuditSummary {
    for _ in 0..<240 {
      if let audit = try? NodeStatus.read(path: node.statusPath).audit, condition(audit) { return audit }
      try await Task.sleep(for: .milliseconds(500))
    }
    throw TestFailure("the audit did not get there in 120 s: \((try? NodeStatus.read(path: node.statusPath).audit).map { "\($0)" } ?? "no audit"); log:\n\(node.log().suffix(3000))")
  }

  @Test(
    "receipts verify offline; the node proves each in the log; a log rewritten behind the aggregator raises the alarm",
    .timeLimit(.minutes(6)))
  func receiptsAndAudit() async throws {
    let samples = try NodeSamples.beijing(6)
    let aggregator = try AggregatorUnderTest(
      reporters: [Self.reporter], years: NodeSamples.years(samples.count),
      configuration: ["treeHeadIntervalSeconds": 1])
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator, extra: ["auditIntervalSeconds": 5])
    try node.start()
    for sample in samples.prefix(5) { try node.drop(sample.name, sample.submission) }
    try await node.waitUntilDone(5)

    // Offline: the receipt, its report file beside it, the centre's public key.
    let publicKey = aggregator.receiptSigningKeyPath + ".pub"
    let sent = node.files("sent").sorted()
    #expect(sent.count == 5)
    let receiptFile = node.spool + "/sent/" + sent[0] + ".receipt.json"
    let verified = try Self.hitech(["receipt", "verify", receiptFile, "--key", publicKey])
    #expect(verified.status == 0, "\(verified.output)")
    #expect(verified.output.contains("signature: valid"))
    #expect(verified.output.contains("verified"))
    // A receipt with another accession number, or checked against another key, does not verify.
    var receipt = try Ndrc_Hitech_V1_Receipt(jsonString: node.text("sent", sent[0] + ".receipt.json"))
    let forgedFile = node.directory + "/forged.receipt.json"
    receipt.accessionNumber = "HT-2000-99999999"
    try receipt.jsonString().write(toFile: forgedFile, atomically: true, encoding: .utf8)
    let forged = try Self.hitech(["receipt", "verify", forgedFile, "--key", publicKey, "--report", node.spool + "/sent/" + sent[0]])
    #expect(forged.status == 1)
    #expect(forged.output.contains("accession_number"))
    let otherKey = node.directory + "/other.key"
    _ = try Self.hitech(["receipt", "new-key", "--out", otherKey])
    let stranger = try Self.hitech(["receipt", "verify", receiptFile, "--key", otherKey + ".pub"])
    #expect(stranger.status == 1)
    #expect(stranger.output.contains("none of the keys given"))

    // The node proves all five receipts against a signed tree head.
    let audited = try await waitForAudit(node) { $0.auditedReceipts == 5 && $0.treeSize == 5 }
    #expect(audited.alarms.isEmpty)
    #expect(try Self.hitech(["node", "status", "--config", node.configPath]).status == 0)

    // The province fetches the proof of its receipt and anyone checks it offline: with hitech,
    // and with a Python verifier written from RECEIPTS.md alone.
    let proved = try Self.hitech([
      "receipt", "prove", receiptFile, "--endpoint", aggregator.endpoint, "--server-key", aggregator.serverPublicKeyPath,
      "--secret-key", aggregator.secretKeyPath(Self.reporter), "--key", publicKey,
    ])
    #expect(proved.status == 0, "\(proved.output)")
    let withProof = try Self.hitech(["receipt", "verify", receiptFile, "--key", publicKey])
    #expect(withProof.status == 0, "\(withProof.output)")
    #expect(withProof.output.contains("log: leaf"))
    let script = AggregatorProcess.repositoryRoot.appendingPathComponent("Tests/InteropTests/python/verify_receipt.py").path
    let python = try Self.run(["python3", script, "--receipt", receiptFile, "--key", publicKey, "--proof", receiptFile + ".proof.json"])
    #expect(python.status == 0, "verify_receipt.py: \(python.output)")
    #expect(python.output.contains("\"problems\": []"))
    let pythonForged = try Self.run(["python3", script, "--receipt", forgedFile, "--key", publicKey, "--proof", receiptFile + ".proof.json"])
    #expect(pythonForged.status == 1, "verify_receipt.py on a forged receipt: \(pythonForged.output)")
    #expect(pythonForged.output.contains("accession_number"))

    // Whoever holds the store file rewrites leaf 2 (another content hash) and the tree above
    // it, consistently, with the aggregator stopped.
    #expect(aggregator.terminate() == 0)
    let database = aggregator.databasePath
    let rows = try Self.sqlite(database, "SELECT hex(attestation) FROM log_entries ORDER BY log_index")
      .split(separator: "\n").map { Self.bytes(hex: $0) }
    #expect(rows.count == 5)
    var attestation = try ReceiptAttestation(encoded: rows[2])
    attestation.contentSHA256 = MerkleTree.leafHash(Array("another report".utf8))
    var tree = MemoryMerkleTree()
    for (index, row) in rows.enumerated() { tree.append(leaf: index == 2 ? attestation.encoded : row) }
    var sql = "DROP TRIGGER log_subtrees_no_update; DROP TRIGGER log_entries_no_update;"
    sql += "UPDATE log_entries SET attestation = X'\(Self.hex(attestation.encoded))', leaf_hash = X'\(Self.hex(attestation.leafHash.bytes))' WHERE log_index = 2;"
    for line in try Self.sqlite(database, "SELECT level, idx FROM log_subtrees").split(separator: "\n") {
      let parts = line.split(separator: "|")
      let subtree = PerfectSubtree(level: Int(parts[0])!, index: UInt64(parts[1])!)
      sql += "UPDATE log_subtrees SET hash = X'\(Self.hex(try tree.hash(of: subtree).bytes))' WHERE level = \(subtree.level) AND idx = \(subtree.index);"
    }
    _ = try Self.sqlite(database, sql)

    // The aggregator comes back and signs heads of the rewritten log as the log grows.
    try await aggregator.start(answeringAs: Self.reporter)
    try node.drop(samples[5].name, samples[5].submission)
    try await node.waitUntilDone(6)
    let alarmed = try await waitForAudit(node) { !$0.alarms.isEmpty }
    #expect(alarmed.treeSize == 5, "the node keeps the last head that verified")
    #expect(alarmed.alarms.contains { $0.contains("does not extend") })
    let status = try Self.hitech(["node", "status", "--config", node.configPath])
    #expect(status.status == 3)
    #expect(status.output.contains("AUDIT ALARM"))
    #expect(node.log().contains("ALARM"))
    #expect(node.terminate() == 0)
    aggregator.terminate()
  }
}
