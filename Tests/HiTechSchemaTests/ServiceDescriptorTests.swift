import GRPCCore
import HiTechSchema
import Testing

/// The method paths are the wire contract (proto-schemas/WIRE.md carries them as the method
/// path of every call): "package.Service/Method".
@Suite("Service descriptors")
struct ServiceDescriptorTests {
  @Test("ReportIngest")
  func reportIngest() {
    typealias M = Ndrc_Hitech_V1_ReportIngest.Method
    #expect(Ndrc_Hitech_V1_ReportIngest.descriptor.fullyQualifiedService == "ndrc.hitech.v1.ReportIngest")
    #expect(M.Submit.descriptor.fullyQualifiedMethod == "ndrc.hitech.v1.ReportIngest/Submit")
    #expect(M.ValidateSubmission.descriptor.fullyQualifiedMethod == "ndrc.hitech.v1.ReportIngest/ValidateSubmission")
    #expect(M.GetReceipt.descriptor.fullyQualifiedMethod == "ndrc.hitech.v1.ReportIngest/GetReceipt")
    #expect(M.ListSubmissions.descriptor.fullyQualifiedMethod == "ndrc.hitech.v1.ReportIngest/ListSubmissions")
    #expect(M.descriptors.count == 4)
    #expect(M.descriptors.allSatisfy { $0.type == .unary })
    #expect(M.Submit.Input.self == Ndrc_Hitech_V1_Submission.self)
    #expect(M.Submit.Output.self == Ndrc_Hitech_V1_Receipt.self)
    #expect(M.ValidateSubmission.Output.self == Ndrc_Hitech_V1_ValidationResult.self)
  }

  @Test("RoundNotices")
  func roundNotices() {
    typealias M = Ndrc_Hitech_V1_RoundNotices.Method
    #expect(M.Subscribe.descriptor.fullyQualifiedMethod == "ndrc.hitech.v1.RoundNotices/Subscribe")
    #expect(M.Subscribe.descriptor.type == .serverStreaming)
    #expect(M.descriptors.count == 1)
    #expect(M.Subscribe.Output.self == Ndrc_Hitech_V1_RoundNotice.self)
  }

  @Test("ArrivalStatus")
  func arrivalStatus() {
    typealias M = Ndrc_Hitech_V1_ArrivalStatus.Method
    #expect(M.GetRoundStatus.descriptor.fullyQualifiedMethod == "ndrc.hitech.v1.ArrivalStatus/GetRoundStatus")
    #expect(M.GetRoundStatus.descriptor.type == .unary)
    #expect(M.WatchArrivals.descriptor.fullyQualifiedMethod == "ndrc.hitech.v1.ArrivalStatus/WatchArrivals")
    #expect(M.WatchArrivals.descriptor.type == .serverStreaming)
    #expect(M.ListMissing.descriptor.fullyQualifiedMethod == "ndrc.hitech.v1.ArrivalStatus/ListMissing")
    #expect(M.ListMissing.descriptor.type == .unary)
    #expect(M.descriptors.count == 3)
  }

  @Test("RoundControl")
  func roundControl() {
    typealias M = Ndrc_Hitech_V1_RoundControl.Method
    let paths = M.descriptors.map(\.fullyQualifiedMethod)
    #expect(paths == [
      "ndrc.hitech.v1.RoundControl/ListRounds",
      "ndrc.hitech.v1.RoundControl/GetRound",
      "ndrc.hitech.v1.RoundControl/UpdateRoundState",
    ])
    #expect(M.descriptors.allSatisfy { $0.type == .unary })
  }
}
