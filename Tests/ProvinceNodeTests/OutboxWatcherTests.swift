import Foundation
import ProvinceNode
import Testing

@Suite("Outbox watcher (inotify)")
struct OutboxWatcherTests {
  /// Collects a watcher's events from one long-lived task (cancelling a task waiting on an
  /// AsyncStream would end the stream).
  final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [OutboxWatcher.Event] = []
    private(set) var finished = false
    let task: Task<Void, Never>

    init(_ watcher: OutboxWatcher) {
      let box = Box()
      task = Task {
        for await event in watcher.events { box.collector?.append(event) }
        box.collector?.finish()
      }
      box.collector = self
    }

    final class Box: @unchecked Sendable { weak var collector: Collector? }

    func append(_ event: OutboxWatcher.Event) { lock.withLock { events.append(event) } }
    func finish() { lock.withLock { finished = true } }
    var isFinished: Bool { lock.withLock { finished } }

    /// The events received so far, after waiting until there are `count` or `seconds` passed.
    func events(count: Int, within seconds: Double) async -> [OutboxWatcher.Event] {
      let deadline = ContinuousClock.now + .seconds(seconds)
      while ContinuousClock.now < deadline {
        if lock.withLock({ events.count }) >= count { break }
        try? await Task.sleep(for: .milliseconds(5))
      }
      return lock.withLock { events }
    }
  }

  @Test("reports rescan first, nothing for a .tmp file, then the renamed file within a second")
  func renamedFileReported() async throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    _ = try fixture.open()
    let watcher = try OutboxWatcher(directory: fixture.outbox)
    defer { watcher.stop() }
    let collector = Collector(watcher)
    #expect(await collector.events(count: 1, within: 1) == [.rescan])

    let bytes = Data(try SpoolFixture.submission().jsonUTF8Data())
    try bytes.write(to: URL(fileURLWithPath: fixture.outbox + "/a.json.tmp"))
    #expect(await collector.events(count: 2, within: 0.3) == [.rescan])

    let start = ContinuousClock.now
    try FileManager.default.moveItem(atPath: fixture.outbox + "/a.json.tmp", toPath: fixture.outbox + "/a.json")
    #expect(await collector.events(count: 2, within: 1) == [.rescan, .file("a.json")])
    #expect(ContinuousClock.now - start < .seconds(1))
  }

  @Test("a file written in place is reported; a spool claims what the watcher reports; stop() ends the stream")
  func closeWriteAndClaim() async throws {
    let fixture = try SpoolFixture()
    defer { fixture.remove() }
    let spool = try fixture.open()
    let watcher = try OutboxWatcher(directory: fixture.outbox)
    let collector = Collector(watcher)
    #expect(await collector.events(count: 1, within: 1) == [.rescan])
    // Foundation may write in place (IN_CLOSE_WRITE) or through a temporary file and a rename
    // (IN_MOVED_TO): either way the event names direct.json.
    try Data(try SpoolFixture.submission().jsonUTF8Data()).write(to: URL(fileURLWithPath: fixture.outbox + "/direct.json"))
    let events = await collector.events(count: 2, within: 1)
    #expect(events.dropFirst().first == .file("direct.json"))
    #expect(try spool.claim(names: ["direct.json"]).claimed.count == 1)
    watcher.stop()
    await collector.task.value
    #expect(collector.isFinished)
  }
}
