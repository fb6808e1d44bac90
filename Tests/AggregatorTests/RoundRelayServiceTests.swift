import Aggregator
import AggregatorStore
import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import Logging
import SwiftProtobuf
import Testing
import TransparencyLog
import ZeroMQ
import ZeroMQTransport

/// The aggregator's side of the round calendar — RoundRelay (coordinator), RoundNotices
/// (nodes), ArrivalStatus (operators) — over a real CURVE ZeroMQ server on a real store.
final class RelayHarness: Sendable {
  let harness: CurveServiceHarness
  /// The aggregator's receipt signing key, for SignTreeHead.
  let signingKey = LogSigningKey()
  var database: AggregatorDatabase { harness.database }
  var serverKeys: CurveKeyPair { harness.serverKeys }
  var keys: [String: CurveKeyPair] { harness.keys }

  init(identities: [String] = ["110000", "440300", "310000", "coordinator:central", "operator:ops"]) async throws {
    harness = try await CurveServiceHarness(identities: identities, name: "relay")
  }

  /// Runs the server for the duration of `body`, which gets a connected client per identity.
  func run<Result: Sendable>(
    _ body: @Sendable (_ client: @escaping @Sendable (String) -> GRPCClient<ZeroMQTransport.Client>) async throws -> Result
  ) async throws -> Result {
    let signingKey = signingKey
    return try await harness.run(services: { database, logger in
      let bell = NoticeBell()
      return [
        ReportIngestService(database: database, logger: logger),
        RoundRelayService(database: database, bell: bell, logSigningKey: signingKey, logger: logger),
        RoundNoticesService(database: database, bell: bell, logger: logger, pollInterval: .seconds(30)),
        ArrivalStatusService(database: database, logger: logger),
      ]
    }, body)
  }

  static func round(_ state: Ndrc_Hitech_V1_RoundState, year: Int32 = 2025, policy: Ndrc_Hitech_V1_LatePolicy = .acceptMarkLate) -> Ndrc_Hitech_V1_Round {
    var round = Ndrc_Hitech_V1_Round()
    round.reportYear = year
    round.state = state
    round.latePolicy = policy
    round.opensAt = Google_Protobuf_Timestamp(seconds: 1_767_225_600)  // 2026-01-01T00:00Z
    round.deadline = Google_Protobuf_Timestamp(seconds: 1_774_972_800)  // 2026-04-01T00:00Z
    return round
  }

  static func step(
    _ id: String, _ round: Ndrc_Hitech_V1_Round,
    _ announcement: Ndrc_Hitech_V1_ApplyRoundStepRequest.OneOf_Announcement?
  ) -> Ndrc_Hitech_V1_ApplyRoundStepRequest {
    var request = Ndrc_Hitech_V1_ApplyRoundStepRequest()
    request.stepID = id
    request.round = round
    request.announcement = announcement
    return request
  }
}

/// Reads notices from a subscription until `count` arrived (or the time limit fails the test).
func readNotices(
  _ client: GRPCClient<ZeroMQTransport.Client>, after: Int64 = 0, count: Int
) async throws -> [Ndrc_Hitech_V1_RoundNotice] {
  var request = Ndrc_Hitech_V1_SubscribeRequest()
  request.afterSequence = after
  return try await Ndrc_Hitech_V1_RoundNotices.Client(wrapping: client).subscribe(request) { response in
    var notices: [Ndrc_Hitech_V1_RoundNotice] = []
    for try await notice in response.messages {
      notices.append(notice)
      if notices.count == count { break }
    }
    return notices
  }
}

@Suite("RoundRelay, RoundNotices and ArrivalStatus on the aggregator")
struct RoundRelayServiceTests {
  @Test("opening a round admits reports and tells each reporter its expected bases, once", .timeLimit(.minutes(2)))
  func openRound() async throws {
    let harness = try await RelayHarness()
    try await harness.run { client in
      let relay = Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("coordinator:central"))
      let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client("110000"))

      // Before any step: no round, reports refused.
      let before = await code { try await ingest.submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01")) }
      #expect(before == .failedPrecondition)

      let opened = try await relay.applyRoundStep(
        RelayHarness.step("2025/opened", RelayHarness.round(.open), .opened(.init())))
      #expect(!opened.alreadyApplied)
      // Reporters with expected (active) bases; 210200's only base is withdrawn.
      #expect(opened.addressedReporterCodes == ["110000", "310000", "330200", "370200", "420100", "440000", "440300", "510000", "660000"])
      #expect(opened.lastNoticeSequence - opened.firstNoticeSequence == 8)

      let again = try await relay.applyRoundStep(
        RelayHarness.step("2025/opened", RelayHarness.round(.open), .opened(.init())))
      #expect(again.alreadyApplied)
      #expect(again.firstNoticeSequence == opened.firstNoticeSequence)
      #expect(again.lastNoticeSequence == opened.lastNoticeSequence)
      #expect(again.addressedReporterCodes == opened.addressedReporterCodes)

      let receipt = try await ingest.submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01"))
      #expect(receipt.status == .accepted)

      let notices = try await readNotices(client("110000"), count: 1)
      #expect(notices.count == 1)
      #expect(notices[0].reportYear == 2025)
      #expect(notices[0].opened.round.state == .open)
      #expect(notices[0].opened.expectedBases.map(\.baseID) == ["SAMPLE-110000-01", "SAMPLE-110000-02"])
      #expect(notices[0].sequence >= opened.firstNoticeSequence && notices[0].sequence <= opened.lastNoticeSequence)
    }
  }

  @Test("reminders reach only the reporters with missing bases, naming them", .timeLimit(.minutes(2)))
  func reminders() async throws {
    let harness = try await RelayHarness()
    try await harness.run { client in
      let relay = Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("coordinator:central"))
      let opened = try await relay.applyRoundStep(
        RelayHarness.step("2025/opened", RelayHarness.round(.open), .opened(.init())))
      // 110000 reports both bases; 440300 one of two; 310000 none.
      let ingest = { Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client($0)) }
      for base in ["SAMPLE-110000-01", "SAMPLE-110000-02"] {
        _ = try await ingest("110000").submit(try SampleSubmissions.submission(base: base))
      }
      _ = try await ingest("440300").submit(try SampleSubmissions.submission(base: "SAMPLE-440300-01"))

      var reminder = Ndrc_Hitech_V1_ReminderAnnouncement()
      reminder.beforeDeadline = Google_Protobuf_Duration(seconds: 14 * 86_400)
      let reminded = try await relay.applyRoundStep(
        RelayHarness.step("2025/reminder/1209600s", RelayHarness.round(.open), .reminder(reminder)))
      #expect(!reminded.addressedReporterCodes.contains("110000"))
      #expect(reminded.addressedReporterCodes.contains("440300"))
      #expect(reminded.addressedReporterCodes.contains("310000"))

      let for440300 = try await readNotices(client("440300"), after: opened.lastNoticeSequence, count: 1)
      #expect(for440300[0].reminder.missingBaseIds == ["SAMPLE-440300-02"])
      #expect(for440300[0].reminder.beforeDeadline.seconds == 14 * 86_400)
      let for310000 = try await readNotices(client("310000"), after: opened.lastNoticeSequence, count: 1)
      #expect(for310000[0].reminder.missingBaseIds == ["SAMPLE-310000-01", "SAMPLE-310000-02"])

      // Closing: refuse late reports; everyone hears, with their missing bases.
      let closed = try await relay.applyRoundStep(
        RelayHarness.step("2025/closed", RelayHarness.round(.closed, policy: .refuse), .closed(.init())))
      #expect(closed.addressedReporterCodes.contains("110000"))
      let late = await code { try await ingest("440300").submit(try SampleSubmissions.submission(base: "SAMPLE-440300-02")) }
      #expect(late == .failedPrecondition)
      let closedFor110000 = try await readNotices(client("110000"), after: reminded.lastNoticeSequence, count: 1)
      #expect(closedFor110000[0].closed.missingBaseIds.isEmpty)
      #expect(closedFor110000[0].closed.latePolicy == .refuse)

      // Backwards is refused.
      let back = await code {
        try await relay.applyRoundStep(RelayHarness.step("2025/reopen", RelayHarness.round(.open), nil))
      }
      #expect(back == .failedPrecondition)
    }
  }

  @Test("a subscriber hears a notice issued while it waits", .timeLimit(.minutes(2)))
  func liveNotice() async throws {
    let harness = try await RelayHarness()
    try await harness.run { client in
      async let heard = readNotices(client("440300"), count: 1)
      try await Task.sleep(for: .milliseconds(500))
      _ = try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("coordinator:central")).applyRoundStep(
        RelayHarness.step("2025/opened", RelayHarness.round(.open), .opened(.init())))
      let start = ContinuousClock.now
      let notices = try await heard
      #expect(notices[0].opened.expectedBases.count == 2)
      // The bell wakes the stream: no 30 s poll interval elapsed.
      #expect(ContinuousClock.now - start < .seconds(10))
    }
  }

  @Test("identities: only the coordinator relays, reporters cannot, nor can the coordinator submit", .timeLimit(.minutes(2)))
  func authorisation() async throws {
    let harness = try await RelayHarness()
    try await harness.run { client in
      let fromReporter = await code {
        try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("110000")).applyRoundStep(
          RelayHarness.step("2025/opened", RelayHarness.round(.open), .opened(.init())))
      }
      #expect(fromReporter == .permissionDenied)
      let fromOperator = await code {
        try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("operator:ops")).applyRoundStep(
          RelayHarness.step("2025/opened", RelayHarness.round(.open), .opened(.init())))
      }
      #expect(fromOperator == .permissionDenied)
      _ = try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("coordinator:central")).applyRoundStep(
        RelayHarness.step("2025/opened", RelayHarness.round(.open), .opened(.init())))
      let coordinatorSubmits = await code {
        try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client("coordinator:central")).submit(
          try SampleSubmissions.submission(base: "SAMPLE-110000-01"))
      }
      #expect(coordinatorSubmits == .permissionDenied)
      var beyond = Ndrc_Hitech_V1_SubscribeRequest()
      beyond.afterSequence = 1_000_000
      let outOfRange = await code {
        try await Ndrc_Hitech_V1_RoundNotices.Client(wrapping: client("110000")).subscribe(beyond) { response in
          for try await _ in response.messages {}
        }
      }
      #expect(outOfRange == .outOfRange)
    }
  }

  @Test("arrival status: operators see every reporter, a reporter only itself", .timeLimit(.minutes(2)))
  func arrivalStatus() async throws {
    let harness = try await RelayHarness()
    try await harness.run { client in
      _ = try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("coordinator:central")).applyRoundStep(
        RelayHarness.step("2025/opened", RelayHarness.round(.open), .opened(.init())))
      _ = try await Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client("440300")).submit(
        try SampleSubmissions.submission(base: "SAMPLE-440300-01"))
      var request = Ndrc_Hitech_V1_GetRoundStatusRequest()
      request.reportYear = 2025
      let all = try await Ndrc_Hitech_V1_ArrivalStatus.Client(wrapping: client("operator:ops")).getRoundStatus(request)
      #expect(all.round.state == .open)
      #expect(all.round.deadline.seconds == 1_774_972_800)
      #expect(all.totals.expected == 12)
      #expect(all.totals.accepted == 1)
      #expect(all.totals.missing == 11)
      #expect(all.bases.first { $0.baseID == "SAMPLE-440300-01" }?.state == .accepted)

      let own = try await Ndrc_Hitech_V1_ArrivalStatus.Client(wrapping: client("440300")).getRoundStatus(request)
      #expect(own.reporters.map(\.reporterCode) == ["440300"])
      #expect(own.totals.expected == 2)
      request.reporterCode = "110000"
      let other = await code { try await Ndrc_Hitech_V1_ArrivalStatus.Client(wrapping: client("440300")).getRoundStatus(request) }
      #expect(other == .permissionDenied)
      request.reportYear = 2019
      request.reporterCode = ""
      let noRound = await code { try await Ndrc_Hitech_V1_ArrivalStatus.Client(wrapping: client("operator:ops")).getRoundStatus(request) }
      #expect(noRound == .notFound)
    }
  }

  @Test("assessment inputs: every expected base, with its latest report and last year's", .timeLimit(.minutes(2)))
  func assessmentInputs() async throws {
    let harness = try await RelayHarness()
    try await harness.database.setRound(RoundRecord(reportYear: 2024, state: .open, latePolicy: .refuse), actor: "test")
    try await harness.run { client in
      let relay = Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("coordinator:central"))
      _ = try await relay.applyRoundStep(RelayHarness.step("2025/opened", RelayHarness.round(.open), .opened(.init())))
      let ingest = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client("110000"))
      _ = try await ingest.submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01", year: 2024, report: SampleSubmissions.report(scale: 80)))
      let current = try await ingest.submit(try SampleSubmissions.submission(base: "SAMPLE-110000-01"))

      var request = Ndrc_Hitech_V1_ListAssessmentInputsRequest()
      request.reportYear = 2025
      let inputs = try await relay.listAssessmentInputs(request) { response in
        var all: [Ndrc_Hitech_V1_AssessmentInput] = []
        for try await input in response.messages { all.append(input) }
        return all
      }
      #expect(inputs.count == 12)
      #expect(inputs.map(\.base.baseID) == inputs.map(\.base.baseID).sorted())
      let first = try #require(inputs.first { $0.base.baseID == "SAMPLE-110000-01" })
      #expect(first.hasReport && first.hasPreviousYearReport)
      #expect(first.receipt.accessionNumber == current.accessionNumber)
      // Its leaf in the submissions log, as the node's receipt names it.
      #expect(first.receipt.logIndex == current.logIndex && current.logIndex >= 0)
      #expect(first.receipt.attestation == current.attestation && !current.attestation.isEmpty)
      #expect(first.previousYearReport.report.totalOutputValue.value == 800_000)
      let second = try #require(inputs.first { $0.base.baseID == "SAMPLE-110000-02" })
      #expect(!second.hasReport)

      let fromOperator = await code {
        try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("operator:ops")).listAssessmentInputs(request) { response in
          for try await _ in response.messages {}
        }
      }
      #expect(fromOperator == .permissionDenied)

      // A signed head covering both reports, signed on demand (no head had been signed yet).
      let head = try await relay.signTreeHead(Ndrc_Hitech_V1_SignTreeHeadRequest())
      #expect(head.treeSize == 2 && UInt64(first.receipt.logIndex) < head.treeSize)
      let ring = LogKeyRing([.init(key: harness.signingKey.verifyingKey, retired: false)])
      #expect(LogProofCheck.signedHead(head, keys: ring).isSuccess)
      // Asked again with nothing new: the same head.
      #expect(try await relay.signTreeHead(Ndrc_Hitech_V1_SignTreeHeadRequest()) == head)
      let fromReporter = await code {
        try await Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("110000")).signTreeHead(Ndrc_Hitech_V1_SignTreeHeadRequest())
      }
      #expect(fromReporter == .permissionDenied)
    }
  }
}

extension Result {
  var isSuccess: Bool {
    if case .success = self { true } else { false }
  }
}
