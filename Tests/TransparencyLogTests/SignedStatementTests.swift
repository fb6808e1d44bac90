import Testing

@testable import TransparencyLog

@Suite struct SignedStatementTests {
  static let attestation = ReceiptAttestation(
    reporterCode: "110000", baseID: "NB-BJ-01", reportYear: 2025, revision: 2,
    submissionID: "bj-2025-01-r2", contentSHA256: MerkleTree.leafHash([7]), status: "ACCEPTED",
    accessionNumber: "HT-2025-00000042", receivedAt: LogTimestamp(seconds: 1_767_225_600, nanos: 123_000_000),
    roundClockAt: LogTimestamp(seconds: 1_764_547_200, nanos: 0), logIndex: 41)

  @Test func anAttestationReadsBackFromItsEncoding() throws {
    let bytes = Self.attestation.encoded
    #expect(try ReceiptAttestation(encoded: bytes) == Self.attestation)
    // Exactly one encoding: truncation, extra bytes and another tag are refused.
    #expect(throws: TransparencyLogError.self) { try ReceiptAttestation(encoded: Array(bytes.dropLast())) }
    #expect(throws: TransparencyLogError.self) { try ReceiptAttestation(encoded: bytes + [0]) }
    var other = bytes
    other[5] ^= 0x20
    #expect(throws: TransparencyLogError.self) { try ReceiptAttestation(encoded: other) }
    let head = TreeHead(treeSize: 42, rootHash: MerkleTree.leafHash([1]), timestamp: LogTimestamp(seconds: 9, nanos: 1))
    #expect(try TreeHead(encoded: head.encoded) == head)
    #expect(throws: TransparencyLogError.self) { try TreeHead(encoded: bytes) }
  }

  @Test func tamperingWithAnyAttestedFieldFailsVerification() throws {
    let key = LogSigningKey()
    let ring = LogKeyRing([.init(key: key.verifyingKey, retired: false)])
    let signed = try key.sign(Self.attestation.encoded)
    #expect(ring.verify(signed) == .valid(keyID: key.verifyingKey.keyID))

    var changes: [(String, (inout ReceiptAttestation) -> Void)] = [
      ("reporterCode", { $0.reporterCode = "120000" }),
      ("baseID", { $0.baseID = "NB-BJ-02" }),
      ("reportYear", { $0.reportYear += 1 }),
      ("revision", { $0.revision += 1 }),
      ("submissionID", { $0.submissionID += "x" }),
      ("contentSHA256", { $0.contentSHA256 = MerkleTree.leafHash([8]) }),
      ("status", { $0.status = "ACCEPTED_LATE" }),
      ("accessionNumber", { $0.accessionNumber = "HT-2025-00000043" }),
      ("receivedAt", { $0.receivedAt.seconds -= 86_400 }),
      ("receivedAt.nanos", { $0.receivedAt.nanos += 1 }),
      ("roundClockAt", { $0.roundClockAt.seconds -= 1 }),
      ("logIndex", { $0.logIndex = 40 }),
    ]
    changes.append(("nothing", { _ in }))
    for (field, change) in changes {
      var changed = Self.attestation
      change(&changed)
      let forged = SignedStatement(encoded: changed.encoded, keyID: signed.keyID, signature: signed.signature)
      if field == "nothing" {
        #expect(ring.verify(forged).isValid)
      } else {
        #expect(ring.verify(forged) == .badSignature(keyID: signed.keyID), "\(field)")
      }
    }
    var flipped = signed
    flipped.signature[10] ^= 1
    #expect(ring.verify(flipped) == .badSignature(keyID: signed.keyID))
  }

  @Test func aRetiredOrUnknownKeyIsReportedAsSuch() throws {
    let old = LogSigningKey()
    let new = LogSigningKey()
    #expect(old.verifyingKey.keyID != new.verifyingKey.keyID)
    #expect(old.verifyingKey.keyID.count == 16)
    let ring = LogKeyRing([.init(key: old.verifyingKey, retired: true), .init(key: new.verifyingKey, retired: false)])
    let byOld = try old.sign(Self.attestation.encoded)
    let byNew = try new.sign(Self.attestation.encoded)
    #expect(ring.verify(byOld) == .validByRetiredKey(keyID: old.verifyingKey.keyID))
    #expect(ring.verify(byNew) == .valid(keyID: new.verifyingKey.keyID))
    let stranger = try LogSigningKey().sign(Self.attestation.encoded)
    #expect(ring.verify(stranger) == .unknownKey(keyID: stranger.keyID))
    // A signature moved under another key's id does not verify.
    let moved = SignedStatement(encoded: byOld.encoded, keyID: new.verifyingKey.keyID, signature: byOld.signature)
    #expect(ring.verify(moved) == .badSignature(keyID: new.verifyingKey.keyID))
    // The seed round-trips.
    #expect(try LogSigningKey(seed: new.seed).verifyingKey == new.verifyingKey)
  }

  @Test func microsecondsSplitAsAProtobufTimestamp() {
    #expect(LogTimestamp(microsecondsSince1970: 1_767_225_600_123_456) == LogTimestamp(seconds: 1_767_225_600, nanos: 123_456_000))
    #expect(LogTimestamp(microsecondsSince1970: 0) == LogTimestamp(seconds: 0, nanos: 0))
    // Before 1970 the nanos stay in 0..<1e9: -1 µs is 1 µs before second 0.
    #expect(LogTimestamp(microsecondsSince1970: -1) == LogTimestamp(seconds: -1, nanos: 999_999_000))
    #expect(LogTimestamp(microsecondsSince1970: -2_000_000) == LogTimestamp(seconds: -2, nanos: 0))
  }
}
