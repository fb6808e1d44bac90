import Foundation
import HiTechSchema
import ProvinceNode
import SwiftProtobuf
import Testing

@Suite("Outbox spool: claim, send, reject, quarantine")
struct SpoolTests {
  @Test("a dropped file is claimed with a new id, handed out, and moved to sent/ with its receipt")
  func dropClaimSend() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    try fixture.drop("beijing.json")

    let summary = try spool.claimPending()
    #expect(summary.claimed.map(\.name) == ["beijing.json"])
    let id = try #require(summary.claimed.first?.id)
    #expect(UUID(uuidString: id) != nil && id == id.lowercased())
    #expect(fixture.names("outbox").isEmpty)
    #expect(fixture.names("claimed") == ["0000000001_beijing.json"])

    let message = try #require(try spool.next())
    #expect(message.id == id)
    #expect(message.sequence == 1)
    #expect(message.submission.submissionID == id)
    #expect(message.submission.contentSha256.count == 32)
    #expect(message.submission.hasCreatedAt)
    #expect(try Ndrc_Hitech_V1_Submission(serializedBytes: message.bytes) == message.submission)
    #expect(try spool.next() == nil)  // in flight, not handed out twice
    #expect(try spool.status().inFlight == 1)
    #expect(try spool.status().queued == 0)

    try spool.markSent(id: id, receiptJSON: #"{"accessionNumber":"HT-2025-00000001"}"#)
    #expect(fixture.names("claimed").isEmpty)
    #expect(fixture.names("sent") == ["0000000001_beijing.json", "0000000001_beijing.json.receipt.json"])
    #expect(fixture.text("sent", "0000000001_beijing.json.receipt.json").contains("HT-2025-00000001"))
    let status = try spool.status()
    #expect(status.sent == 1 && status.claimed == 0 && status.inFlight == 0)
    #expect(status.lastReceipt?.contains("HT-2025-00000001") == true)

    // After a restart nothing is left to send, and the status survives.
    let again = try fixture.open()
    #expect(try again.next() == nil)
    #expect(try again.status().sent == 1)
    #expect(try again.status().lastReceipt?.contains("HT-2025-00000001") == true)
  }

  @Test("a binary .pb file keeps the submission id it carries")
  func binaryKeepsID() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    try fixture.drop("shenzhen.pb", SpoolFixture.submission(id: "sz-2025-001", base: "SZ-01"))
    let summary = try spool.claimPending()
    #expect(summary.claimed.map(\.id) == ["sz-2025-001"])
    let message = try #require(try spool.next())
    #expect(message.id == "sz-2025-001")
    #expect(message.submission.baseID == "SZ-01")
  }

  @Test("a .tmp file and a dot-file are ignored until renamed to their final name")
  func temporaryIgnored() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    let bytes = Array(try SpoolFixture.submission().jsonUTF8Data())
    try Data(bytes).write(to: URL(fileURLWithPath: fixture.outbox + "/a.json.tmp"))
    try Data(bytes).write(to: URL(fileURLWithPath: fixture.outbox + "/a.json.part"))
    try Data(bytes).write(to: URL(fileURLWithPath: fixture.outbox + "/.a.json"))
    #expect(try spool.claimPending() == ClaimSummary())
    #expect(try spool.claim(names: ["a.json.tmp", ".a.json"]) == ClaimSummary())
    #expect(fixture.names("outbox").count == 3)
    #expect(try spool.status().outbox == 0)

    try FileManager.default.moveItem(atPath: fixture.outbox + "/a.json.tmp", toPath: fixture.outbox + "/a.json")
    #expect(try spool.claimPending().claimed.map(\.name) == ["a.json"])
    #expect(fixture.names("outbox") == [".a.json", "a.json.part"])
  }

  @Test("garbage, truncated and empty files are quarantined with a reason; the next file is still claimed")
  func quarantine() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    let good: [UInt8] = try SpoolFixture.submission().serializedBytes()
    let json = Array(try SpoolFixture.submission().jsonUTF8Data())
    try fixture.drop("1-garbage.json", bytes: Array("this is not a report\n".utf8))
    try fixture.drop("2-truncated.pb", bytes: Array(good.prefix(good.count / 2)))
    try fixture.drop("3-truncated.json", bytes: Array(json.prefix(json.count / 2)))
    try fixture.drop("4-empty.json", bytes: [])
    try fixture.drop("5-random.pb", bytes: (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
    try fixture.drop("6-json-named-pb.pb", bytes: json)
    try fixture.drop("7-good.json")
    let summary = try spool.claim(names: fixture.names("outbox"))
    #expect(summary.quarantined == ["1-garbage.json", "2-truncated.pb", "3-truncated.json", "4-empty.json", "5-random.pb", "6-json-named-pb.pb"])
    #expect(summary.claimed.map(\.name) == ["7-good.json"])
    #expect(try spool.next()?.fileName == "0000000007_7-good.json")
    let quarantined = fixture.names("quarantine")
    #expect(quarantined.count == 12)
    for name in quarantined where !name.hasSuffix(".reason.txt") {
      let reason = fixture.text("quarantine", name + ".reason.txt")
      #expect(!reason.isEmpty, "no reason beside \(name)")
    }
    #expect(fixture.text("quarantine", "0000000004_4-empty.json.reason.txt").contains("empty"))
    #expect(try spool.status().quarantined == 6)
  }

  @Test("a report that fails the shared rule set goes to rejected/ with every finding, and is never handed out")
  func rejectedLocally() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    var bad = SpoolFixture.submission(valueAdded: 2_000_000)  // more than total output
    bad.report.clearPatentsGranted()
    try fixture.drop("bad.json", bad)
    let summary = try spool.claimPending()
    #expect(summary.rejected == ["bad.json"])
    #expect(try spool.next() == nil)
    let report = fixture.text("rejected", "0000000001_bad.json.rejected.txt")
    #expect(report.contains("report.value_added"))
    #expect(report.contains("report.patents_granted"))
    #expect(report.contains("R-"))
    #expect(fixture.names("rejected") == ["0000000001_bad.json", "0000000001_bad.json.rejected.txt"])
  }

  @Test("a wrong schema version or a damaged content hash is refused locally")
  func envelopeChecks() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    var noVersion = SpoolFixture.submission()
    noVersion.schemaVersion = .unspecified
    var badHash = SpoolFixture.submission()
    badHash.contentSha256 = Data(repeating: 7, count: 32)
    try fixture.drop("a.json", noVersion)
    try fixture.drop("b.json", badHash)
    let summary = try spool.claim(names: ["a.json", "b.json"])
    #expect(summary.rejected == ["a.json", "b.json"])
    #expect(fixture.text("rejected", "0000000001_a.json.rejected.txt").contains("R-SCHEMA-VERSION"))
    #expect(fixture.text("rejected", "0000000002_b.json.rejected.txt").contains("R-CONTENT-HASH-MISMATCH"))
  }

  @Test("a second file with the submission id of a message still waiting is rejected")
  func duplicateIDRejected() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    try fixture.drop("a.json", SpoolFixture.submission(id: "same"))
    try fixture.drop("b.json", SpoolFixture.submission(id: "same", valueAdded: 1))
    let summary = try spool.claim(names: ["a.json", "b.json"])
    #expect(summary.claimed.map(\.name) == ["a.json"])
    #expect(summary.rejected == ["b.json"])
  }

  @Test("markSent of several ids checks them all before moving any")
  func markSentBatch() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    for name in ["a.json", "b.json"] { try fixture.drop(name) }
    try spool.claim(names: ["a.json", "b.json"])
    let a = try #require(try spool.next())
    let b = try #require(try spool.next())
    #expect(throws: SpoolError.self) { try spool.markSent([(a.id, "{}"), ("no-such-id", "{}")]) }
    #expect(throws: SpoolError.self) { try spool.markSent([(a.id, "{}"), (a.id, "{}")]) }
    #expect(fixture.names("sent").isEmpty)
    try spool.markSent([(a.id, #"{"n":1}"#), (b.id, #"{"n":2}"#)])
    #expect(fixture.names("sent").count == 4)
    #expect(try spool.status().lastReceipt == #"{"n":2}"#)
    #expect(try fixture.open().next() == nil)
  }

  @Test("the aggregator's refusal moves the file to rejected/ with the status and message")
  func markRejected() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    try fixture.drop("other.json")
    try spool.claimPending()
    let message = try #require(try spool.next())
    try spool.markRejected(id: message.id, reason: "permissionDenied: R-BASE-NOT-OWNED base_id: not yours")
    #expect(fixture.text("rejected", "0000000001_other.json.rejected.txt").contains("permissionDenied: R-BASE-NOT-OWNED"))
    #expect(try spool.status().rejected == 1)
    #expect(try spool.status().lastError?.contains("permissionDenied") == true)
    #expect(try fixture.open().next() == nil)
    #expect(throws: SpoolError.self) { try spool.markSent(id: message.id, receiptJSON: "{}") }
  }

  @Test("messages are handed out in arrival order; a failed attempt puts the message back first, durably counted")
  func arrivalOrder() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    let names = ["e.json", "a.json", "d.json", "b.json", "c.json"]
    for name in names { try fixture.drop(name) }
    let ids = try spool.claim(names: names).claimed.map(\.id)
    #expect(ids.count == 5)

    let first = try #require(try spool.next())
    #expect(first.id == ids[0])
    #expect(try spool.next()?.id == ids[1])
    try spool.recordAttempt(id: first.id, error: "unavailable: aggregator down")
    let retried = try #require(try spool.next())
    #expect(retried.id == ids[0])
    #expect(retried.attempts == 1)
    #expect(retried.lastError == "unavailable: aggregator down")

    // After a restart: same ids, same order, attempts kept.
    let again = try fixture.open()
    var order: [String] = []
    while let message = try again.next() {
      order.append(message.id)
      if message.id == ids[0] { #expect(message.attempts == 1) }
    }
    #expect(order == ids)
    #expect(try again.status().lastError == "unavailable: aggregator down")
  }

  @Test("files dropped while the node was down are claimed oldest first")
  func scanOrderByModificationTime() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    for (index, name) in ["z.json", "y.json", "x.json"].enumerated() {
      try fixture.drop(name)
      let date = Date(timeIntervalSince1970: 1_700_000_000 + Double(index))
      try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: fixture.outbox + "/" + name)
    }
    let spool = try fixture.open()
    #expect(try spool.claimPending().claimed.map(\.name) == ["z.json", "y.json", "x.json"])
  }

  @Test("10,000 files are claimed and drained (time printed, not asserted)")
  func tenThousand() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    let bytes = Array(try SpoolFixture.submission().jsonUTF8Data())
    for index in 0..<10_000 {
      try Data(bytes).write(to: URL(fileURLWithPath: fixture.outbox + "/r\(index).json"))
    }
    let clock = ContinuousClock()
    let start = clock.now
    let summary = try spool.claimPending()
    let claimed = clock.now - start
    #expect(summary.claimed.count == 10_000)
    #expect(Set(summary.claimed.map(\.id)).count == 10_000)
    let restartStart = clock.now
    let again = try fixture.open()
    let restart = clock.now - restartStart
    let drainStart = clock.now
    var count = 0
    var window: [(id: String, receiptJSON: String)] = []
    while let message = try again.next() {
      window.append((message.id, "{}"))
      if window.count == 32 {
        try again.markSent(window)
        count += window.count
        window.removeAll()
      }
    }
    try again.markSent(window)
    count += window.count
    let drained = clock.now - drainStart
    #expect(count == 10_000)
    #expect(try again.status().sent == 10_000)
    #expect(fixture.names("claimed").isEmpty)
    print("ProvinceNode spool: claimed 10,000 files in \(claimed), reopened with 10,000 open in \(restart), marked all sent (32 at a time) in \(drained)")
  }
}
