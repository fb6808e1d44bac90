import Foundation
import HiTechSchema
import ProvinceNode
import Testing

/// Each test leaves the folders and the journal as a `kill -9` at one step would, then opens a
/// new Spool on the directory (a restart) and checks that every file is in exactly one place.
@Suite("Outbox spool: recovery after a crash")
struct RecoveryTests {
  @Test("the submission id is assigned once and stays the same across restarts")
  func idStableAcrossRestarts() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try fixture.drop("a.json")
    let id = try #require(try fixture.open().claimPending().claimed.first?.id)
    for _ in 0..<3 {
      let spool = try fixture.open()
      #expect(try spool.claimPending() == ClaimSummary())
      let message = try #require(try spool.next())
      #expect(message.id == id)
      #expect(message.submission.submissionID == id)
    }
    #expect(fixture.journalLines().filter { $0.contains(#""op":"claim""#) }.count == 1)
  }

  @Test("the message handed out is byte for byte the same after a restart")
  func sameBytesAfterRestart() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try fixture.drop("a.json")
    let first = try fixture.open()
    try first.claimPending()
    let before = try #require(try first.next())
    let after = try #require(try fixture.open().next())
    #expect(before.bytes == after.bytes)
  }

  @Test("killed after the rename into claimed/, before the journal append: the file gets its entry, in order")
  func claimedWithoutJournal() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    do {
      let spool = try fixture.open()
      try fixture.drop("a.json")
      try spool.claimPending()
    }
    try fixture.drop("b.json")
    try FileManager.default.moveItem(atPath: fixture.outbox + "/b.json", toPath: fixture.directory + "/claimed/0000000007_b.json")
    let spool = try fixture.open()
    let first = try #require(try spool.next())
    let second = try #require(try spool.next())
    #expect(first.fileName == "0000000001_a.json")
    #expect(second.fileName == "0000000007_b.json")
    #expect(second.sequence == 7)
    try fixture.drop("c.json")
    #expect(try spool.claimPending().claimed.count == 1)
    #expect(fixture.names("claimed").contains("0000000008_c.json"))
    // And the id given in recovery is durable.
    #expect(try fixture.open().next().map { [$0.id] } == [first.id])
  }

  @Test("a garbage file found in claimed/ without an entry is quarantined at recovery")
  func garbageInClaimed() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    _ = try fixture.open()
    try Data("garbage".utf8).write(to: URL(fileURLWithPath: fixture.directory + "/claimed/0000000003_g.json"))
    let spool = try fixture.open()
    #expect(try spool.next() == nil)
    #expect(fixture.names("quarantine") == ["0000000003_g.json", "0000000003_g.json.reason.txt"])
    #expect(fixture.names("claimed").isEmpty)
  }

  @Test("a journal entry whose file is still in outbox/: the claim is completed with the same id")
  func journalButStillInOutbox() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try fixture.drop("a.json")
    let id = try #require(try fixture.open().claimPending().claimed.first?.id)
    try FileManager.default.moveItem(atPath: fixture.directory + "/claimed/0000000001_a.json", toPath: fixture.outbox + "/a.json")
    let spool = try fixture.open()
    #expect(fixture.names("outbox").isEmpty)
    #expect(fixture.names("claimed") == ["0000000001_a.json"])
    #expect(try spool.next()?.id == id)
  }

  @Test("killed after the rename into sent/, before the closing record: the entry is closed, never sent again")
  func sentWithoutJournal() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try fixture.drop("a.json")
    let spool = try fixture.open()
    try spool.claimPending()
    _ = try #require(try spool.next())
    // The receipt is written before the rename (as markSent does), then the process dies.
    try Data(#"{"accessionNumber":"HT-2025-00000009"}"#.utf8)
      .write(to: URL(fileURLWithPath: fixture.directory + "/sent/0000000001_a.json.receipt.json"))
    try FileManager.default.moveItem(atPath: fixture.directory + "/claimed/0000000001_a.json", toPath: fixture.directory + "/sent/0000000001_a.json")
    let again = try fixture.open()
    #expect(try again.next() == nil)
    let status = try again.status()
    #expect(status.sent == 1 && status.claimed == 0)
    #expect(status.lastReceipt?.contains("HT-2025-00000009") == true)
  }

  @Test("killed after writing the receipt, before the rename: the message is offered again with the same id")
  func receiptWithoutRename() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try fixture.drop("a.json")
    let spool = try fixture.open()
    try spool.claimPending()
    let message = try #require(try spool.next())
    try Data("{}".utf8).write(to: URL(fileURLWithPath: fixture.directory + "/sent/0000000001_a.json.receipt.json"))
    let again = try fixture.open()
    #expect(try again.next()?.id == message.id)
    try again.markSent(id: message.id, receiptJSON: #"{"ok":true}"#)
    #expect(fixture.names("sent") == ["0000000001_a.json", "0000000001_a.json.receipt.json"])
    #expect(fixture.text("sent", "0000000001_a.json.receipt.json") == #"{"ok":true}"#)
  }

  @Test("killed after the rename into rejected/, before the closing record: closed as rejected")
  func rejectedWithoutJournal() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try fixture.drop("a.json")
    try fixture.open().claimPending()
    try FileManager.default.moveItem(atPath: fixture.directory + "/claimed/0000000001_a.json", toPath: fixture.directory + "/rejected/0000000001_a.json")
    let again = try fixture.open()
    #expect(try again.next() == nil)
    #expect(try again.status().rejected == 1)
  }

  @Test("a torn last journal line (killed inside a write) is cut off; earlier records are kept")
  func tornJournal() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try fixture.drop("a.json")
    let id = try #require(try fixture.open().claimPending().claimed.first?.id)
    let handle = try #require(FileHandle(forWritingAtPath: fixture.directory + "/spool.journal"))
    handle.seekToEndOfFile()
    handle.write(Data(#"{"op":"sent","id":"#.utf8))
    handle.closeFile()
    let spool = try fixture.open()
    #expect(try spool.next()?.id == id)
    #expect(fixture.journalLines().allSatisfy { $0.hasSuffix("}") })
  }

  @Test("a claimed file removed by hand is closed as lost and shown as the last error")
  func vanished() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try fixture.drop("a.json")
    try fixture.open().claimPending()
    try FileManager.default.removeItem(atPath: fixture.directory + "/claimed/0000000001_a.json")
    let spool = try fixture.open()
    #expect(try spool.next() == nil)
    #expect(try spool.status().lastError?.contains("vanished") == true)
  }

  @Test("a claimed file removed by hand while the node runs is closed as lost; the next one is handed out")
  func vanishedWhileRunning() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    for name in ["a.json", "b.json"] { try fixture.drop(name) }
    try spool.claim(names: ["a.json", "b.json"])
    try FileManager.default.removeItem(atPath: fixture.directory + "/claimed/0000000001_a.json")
    #expect(try spool.next()?.fileName == "0000000002_b.json")
    #expect(try spool.status().lastError?.contains("vanished") == true)
  }

  @Test("sequence numbers are never reused, even when sent/ is emptied by an operator")
  func sequenceNeverReused() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    try fixture.drop("a.json")
    try spool.claimPending()
    let message = try #require(try spool.next())
    try spool.markSent(id: message.id, receiptJSON: "{}")
    for name in fixture.names("sent") { try FileManager.default.removeItem(atPath: fixture.directory + "/sent/" + name) }
    let again = try fixture.open()
    try fixture.drop("a.json")
    try again.claimPending()
    #expect(fixture.names("claimed") == ["0000000002_a.json"])
  }
}

@Suite("Outbox spool: what recovery refuses to guess")
struct RecoveryRefusalTests {
  @Test("a damaged journal line in the middle stops the spool with an error naming the line")
  func damagedJournal() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try fixture.drop("a.json")
    try fixture.drop("b.json")
    try fixture.open().claim(names: ["a.json"])
    let path = fixture.directory + "/spool.journal"
    var text = try String(contentsOfFile: path, encoding: .utf8)
    text = "not json\n" + text
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    #expect {
      try fixture.open()
    } throws: { error in
      (error as? SpoolError)?.code == .journalDamaged && "\(error)".contains("spool.journal:1")
    }
  }

  @Test("a claimed file edited by hand after its claim is quarantined, not sent")
  func editedAfterClaim() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try fixture.drop("a.json")
    let spool = try fixture.open()
    try spool.claimPending()
    let edited = Data(try SpoolFixture.submission(valueAdded: 1).jsonUTF8Data())
    try edited.write(to: URL(fileURLWithPath: fixture.directory + "/claimed/0000000001_a.json"))
    #expect(try spool.next() == nil)
    #expect(fixture.names("quarantine") == ["0000000001_a.json", "0000000001_a.json.reason.txt"])
  }
}
