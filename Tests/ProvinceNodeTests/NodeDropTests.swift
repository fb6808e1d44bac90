import AggregatorStore
import DaemonSupport
import Foundation
import HiTechSchema
import Logging
import ProvinceNode
import SwiftProtobuf
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What producers put in the outbox, with the node and the aggregator as real processes: files
/// still being written, and garbage next to good files.
@Suite(.serialized)
struct NodeDropTests {
  static let reporter = "110000"

  /// The latest stored report of (base, year), read from the running aggregator's store (WAL:
  /// a reader beside the daemon's writer).
  static func stored(_ aggregator: AggregatorUnderTest, base: String, year: Int) async throws -> StoredReport? {
    let database = try AggregatorDatabase(path: aggregator.databasePath, logger: Logger(label: "test.peek"))
    let report = try await database.latestReport(baseId: base, reportYear: year)
    try await database.close()
    return report
  }

  /// Writes `bytes` to `path` through one descriptor, `chunks` writes `delay` apart (a slow
  /// producer), and closes it at the end.
  static func writeSlowly(_ bytes: [UInt8], to path: String, chunks: Int, delay: Duration) async throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
    defer { close(fd) }
    let size = (bytes.count + chunks - 1) / chunks
    var offset = 0
    while offset < bytes.count {
      let end = min(offset + size, bytes.count)
      let written = bytes[offset..<end].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      guard written == end - offset else { throw TestFailure("short write to \(path)") }
      offset = end
      try await Task.sleep(for: delay)
    }
  }

  @Test(
    "a file written slowly under a .tmp name, then renamed, is sent only after the rename, whole; one written in place through one descriptor only after it is closed",
    .timeLimit(.minutes(3)))
  func halfWrittenFileWaits() async throws {
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: [2000, 2001])
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    try node.start()
    let base = "SAMPLE-110000-01"

    // 1. The atomic-drop convention: x.json.tmp written in 8 chunks over ~2 s, then renamed.
    var first = try NodeSamples.submission(base: base, year: 2000)
    first.report.remarks = String(repeating: "a long remark to make the file bigger; ", count: 200)
    first = try first.sealed()
    let bytes = Array(try first.jsonUTF8Data())
    let temporary = node.outbox + "/slow.json.tmp"
    try await Self.writeSlowly(bytes, to: temporary, chunks: 8, delay: .milliseconds(250))
    try await Task.sleep(for: .seconds(1))
    #expect(node.files("claimed").isEmpty && node.files("sent").isEmpty && node.files("quarantine").isEmpty)
    #expect(try await Self.stored(aggregator, base: base, year: 2000) == nil, "stored before the rename")
    guard rename(temporary, node.outbox + "/slow.json") == 0 else { throw TestFailure("rename: errno \(errno)") }
    try await node.waitUntilDone(1, timeout: .seconds(30))
    #expect(node.files("sent").first?.hasSuffix("_slow.json") == true)
    let stored = try #require(try await Self.stored(aggregator, base: base, year: 2000))
    let storedSubmission = try Ndrc_Hitech_V1_Submission(serializedBytes: stored.originalBytes)
    #expect(storedSubmission.report == first.report, "the stored report is not the whole file")
    #expect(storedSubmission.submissionID == first.submissionID)

    // 2. Written in place (final name) through one descriptor, slowly: the watcher waits for
    // the close (IN_CLOSE_WRITE). Only the rename convention is promised (a rescan at start
    // would see the partial file), but the running node must not send half a file either.
    let second = try NodeSamples.submission(base: base, year: 2001)
    let secondBytes = Array(try second.jsonUTF8Data())
    let writing = Task {
      try await Self.writeSlowly(secondBytes, to: node.outbox + "/inplace.json", chunks: 6, delay: .milliseconds(300))
    }
    try await Task.sleep(for: .milliseconds(900))
    #expect(node.files("sent").count == 1 && node.files("quarantine").isEmpty, "claimed while still being written")
    try await writing.value
    try await node.waitUntilDone(2, timeout: .seconds(30))
    #expect(node.files("quarantine").isEmpty)
    #expect(node.files("sent").contains { $0.hasSuffix("_inplace.json") })
    let storedSecond = try #require(try await Self.stored(aggregator, base: base, year: 2001))
    #expect(try Ndrc_Hitech_V1_Submission(serializedBytes: storedSecond.originalBytes).report == second.report)

    #expect(node.terminate() == 0)
    aggregator.terminate()
  }

  @Test(
    "garbage next to good files: random bytes as .pb, invalid JSON, an empty file, a truncated .pb and .json are quarantined with a reason; every good file is delivered once",
    .timeLimit(.minutes(3)))
  func garbageQuarantinedGoodDelivered() async throws {
    let samples = try NodeSamples.beijing(40)
    let years = NodeSamples.years(samples.count)
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: years)
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    try node.start()

    let goodPB: [UInt8] = try NodeSamples.submission(base: "SAMPLE-110000-01", year: 2999).serializedBytes()
    let goodJSON = Array(try NodeSamples.submission(base: "SAMPLE-110000-01", year: 2999).jsonUTF8Data())
    var generator = SystemRandomNumberGenerator()
    let garbage: [(name: String, bytes: [UInt8], reason: String)] = [
      ("random.pb", (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }, ""),
      ("invalid.json", Array("{\"base_id\": \"SAMPLE-110000-01\", \"report_year\": 20".utf8), "proto3 JSON"),
      ("not-json.json", Array("base_id,report_year\nSAMPLE-110000-01,2025\n".utf8), "proto3 JSON"),
      ("empty.json", [], "empty"),
      ("empty.pb", [], "empty"),
      ("truncated.pb", Array(goodPB.prefix(goodPB.count * 2 / 3)), ""),
      ("truncated.json", Array(goodJSON.prefix(goodJSON.count / 2)), "proto3 JSON"),
    ]
    // Interleaved: garbage between good files, dropped by the atomic-drop convention.
    for (index, sample) in samples.enumerated() {
      try node.drop(sample.name, sample.submission)
      if index % 6 == 3, index / 6 < garbage.count {
        let bad = garbage[index / 6]
        let temporary = node.outbox + "/" + bad.name + ".part"
        try Data(bad.bytes).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, node.outbox + "/" + bad.name) == 0 else { throw TestFailure("rename: errno \(errno)") }
      }
    }
    try await node.waitUntilDone(samples.count, timeout: .seconds(60))
    try await SenderRecoveryTests.waitFor("every garbage file in quarantine/", timeout: .seconds(20)) {
      node.files("quarantine").count == garbage.count
    }

    #expect(node.files("sent").count == samples.count)
    #expect(node.files("rejected").isEmpty)
    #expect(node.files("claimed").isEmpty && node.files("outbox").isEmpty)
    let quarantined = node.files("quarantine")
    #expect(Set(quarantined.map { String($0.drop { $0 != "_" }.dropFirst()) }) == Set(garbage.map(\.name)))
    for bad in garbage {
      guard let name = quarantined.first(where: { $0.hasSuffix("_" + bad.name) }) else { continue }
      let reason = node.text("quarantine", name + ".reason.txt")
      #expect(!reason.isEmpty, "no reason beside \(name)")
      #expect(reason.contains(bad.name), "the reason does not name \(bad.name): \(reason)")
      if !bad.reason.isEmpty { #expect(reason.contains(bad.reason), "\(bad.name): \(reason)") }
    }
    let status = try NodeStatus.read(path: node.statusPath)
    #expect(status.state == "running")
    #expect(node.isRunning)

    #expect(node.terminate() == 0)
    aggregator.terminate()
    let stored = try await aggregator.storedSubmissionIds(reporter: Self.reporter, years: years)
    #expect(stored.count == samples.count)
    #expect(stored.values.allSatisfy { $0 == 1 })
    #expect(Set(stored.keys) == Set(samples.map(\.submission.submissionID)))
  }

  @Test(
    "a FIFO renamed into outbox/ or made in place, a socket, a directory and a link out of the spool are quarantined with their kind; the node keeps sending, stops on SIGTERM, and a FIFO left in claimed/ does not wedge the restart",
    .timeLimit(.minutes(3)))
  func nonRegularFilesDoNotWedge() async throws {
    let samples = try NodeSamples.beijing(6)
    let aggregator = try await AggregatorUnderTest(reporters: [Self.reporter], years: NodeSamples.years(samples.count) + [2998])
    try await aggregator.start(answeringAs: Self.reporter)
    let node = try NodeUnderTest(reporter: Self.reporter, aggregator: aggregator)
    try node.start()
    try await SenderRecoveryTests.waitFor("the node's status file", timeout: .seconds(30)) {
      FileManager.default.fileExists(atPath: node.statusPath)
    }

    // A valid report outside the spool, reachable only through a link: never sent.
    let outsideSubmission = try NodeSamples.submission(base: "SAMPLE-110000-01", year: 2998)
    let outside = node.directory + "/outside.json"
    try outsideSubmission.jsonUTF8Data().write(to: URL(fileURLWithPath: outside))

    try node.drop(samples[0].name, samples[0].submission)
    try SpecialFiles.fifo(node.outbox + "/.pipe.json.tmp")
    guard rename(node.outbox + "/.pipe.json.tmp", node.outbox + "/pipe.json") == 0 else { throw TestFailure("rename: errno \(errno)") }
    try node.drop(samples[1].name, samples[1].submission)
    try SpecialFiles.fifo(node.outbox + "/inplace.json")
    try node.drop(samples[2].name, samples[2].submission)
    let socket = try SpecialFiles.socket(node.outbox + "/sock.json")
    defer { close(socket) }
    try SpecialFiles.directory(node.outbox + "/.folder.tmp")
    guard rename(node.outbox + "/.folder.tmp", node.outbox + "/folder.pb") == 0 else { throw TestFailure("rename: errno \(errno)") }
    try SpecialFiles.symlink(node.outbox + "/link.json", to: outside)
    try node.drop(samples[3].name, samples[3].submission)

    let odd = ["pipe.json", "inplace.json", "sock.json", "folder.pb", "link.json"]
    try await node.waitUntilDone(4, timeout: .seconds(60))
    try await SenderRecoveryTests.waitFor("every odd entry in quarantine/", timeout: .seconds(30)) {
      node.files("quarantine").count == odd.count
    }
    let kinds = ["pipe.json": "FIFO", "inplace.json": "FIFO", "sock.json": "socket", "folder.pb": "directory", "link.json": "symbolic link (to \(outside))"]
    for name in odd {
      let file = try #require(node.files("quarantine").first { $0.hasSuffix("_" + name) })
      let reason = node.text("quarantine", file + ".reason.txt")
      #expect(reason.contains("not a regular file: \(kinds[name]!)"), "\(name): \(reason)")
    }
    #expect(node.files("outbox").isEmpty && node.files("claimed").isEmpty)
    #expect(SpecialFiles.kind(outside) == "regular")
    #expect(node.isRunning)

    // SIGTERM stops it (nothing is blocked on a FIFO).
    #expect(node.terminate() == 0)

    // Left while it was down: a FIFO in claimed/ (as after a crash mid-claim) and one in outbox/.
    try SpecialFiles.fifo(node.spool + "/claimed/0000000090_stale.json")
    try SpecialFiles.fifo(node.outbox + "/late.json")
    try node.drop(samples[4].name, samples[4].submission)
    try node.start()
    try node.drop(samples[5].name, samples[5].submission)
    try await node.waitUntilDone(6, timeout: .seconds(60))
    try await SenderRecoveryTests.waitFor("both FIFOs in quarantine/", timeout: .seconds(30)) {
      node.files("quarantine").count == odd.count + 2
    }
    for name in ["stale.json", "late.json"] {
      let file = try #require(node.files("quarantine").first { $0.hasSuffix("_" + name) })
      #expect(node.text("quarantine", file + ".reason.txt").contains("not a regular file: FIFO"))
    }
    #expect(node.terminate() == 0)
    aggregator.terminate()
    let stored = try await aggregator.storedSubmissionIds(reporter: Self.reporter, years: NodeSamples.years(samples.count) + [2998])
    #expect(Set(stored.keys) == Set(samples.map(\.submission.submissionID)), "the linked report outside the spool was sent")
    #expect(stored.values.allSatisfy { $0 == 1 })
  }
}
