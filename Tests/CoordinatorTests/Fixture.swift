import Assessment
import Foundation
import GRPCCore
import HiTechSchema
import Logging
import SwiftProtobuf
import Synchronization
import TransparencyLog

@testable import Coordinator

/// A fake aggregator: applies each step id once (like RoundRelay), remembers every request,
/// serves fixed assessment inputs, and fails on command.
final class FakeAggregator: AggregatorLink {
  /// How a step fails once.
  enum Failure: Sendable {
    /// The call never reached the aggregator (the coordinator "crashed" before sending).
    case beforeApplying(RPCError)
    /// The aggregator applied the step but the answer was lost.
    case afterApplying(RPCError)
  }

  struct State {
    var effects: [String: Int] = [:]
    var order: [String] = []
    var requests: [Ndrc_Hitech_V1_ApplyRoundStepRequest] = []
    var failures: [String: Failure] = [:]
    var inputCalls = 0
    var sequence: Int64 = 0
    /// The size of the tree head SignTreeHead answers with; nil: one leaf per input.
    var treeSize: UInt64?
  }

  let state = Mutex(State())
  let inputs: [Ndrc_Hitech_V1_AssessmentInput]

  init(inputs: [Ndrc_Hitech_V1_AssessmentInput] = Fixture.inputs()) {
    self.inputs = inputs
  }

  func fail(_ stepId: String, _ failure: Failure) {
    state.withLock { $0.failures[stepId] = failure }
  }

  var order: [String] { state.withLock { $0.order } }
  var effects: [String: Int] { state.withLock { $0.effects } }
  var requests: [Ndrc_Hitech_V1_ApplyRoundStepRequest] { state.withLock { $0.requests } }

  func applyRoundStep(_ request: Ndrc_Hitech_V1_ApplyRoundStepRequest) async throws -> Ndrc_Hitech_V1_ApplyRoundStepResponse {
    try state.withLock { state in
      let failure = state.failures.removeValue(forKey: request.stepID)
      if case .beforeApplying(let error) = failure { throw error }
      state.requests.append(request)
      var response = Ndrc_Hitech_V1_ApplyRoundStepResponse()
      if state.effects[request.stepID] != nil {
        response.alreadyApplied = true
      } else {
        state.effects[request.stepID] = 1
        state.order.append(request.stepID)
        state.sequence += 1
        response.firstNoticeSequence = state.sequence
        response.lastNoticeSequence = state.sequence
        response.addressedReporterCodes = request.announcement == nil ? [] : ["110000", "440300"]
      }
      if case .afterApplying(let error) = failure { throw error }
      return response
    }
  }

  func assessmentInputs(reportYear: Int) async throws -> [Ndrc_Hitech_V1_AssessmentInput] {
    state.withLock { $0.inputCalls += 1 }
    return inputs
  }

  /// A head of `treeSize` leaves (default: one per input; each reported input is a leaf below).
  func signTreeHead() async throws -> Ndrc_Hitech_V1_SignedTreeHead {
    Fixture.treeHead(size: state.withLock { $0.treeSize } ?? UInt64(inputs.count))
  }

  func setTreeSize(_ size: UInt64?) {
    state.withLock { $0.treeSize = size }
  }
}

enum Fixture {
  static let logger = Logger(label: "test.coordinator") { _ in SwiftLogNoOpLogHandler() }

  static func time(_ text: String) -> Date { ShanghaiTime.parse(text)! }

  /// The 2025 round: opens 2026-01-05, reminders 14 and 3 days before the 2026-03-31 deadline.
  static func schedule(
    _ year: Int = 2025, reminders: [Int64] = [14 * 86_400, 3 * 86_400], latePolicy: LatePolicy = .acceptMarkLate
  ) -> RoundSchedule {
    let next = year + 1
    return RoundSchedule(
      reportYear: year,
      opensAt: time("\(next)-01-05T09:00"),
      deadline: time("\(next)-03-31T17:00"),
      reminderOffsets: reminders,
      latePolicy: latePolicy,
      assessmentAt: time("\(next)-05-15T09:00"),
      publishAt: time("\(next)-06-30T09:00"),
      nationalHighTechOutputTenThousandYuan: 2_000_000_000)
  }

  static func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "coordinator-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Two reported bases in information and one that did not report.
  static func inputs() -> [Ndrc_Hitech_V1_AssessmentInput] {
    func amount(_ value: Int64) -> Ndrc_Hitech_V1_Amount {
      var amount = Ndrc_Hitech_V1_Amount()
      amount.value = value
      amount.unit = .cnyTenThousand
      return amount
    }
    func input(_ id: String, reporter: String, output: Int64?) -> Ndrc_Hitech_V1_AssessmentInput {
      var input = Ndrc_Hitech_V1_AssessmentInput()
      input.base.baseID = id
      input.base.nameZh = "基地 \(id)"
      input.base.reporterCode = reporter
      input.base.kind = .specialized
      input.base.fields = [.information]
      input.base.level = .national
      input.base.status = .active
      if let output {
        var report = Ndrc_Hitech_V1_AnnualReport()
        report.totalOutputValue = amount(output)
        report.valueAdded = amount(output / 3)
        report.rdExpenditure = amount(output / 20)
        report.highTechProductOutputValue = amount(output / 2)
        report.totalProductOutputValue = amount(output)
        report.patentsGranted = output / 10_000
        report.employees = 10_000
        report.rdAndEngineeringStaff = output / 1_000
        input.report.report = report
        input.report.baseID = id
        input.receipt.accessionNumber = "HT-2025-\(id)"
        input.receipt.revision = 1
        input.receipt.logIndex = id == "HTB-110000-INF" ? 0 : 1
        input.receipt.attestation = Data("attestation of \(id)".utf8)
      }
      return input
    }
    return [
      input("HTB-110000-INF", reporter: "110000", output: 12_000_000),
      input("HTB-440300-INF", reporter: "440300", output: 30_000_000),
      input("HTB-440300-OCN", reporter: "440300", output: nil),
    ]
  }

  /// A tree head as the aggregator signs it (the signature is not checked by the coordinator).
  static func treeHead(size: UInt64) -> Ndrc_Hitech_V1_SignedTreeHead {
    let head = TreeHead(
      treeSize: size, rootHash: MerkleHash(Array(repeating: 0xAB, count: 32))!,
      timestamp: LogTimestamp(seconds: 1_767_225_600, nanos: 5))
    var signed = Ndrc_Hitech_V1_SignedTreeHead()
    signed.treeSize = size
    signed.rootHash = Data(head.rootHash.bytes)
    signed.timestamp = Google_Protobuf_Timestamp(seconds: head.timestamp.seconds, nanos: head.timestamp.nanos)
    signed.encoded = Data(head.encoded)
    signed.signature = Data(repeating: 7, count: 64)
    signed.signingKeyID = "test-key"
    return signed
  }

  /// A store, an engine and a clock in a fresh folder.
  struct Rig {
    let directory: String
    let clock: ManualCoordinatorClock
    let link: FakeAggregator
    var schedules: [RoundSchedule]
    var catchUpWindow: TimeInterval = 7 * 86_400
    var store: any CoordinatorStore
    var engine: RoundCoordinator
    /// The store's location: the SQLite file in `directory`, or another (a PostgreSQL database).
    let location: String

    init(
      schedules: [RoundSchedule], now: Date, link: FakeAggregator = FakeAggregator(), catchUpWindow: TimeInterval = 7 * 86_400,
      store location: String? = nil
    ) async throws {
      directory = Fixture.temporaryDirectory()
      clock = ManualCoordinatorClock(now)
      self.link = link
      self.schedules = schedules
      self.catchUpWindow = catchUpWindow
      self.location = location ?? "sqlite:" + directory + "/coordinator.sqlite"
      store = try await CoordinatorStores.open(self.location, logger: Fixture.logger)
      engine = RoundCoordinator(
        store: store, link: link, clock: clock,
        settings: .init(catchUpWindow: catchUpWindow, publishDirectory: directory + "/published", schedules: schedules),
        logger: Fixture.logger)
      try await engine.start()
    }

    var publishDirectory: String { directory + "/published" }

    /// Simulates a crash and a restart: the store is closed and opened again, a new engine starts.
    mutating func restart() async throws {
      try await store.close()
      store = try await CoordinatorStores.open(location, logger: Fixture.logger)
      engine = RoundCoordinator(
        store: store, link: link, clock: clock,
        settings: .init(catchUpWindow: catchUpWindow, publishDirectory: publishDirectory, schedules: schedules),
        logger: Fixture.logger)
      try await engine.start()
    }

    /// Moves the clock to `date` and runs the calendar once.
    @discardableResult
    func run(at date: Date) async -> RoundCoordinator.Report {
      clock.set(date)
      return await engine.tick()
    }

    func published() throws -> [String: Data] {
      var files: [String: Data] = [:]
      for name in try FileManager.default.contentsOfDirectory(atPath: publishDirectory) where !name.hasPrefix(".") {
        files[name] = try Data(contentsOf: URL(fileURLWithPath: publishDirectory + "/" + name))
      }
      return files
    }
  }

  /// The steps of the standard 2025 round, in calendar order, with their due times.
  static func steps(_ year: Int = 2025) -> [(id: String, due: Date)] {
    let s = schedule(year)
    return [
      ("\(year)/opened", s.opensAt),
      ("\(year)/reminder/1209600s", s.reminderDue(1_209_600)),
      ("\(year)/reminder/259200s", s.reminderDue(259_200)),
      ("\(year)/closed", s.deadline),
      ("\(year)/assessed", s.assessmentAt),
      ("\(year)/published", s.publishAt),
    ]
  }
}
