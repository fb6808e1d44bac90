import Aggregator
import Foundation
import GRPCCore
import HiTechSchema
import HiTechTestSupport
import SwiftProtobuf
import Testing
import ZeroMQTransport

@Suite("ArrivalStatus.ListMissing on the aggregator")
struct ListMissingTests {
  @Test("the missing bases of a round per reporter, with the deadline and the last reminder", .timeLimit(.minutes(2)))
  func missingBases() async throws {
    let harness = try await RelayHarness()
    try await harness.run { client in
      let relay = Ndrc_Hitech_V1_RoundRelay.Client(wrapping: client("coordinator:central"))
      let status = Ndrc_Hitech_V1_ArrivalStatus.Client(wrapping: client("operator:ops"))
      let round = RelayHarness.round(.open)
      _ = try await relay.applyRoundStep(RelayHarness.step("2025/opened", round, .opened(.init())))
      // 110000 reports both bases; 440300 one of two.
      let ingest = { Ndrc_Hitech_V1_ReportIngest.Client(wrapping: client($0)) }
      for base in ["SAMPLE-110000-01", "SAMPLE-110000-02"] {
        _ = try await ingest("110000").submit(try SampleSubmissions.submission(base: base))
      }
      _ = try await ingest("440300").submit(try SampleSubmissions.submission(base: "SAMPLE-440300-01"))

      var request = Ndrc_Hitech_V1_ListMissingRequest()
      request.reportYear = 2025
      let before = try await status.listMissing(request)
      #expect(before.reportYear == 2025)
      #expect(before.deadline == round.deadline)
      // Every reporter with an expected base still missing (210200's only base is withdrawn).
      #expect(before.reporters.map(\.reporterCode) == ["310000", "330200", "370200", "420100", "440000", "440300", "510000", "660000"])
      let for440300 = try #require(before.reporters.first { $0.reporterCode == "440300" })
      #expect(for440300.missingBaseIds == ["SAMPLE-440300-02"])
      #expect(!for440300.nameZh.isEmpty)
      #expect(!for440300.hasLastRemindedAt)
      #expect(before.reporters.first { $0.reporterCode == "310000" }?.missingBaseIds == ["SAMPLE-310000-01", "SAMPLE-310000-02"])
      #expect(before.missingBases == Int64(before.reporters.map(\.missingBaseIds.count).reduce(0, +)))
      #expect(before.missingBases == 9)

      // After a reminder, the reminded reporters say when.
      var reminder = Ndrc_Hitech_V1_ReminderAnnouncement()
      reminder.beforeDeadline = Google_Protobuf_Duration(seconds: 14 * 86_400)
      _ = try await relay.applyRoundStep(RelayHarness.step("2025/reminder/1209600s", round, .reminder(reminder)))
      request.reporterCode = "440300"
      let after = try await status.listMissing(request)
      #expect(after.reporters.map(\.reporterCode) == ["440300"])
      #expect(after.reporters.first?.hasLastRemindedAt == true)
      #expect(after.missingBases == 1)

      // A reporter's node sees its own; nothing for a complete reporter.
      let own = Ndrc_Hitech_V1_ArrivalStatus.Client(wrapping: client("110000"))
      var ownRequest = Ndrc_Hitech_V1_ListMissingRequest()
      ownRequest.reportYear = 2025
      let complete = try await own.listMissing(ownRequest)
      #expect(complete.reporters.isEmpty)
      #expect(complete.missingBases == 0)
      ownRequest.reporterCode = "440300"
      #expect(await code { try await own.listMissing(ownRequest) } == .permissionDenied)

      var bad = Ndrc_Hitech_V1_ListMissingRequest()
      #expect(await code { try await status.listMissing(bad) } == .invalidArgument)
      bad.reportYear = 2030
      #expect(await code { try await status.listMissing(bad) } == .notFound)
      bad.reportYear = 2025
      bad.reporterCode = "999999"
      #expect(await code { try await status.listMissing(bad) } == .notFound)
    }
  }
}
