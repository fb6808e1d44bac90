import Aggregator
import AggregatorStore
import Foundation
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import Logging
import SwiftProtobuf
import Testing
import ZeroMQ
import ZeroMQTransport

/// ReportIngest and ArrivalStatus (with WatchArrivals woken by ingest) over a real CURVE ZeroMQ
/// server on a real SQLite store, with an open 2025 round.
final class WatchHarness: Sendable {
  let harness: CurveServiceHarness
  var database: AggregatorDatabase { harness.database }
  var serverKeys: CurveKeyPair { harness.serverKeys }
  var keys: [String: CurveKeyPair] { harness.keys }

  init(identities: [String] = ["110000", "440300", "310000", "operator:ops"]) async throws {
    harness = try await CurveServiceHarness(identities: identities, name: "watch")
    try await harness.database.setRound(RoundRecord(reportYear: 2025, state: .open, latePolicy: .acceptMarkLate), actor: "test")
  }

  /// Runs the server for the duration of `body`, which gets a connected client per identity.
  func run<Result: Sendable>(
    _ body: @Sendable (_ client: @escaping @Sendable (String) -> GRPCClient<ZeroMQTransport.Client>) async throws -> Result
  ) async throws -> Result {
    try await harness.run(services: { database, logger in
      let bell = NoticeBell()
      return [
        ReportIngestService(database: database, logger: logger, arrivalBell: bell),
        RoundRelayService(database: database, bell: NoticeBell(), arrivalBell: bell, logger: logger),
        // A long poll: new events must come from the bell (or a later poll, which only delays).
        ArrivalStatusService(database: database, logger: logger, bell: bell, pollInterval: .seconds(30)),
      ]
    }, body)
  }
}

/// A WatchArrivals subscription read in a task: `started` answers the STARTED marker's
/// sequence once the stream is live; `events` the first `count` SUBMISSION events.
struct Watch: Sendable {
  let started: Task<Int64, any Error>
  let events: Task<[Ndrc_Hitech_V1_ArrivalEvent], any Error>

  init(_ client: GRPCClient<ZeroMQTransport.Client>, _ request: Ndrc_Hitech_V1_WatchArrivalsRequest, count: Int) {
    let (stream, continuation) = AsyncStream.makeStream(of: Int64.self)
    let events = Task {
      defer { continuation.finish() }
      return try await Ndrc_Hitech_V1_ArrivalStatus.Client(wrapping: client).watchArrivals(request) { response in
        var events: [Ndrc_Hitech_V1_ArrivalEvent] = []
        for try await event in response.messages {
          if event.kind == .started {
            continuation.yield(event.sequence)
            continue
          }
          events.append(event)
          if events.count == count { break }
        }
        return events
      }
    }
    self.events = events
    started = Task {
      for await sequence in stream { return sequence }
      _ = try await events.value  // the stream failed before its marker: say why
      throw RPCError(code: .internalError, message: "the stream ended before its STARTED marker")
    }
  }
}

func watchRequest(reporter: String = "", after: Int64? = nil) -> Ndrc_Hitech_V1_WatchArrivalsRequest {
  var request = Ndrc_Hitech_V1_WatchArrivalsRequest()
  request.reportYear = 2025
  request.reporterCode = reporter
  if let after { request.afterSequence = after }
  return request
}

/// The `n`-th submission (from 0) of a reporter: revisions 1, 2, … of its two sample bases in turn.
func nthSubmission(_ reporter: String, _ n: Int) throws -> Ndrc_Hitech_V1_Submission {
  let revision = Int32(n / 2 + 1)
  return try SampleSubmissions.submission(
    id: "\(reporter)-\(n)", base: "SAMPLE-\(reporter)-0\(n % 2 + 1)", revision: revision, replaces: revision - 1,
    report: SampleSubmissions.report(scale: 100 + Int64(n)))
}

@Suite("ArrivalStatus.WatchArrivals on the aggregator")
struct WatchArrivalsTests {
  @Test("round steps are in the feed as they are applied: a reporter sees them beside its own arrivals, dated on the round's calendar", .timeLimit(.minutes(2)))
  func roundSteps() async throws {
    let harness = try await WatchHarness(identities: ["110000", "440300", "coordinator:central"])
    try await harness.run { client in
      let relay = Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("coordinator:central"))
      let mine = Watch(client("110000"), watchRequest(), count: 3)
      _ = try await mine.started.value
      let started = ContinuousClock.now
      var reminder = Ndrc_Hitech_V1_ApplyRoundStepRequest()
      reminder.stepID = "2025/reminder/259200s"
      reminder.round.reportYear = 2025
      reminder.round.state = .open
      reminder.round.latePolicy = .acceptMarkLate
      reminder.reminder = .init()
      reminder.calendarNow = Google_Protobuf_Timestamp(seconds: 1_741_564_800)  // 2025-03-10 on the round's calendar
      reminder.calendarSpeed = 86_400
      _ = try await relay.applyRoundStep(reminder)
      _ = try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client("440300")).submit(try nthSubmission("440300", 0))
      _ = try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client("110000")).submit(try nthSubmission("110000", 0))
      var closing = reminder
      closing.stepID = "2025/closed"
      closing.round.state = .closed
      closing.closed = .init()
      _ = try await relay.applyRoundStep(closing)

      let events = try await mine.events.value
      // Woken by the relay's and the ingest's rings, not by the 30-second poll.
      #expect(ContinuousClock.now - started < .seconds(25))
      #expect(events.map(\.kind) == [.roundStep, .submission, .roundStep])
      #expect(events[0].roundStep.kind == .reminded && events[0].roundStep.stepID == "2025/reminder/259200s")
      #expect(events[0].roundStep.reportYear == 2025 && events[0].roundStep.state == .open)
      #expect(events[0].roundClockAt.seconds == 1_741_564_800)
      #expect(events[1].receipt.submissionID == "110000-0")
      #expect(events[1].hasRoundClockAt && events[1].roundClockAt.seconds >= 1_741_564_800)
      #expect(events[2].roundStep.kind == .closed && events[2].roundStep.state == .closed)
      #expect(zip(events, events.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
    }
  }

  @Test("a subscriber sees every arrival of concurrent nodes in order, and across a reconnect misses and repeats none", .timeLimit(.minutes(3)))
  func concurrentArrivalsAcrossReconnect() async throws {
    let harness = try await WatchHarness()
    let reporters = ["110000", "440300", "310000"]
    let perReporter = 8
    let total = reporters.count * perReporter
    try await harness.run { client in
      let ingest = Dictionary(uniqueKeysWithValues: reporters.map { ($0, Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client($0))) })
      // Submits submissions `range` of every reporter, the reporters concurrently.
      @Sendable func submit(_ range: Range<Int>) async throws -> [Ndrc_Hitech_V1_Receipt] {
        try await withThrowingTaskGroup(of: [Ndrc_Hitech_V1_Receipt].self) { group in
          for reporter in reporters {
            group.addTask {
              var receipts: [Ndrc_Hitech_V1_Receipt] = []
              for n in range { receipts.append(try await ingest[reporter]!.submit(try nthSubmission(reporter, n))) }
              return receipts
            }
          }
          return try await group.reduce(into: []) { $0 += $1 }
        }
      }

      // The first subscription reads 7 events while the nodes send their first halves.
      let first = Watch(client("operator:ops"), watchRequest(), count: 7)
      let origin = try await first.started.value
      var receipts = try await submit(0..<4)
      let before = try await first.events.value
      // While nobody watches, more arrive; then the subscriber resumes after its last event
      // and the rest arrive while it watches.
      receipts += try await submit(4..<6)
      let resumeAfter = try #require(before.last).sequence
      let second = Watch(client("operator:ops"), watchRequest(after: resumeAfter), count: total - before.count)
      #expect(try await second.started.value == resumeAfter)
      receipts += try await submit(6..<8)
      let after = try await second.events.value

      let seen = before + after
      #expect(seen.count == total)
      #expect(seen.allSatisfy { $0.kind == .submission && $0.hasReceipt && $0.hasObservedAt })
      #expect(seen.first.map { $0.sequence > origin } == true)
      #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
      #expect(Set(seen.map(\.receipt.submissionID)).count == total)
      // Every receipt as the node got it, and each node's arrivals in the order it sent them.
      let byId = Dictionary(uniqueKeysWithValues: receipts.map { ($0.submissionID, $0) })
      #expect(seen.allSatisfy { byId[$0.receipt.submissionID] == $0.receipt })
      for reporter in reporters {
        let order = seen.filter { $0.receipt.reporterCode == reporter }.map(\.receipt.submissionID)
        #expect(order == (0..<perReporter).map { "\(reporter)-\($0)" })
      }
      #expect(seen.allSatisfy { [.accepted, .acceptedWithWarnings, .acceptedLate].contains($0.receipt.status) })

      // From the start of the log: the same feed.
      let replay = Watch(client("operator:ops"), watchRequest(after: 0), count: total)
      #expect(try await replay.started.value == 0)
      #expect(try await replay.events.value.map(\.sequence) == seen.map(\.sequence))
    }
  }

  @Test("a reporter's stream shows only its own arrivals; an operator may filter by reporter", .timeLimit(.minutes(3)))
  func reporterSeesOwnOnly() async throws {
    let harness = try await WatchHarness()
    try await harness.run { client in
      let ingest = { (reporter: String) in Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client(reporter)) }
      let own = Watch(client("110000"), watchRequest(), count: 3)
      let filtered = Watch(client("operator:ops"), watchRequest(reporter: "440300"), count: 4)
      _ = try await own.started.value
      _ = try await filtered.started.value
      // Others' arrivals come first in the log, so a stream that leaked them would show them
      // before the reporter's own.
      for n in 0..<3 {
        _ = try await ingest("440300").submit(try nthSubmission("440300", n))
        _ = try await ingest("310000").submit(try nthSubmission("310000", n))
      }
      for n in 0..<3 { _ = try await ingest("110000").submit(try nthSubmission("110000", n)) }
      _ = try await ingest("440300").submit(try nthSubmission("440300", 3))

      let mine = try await own.events.value
      #expect(mine.map(\.receipt.submissionID) == ["110000-0", "110000-1", "110000-2"])
      let theirs = try await filtered.events.value
      #expect(theirs.map(\.receipt.submissionID) == ["440300-0", "440300-1", "440300-2", "440300-3"])

      // A reporter may not ask for another's; an unknown reporter; a position past the end.
      let status = Ndrc_Hitech_V1_ArrivalStatus.Client(wrapping: client("110000"))
      let operatorStatus = Ndrc_Hitech_V1_ArrivalStatus.Client(wrapping: client("operator:ops"))
      func drain(_ client: Ndrc_Hitech_V1_ArrivalStatus.Client<ZeroMQTransport.Client>, _ request: Ndrc_Hitech_V1_WatchArrivalsRequest) async -> RPCError.Code? {
        await code { try await client.watchArrivals(request) { response in for try await _ in response.messages {} } }
      }
      #expect(await drain(status, watchRequest(reporter: "440300")) == .permissionDenied)
      #expect(await drain(operatorStatus, watchRequest(reporter: "999999")) == .notFound)
      #expect(await drain(operatorStatus, watchRequest(after: 1_000_000)) == .outOfRange)
      #expect(await drain(operatorStatus, watchRequest(after: -1)) == .invalidArgument)
    }
  }
}
