import Foundation
import HiTechSchema
import Testing

@testable import ProvinceNode

/// A crash simulated before every durable step (rename, fsync, atomic write, journal append) of
/// a whole run — claim, send, retry, refuse — then a restart (which may crash too), a second
/// run and a final restart that drains everything. After it, each dropped file is in exactly
/// one final place, no file was sent twice, and a message handed out before a crash was sent
/// under the id it was first handed out with.
@Suite("Outbox spool: a crash before every durable step")
struct CrashPointTests {
  static let good = ["a.json", "b.pb", "c.json"]
  static let refusedByAggregator = "c.json"

  /// One run of the sender over the spool; returns early when the simulated crash fires.
  /// Records in `handedOut` the id each file was handed out with.
  static func run(_ spool: Spool, handedOut: inout [String: String]) throws {
    try spool.claimPending()
    while let message = try spool.next() {
      let original = String(message.fileName.dropFirst(11))
      if let earlier = handedOut[original] { #expect(earlier == message.id, "\(original) changed id") }
      handedOut[original] = message.id
      if message.attempts == 0 {
        try spool.recordAttempt(id: message.id, error: "unavailable: down")
        continue
      }
      if original == refusedByAggregator {
        try spool.markRejected(id: message.id, reason: "permissionDenied: not your base")
      } else {
        try spool.markSent(id: message.id, receiptJSON: #"{"submissionId":"\#(message.id)"}"#)
      }
    }
  }

  static func drop(_ fixture: SpoolFixture) throws {
    try fixture.drop("a.json")
    try fixture.drop("b.pb")
    try fixture.drop("c.json")
    try fixture.drop("garbage.json", bytes: Array("{ not a report".utf8))
    var invalid = SpoolFixture.submission(valueAdded: 5_000_000)
    invalid.report.clearExports()
    try fixture.drop("invalid.json", invalid)
  }

  @Test("every crash point", arguments: 0..<60)
  func crashAt(point: Int) throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    try Self.drop(fixture)
    var handedOut: [String: String] = [:]
    var crashed = false

    do {
      let spool = try fixture.open()
      spool.crashAfterSteps = point
      do { try Self.run(spool, handedOut: &handedOut) } catch is Spool.SimulatedCrash { crashed = true }
    }
    do {
      // The restart, which itself crashes part way through its own work.
      let spool = try fixture.open()
      spool.crashAfterSteps = point % 7
      do {
        try spool.recover()
        try Self.run(spool, handedOut: &handedOut)
      } catch is Spool.SimulatedCrash {}
    }
    let spool = try fixture.open()
    try Self.run(spool, handedOut: &handedOut)

    func originals(_ folder: String) -> [String] {
      fixture.names(folder).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".receipt.json") && !$0.hasSuffix(".rejected.txt") && !$0.hasSuffix(".reason.txt") }
        .map { String($0.dropFirst(11)) }.sorted()
    }
    #expect(fixture.names("outbox").isEmpty)
    #expect(fixture.names("claimed").isEmpty)
    #expect(originals("sent") == ["a.json", "b.pb"])
    #expect(originals("rejected") == ["c.json", "invalid.json"])
    #expect(originals("quarantine") == ["garbage.json"])
    for name in fixture.names("sent") where name.hasSuffix(".receipt.json") {
      let original = String(name.dropFirst(11).dropLast(".receipt.json".count))
      let id = try #require(handedOut[original])
      #expect(fixture.text("sent", name).contains(id), "\(original) sent under another id")
    }
    for name in fixture.names("") where name.hasSuffix(".tmp") { Issue.record("left over: \(name)") }
    let status = try spool.status()
    #expect(status.sent == 2 && status.rejected == 2 && status.quarantined == 1 && status.claimed == 0)
    if point >= 59 { #expect(!crashed, "raise the number of crash points: the run has more steps") }
  }
}
