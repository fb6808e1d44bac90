import Foundation
import HiTechSchema
import Logging
import ProvinceNode
import SwiftProtobuf
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The spool never opens what is not a regular file: FIFOs, sockets, directories and symbolic
/// links with an eligible name are quarantined with their true kind, at claim, at recovery and
/// when a claimed file is replaced, and never block the spool.
@Suite("Outbox spool: files that are not regular files")
struct NonRegularFileTests {
  /// The reason file beside the quarantined file whose original name is `name`.
  static func reason(_ fixture: SpoolFixture, _ name: String) -> String {
    guard let file = fixture.names("quarantine").first(where: { $0.hasSuffix("_" + name) && !$0.hasSuffix(".reason.txt") }) else {
      return "(\(name) is not in quarantine/: \(fixture.names("quarantine")))"
    }
    return fixture.text("quarantine", file + ".reason.txt")
  }

  @Test("a FIFO, a socket, a directory, a link out of the spool and a dangling link in outbox/ are quarantined with their kind; the good file is claimed")
  func claimQuarantinesNonRegular() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    // A complete, valid report outside the spool: a link to it must not be followed.
    let outside = fixture.directory + "/outside-report.json"
    try Data(try SpoolFixture.submission(id: "outside-1").jsonUTF8Data()).write(to: URL(fileURLWithPath: outside))
    try SpecialFiles.fifo(fixture.outbox + "/.pipe.json.tmp")
    #expect(rename(fixture.outbox + "/.pipe.json.tmp", fixture.outbox + "/pipe.json") == 0)  // the atomic drop
    try SpecialFiles.fifo(fixture.outbox + "/inplace.pb")
    let socket = try SpecialFiles.socket(fixture.outbox + "/sock.json")
    defer { close(socket) }
    try SpecialFiles.directory(fixture.outbox + "/folder.json")
    try SpecialFiles.symlink(fixture.outbox + "/link.json", to: outside)
    try SpecialFiles.symlink(fixture.outbox + "/dangling.json", to: fixture.directory + "/nowhere.json")
    try fixture.drop("good.json")

    let summary = try withinSeconds(20, "claimPending") { try spool.claimPending() }
    #expect(summary.claimed.map(\.name) == ["good.json"])
    #expect(Set(summary.quarantined) == ["pipe.json", "inplace.pb", "sock.json", "folder.json", "link.json", "dangling.json"])
    #expect(Self.reason(fixture, "pipe.json").contains("not a regular file: FIFO"))
    #expect(Self.reason(fixture, "inplace.pb").contains("not a regular file: FIFO"))
    #expect(Self.reason(fixture, "sock.json").contains("not a regular file: socket"))
    #expect(Self.reason(fixture, "folder.json").contains("not a regular file: directory"))
    #expect(Self.reason(fixture, "link.json").contains("not a regular file: symbolic link (to \(outside))"))
    #expect(Self.reason(fixture, "dangling.json").contains("not a regular file: symbolic link"))
    for name in ["pipe.json", "inplace.pb", "sock.json", "folder.json", "link.json"] {
      #expect(!Self.reason(fixture, name).contains("permission"), "\(name): \(Self.reason(fixture, name))")
    }
    // Moved as they are: the link is still a link, the FIFO a FIFO; the outside file untouched.
    let quarantined = fixture.names("quarantine")
    let link = try #require(quarantined.first { $0.hasSuffix("_link.json") })
    #expect(SpecialFiles.kind(fixture.directory + "/quarantine/" + link) == "link")
    let pipe = try #require(quarantined.first { $0.hasSuffix("_pipe.json") })
    #expect(SpecialFiles.kind(fixture.directory + "/quarantine/" + pipe) == "fifo")
    #expect(SpecialFiles.kind(outside) == "regular")
    #expect(fixture.names("outbox").isEmpty)

    let message = try #require(try spool.next())
    #expect(message.fileName.hasSuffix("_good.json"))
    #expect(try spool.status().quarantined == 6)
  }

  @Test("recovery quarantines a FIFO or a link found in claimed/ and still hands out the good message")
  func recoveryQuarantinesNonRegular() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    try fixture.drop("good.json")
    #expect(try spool.claimPending().claimed.count == 1)
    // What a crash between the claim's rename and its judgement leaves, or a hand-made mess.
    try SpecialFiles.fifo(fixture.directory + "/claimed/0000000050_stale.json")
    try SpecialFiles.symlink(fixture.directory + "/claimed/0000000051_passwd.json", to: "/etc/passwd")
    try SpecialFiles.fifo(fixture.directory + "/claimed/by-hand.pb")

    let recovered = try withinSeconds(20, "Spool.init (recovery)") { try fixture.open() }
    let message = try #require(try recovered.next())
    #expect(message.fileName.hasSuffix("_good.json"))
    #expect(fixture.names("claimed") == [message.fileName])
    #expect(Self.reason(fixture, "stale.json").contains("not a regular file: FIFO"))
    #expect(Self.reason(fixture, "passwd.json").contains("not a regular file: symbolic link (to /etc/passwd)"))
    #expect(Self.reason(fixture, "by-hand.pb").contains("not a regular file: FIFO"))
  }

  @Test("a claimed file replaced by a FIFO is quarantined when it is to be sent, without blocking")
  func replacedClaimedFileQuarantined() throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    try fixture.drop("first.json")
    try fixture.drop("second.json", SpoolFixture.submission(base: "BJ-ZGC-02"))
    #expect(try spool.claimPending().claimed.count == 2)
    let first = try #require(fixture.names("claimed").first { $0.hasSuffix("_first.json") })
    #expect(unlink(fixture.directory + "/claimed/" + first) == 0)
    try SpecialFiles.fifo(fixture.directory + "/claimed/" + first)

    let message = try withinSeconds(20, "Spool.next") { try spool.next() }
    #expect(message?.fileName.hasSuffix("_second.json") == true)
    #expect(Self.reason(fixture, "first.json").contains("not a regular file: FIFO"))
    #expect(SpecialFiles.kind(fixture.directory + "/quarantine/" + first) == "fifo")
  }
}
