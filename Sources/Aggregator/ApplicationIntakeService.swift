import AggregatorStore
import DaemonSupport
import Foundation
public import GRPCCore
import HiTechDomain
public import HiTechSchema
import Logging
import SwiftProtobuf
import ZeroMQTransport

/// The aggregator's `ndrc.hitech.v1.ApplicationIntake` service (proto-schemas/APPLICATIONS.md):
/// a reporter's node files applications and their corrections, reads and withdraws its own.
///
/// File: authenticate (the CURVE identity, never a message field), check the envelope, validate
/// with ``ApplicationValidator`` (the registry answers for an upgraded base), then store through
/// the ``ApplicationStore`` (deduplication and revisions as for reports) and answer only after
/// the commit. Every failure is turned into a gRPC status here, once.
public struct ApplicationIntakeService: Ndrc_Hitech_V1_ApplicationIntake.SimpleServiceProtocol {
  let store: any ApplicationStore & RegistryStore
  let logger: Logger

  public init(store: any ApplicationStore & RegistryStore, logger: Logger) {
    self.store = store
    self.logger = logger
  }

  // MARK: - RPCs

  public func file(
    request: Ndrc_Hitech_V1_ApplicationSubmission, context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ApplicationReceipt {
    let reporter = try Self.reporter(context)
    let checked = try await check(request, reporter: reporter)
    if checked.findings.contains(where: { $0.severity == .error }) {
      throw Self.rejection(request, reporter: reporter, findings: checked.findings, hash: checked.hash)
    }
    let filing = try Self.filing(request, reporter: reporter, hash: checked.hash)
    let outcome = try await ApplicationRecords.storeCall { try await store.fileApplication(filing) }
    switch outcome {
    case .accepted(let receipt), .duplicate(let receipt), .replayed(let receipt):
      logger.info("application filed", metadata: [
        "reporter.code": "\(reporter)", "application.id": "\(receipt.applicationId)",
        "application.revision": "\(receipt.revision)", "receipt.status": "\(receipt.status.rawValue)",
      ])
      var answer = Ndrc_Hitech_V1_ApplicationReceipt(receipt)
      if case .accepted = outcome {
        answer.findings = checked.findings.map(Ndrc_Hitech_V1_Finding.init)
        if !checked.findings.isEmpty { answer.status = .acceptedWithWarnings }
      }
      return answer
    case .conflict(let conflict):
      let code: RPCError.Code =
        switch conflict.code {
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .invalidArgument: .invalidArgument
        }
      throw RPCError(code: code, message: "\(conflict.ruleCode): \(conflict.message)")
    }
  }

  public func check(
    request: Ndrc_Hitech_V1_ApplicationSubmission, context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ValidationResult {
    let reporter = try Self.reporter(context)
    let checked = try await check(request, reporter: reporter)
    var result = Ndrc_Hitech_V1_ValidationResult()
    result.submissionID = request.submissionID
    result.valid = !checked.findings.contains { $0.severity == .error }
    result.findings = checked.findings.map(Ndrc_Hitech_V1_Finding.init)
    result.contentSha256 = Data(checked.hash)
    result.predictedStatus = !result.valid ? .rejected : (checked.findings.isEmpty ? .accepted : .acceptedWithWarnings)
    return result
  }

  public func getApplication(
    request: Ndrc_Hitech_V1_GetApplicationRequest, context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ApplicationRecord {
    let reporter = try Self.reporter(context)
    let found: StoredApplication? = try await ApplicationRecords.storeCall {
      switch request.key {
      case .applicationID(let id): try await store.application(id: id)
      case .applicationRef(let ref): try await store.application(reporterCode: reporter, applicationRef: ref)
      case nil: nil
      }
    }
    guard let application = found, application.reporterCode == reporter else {
      throw RPCError(code: .notFound, message: "R-APP-UNKNOWN: no such application of reporter \(reporter)")
    }
    return try await ApplicationRecords.record(application, store: store, withAttachments: true)
  }

  public func listApplications(
    request: Ndrc_Hitech_V1_ListApplicationsRequest, context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ListApplicationsResponse {
    let reporter = try Self.reporter(context)
    let states = request.statuses.compactMap(ApplicationState.init)
    let applications = try await ApplicationRecords.storeCall {
      try await store.applications(
        callYear: request.callYear == 0 ? nil : Int(request.callYear), reporterCode: reporter, states: states)
    }
    var response = Ndrc_Hitech_V1_ListApplicationsResponse()
    for application in applications {
      response.applications.append(try await ApplicationRecords.record(application, store: store, withAttachments: false))
    }
    return response
  }

  public func withdraw(
    request: Ndrc_Hitech_V1_WithdrawApplicationRequest, context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ApplicationRecord {
    let reporter = try Self.reporter(context)
    let reason = request.reason.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !reason.isEmpty, reason.count <= 2000 else {
      throw RPCError(code: .invalidArgument, message: "R-REQUIRED reason: say why, 1..2000 characters")
    }
    let application = try await ApplicationRecords.storeCall {
      try await store.withdrawApplication(id: request.applicationID, reporterCode: reporter, reason: reason, actor: reporter)
    }
    return try await ApplicationRecords.record(application, store: store, withAttachments: false)
  }

  // MARK: - Checks

  struct Checked {
    var hash: [UInt8]
    var findings: [Finding]
  }

  /// The envelope's checks (thrown as their status), then the findings of the rule set.
  func check(_ request: Ndrc_Hitech_V1_ApplicationSubmission, reporter: String) async throws -> Checked {
    guard request.schemaVersion == .v1 else {
      throw RPCError(code: .invalidArgument, message: "R-SCHEMA-VERSION schema_version: this aggregator reads SCHEMA_VERSION_V1")
    }
    guard EnvelopeRule.isValidSubmissionID(request.submissionID) else {
      throw RPCError(code: .invalidArgument, message: "R-SUBMISSION-ID submission_id: 1..64 characters of [A-Za-z0-9._-]")
    }
    guard EnvelopeRule.isValidSubmissionID(request.applicationRef) else {
      throw RPCError(code: .invalidArgument, message: "R-APP-REF application_ref: 1..64 characters of [A-Za-z0-9._-]")
    }
    guard request.reporterCode.isEmpty || request.reporterCode == reporter else {
      throw RPCError(
        code: .permissionDenied,
        message: "R-REPORTER-MISMATCH reporter_code: \(request.reporterCode) is not the authenticated reporter \(reporter)")
    }
    guard (1000...9999).contains(request.callYear) else {
      throw RPCError(code: .invalidArgument, message: "R-REQUEST-INVALID call_year: \(request.callYear) is not a year")
    }
    let hash: [UInt8]
    do {
      hash = try request.computedContentHash()
    } catch {
      throw RPCError(code: .invalidArgument, message: "R-REQUEST-INVALID application: cannot be encoded (\(error))")
    }
    guard request.contentSha256.isEmpty || [UInt8](request.contentSha256) == hash else {
      throw RPCError(
        code: .invalidArgument,
        message: "R-CONTENT-HASH-MISMATCH content_sha256: not the SHA-256 of the application's deterministic encoding")
    }
    var context = ApplicationValidator.Context(reporterCode: reporter)
    if request.application.kind == .upgradeToNational && !request.application.upgradesBaseID.isEmpty {
      let base = try await ApplicationRecords.storeCall { try await store.base(id: request.application.upgradesBaseID) }
      context.upgradeBase =
        base.map { .found(reporterCode: $0.reporterCode, provincial: $0.level == .provincial, active: $0.status == .active) }
        ?? .missing
    }
    let findings = ApplicationValidator.validate(request, context: context)
    if let notOwned = findings.first(where: { $0.ruleCode == "R-APP-UPGRADE-NOT-OWNED" }) {
      throw RPCError(code: .permissionDenied, message: "R-APP-UPGRADE-NOT-OWNED \(notOwned.message)")
    }
    return Checked(hash: hash, findings: findings)
  }

  static func rejection(
    _ request: Ndrc_Hitech_V1_ApplicationSubmission, reporter: String, findings: [Finding], hash: [UInt8]
  ) -> RPCError {
    var receipt = Ndrc_Hitech_V1_ApplicationReceipt()
    receipt.submissionID = request.submissionID
    receipt.applicationRef = request.applicationRef
    receipt.reporterCode = reporter
    receipt.callYear = request.callYear
    receipt.status = .rejected
    receipt.findings = findings.map(Ndrc_Hitech_V1_Finding.init)
    receipt.contentSha256 = Data(hash)
    var metadata: Metadata = [:]
    if let bytes: [UInt8] = try? receipt.serializedBytes() { metadata.addBinary(bytes, forKey: "hitech-receipt-bin") }
    let listed = findings.filter { $0.severity == .error }.map { "\($0.ruleCode) \($0.fieldPath): \($0.message)" }
    return RPCError(
      code: .invalidArgument,
      message: "Application \(request.applicationRef) (submission \(request.submissionID)) was rejected; correct it and file it "
        + "again under a new submission id: " + listed.joined(separator: "; "),
      metadata: metadata)
  }

  /// The store's view of a checked submission.
  static func filing(_ request: Ndrc_Hitech_V1_ApplicationSubmission, reporter: String, hash: [UInt8]) throws -> ApplicationFiling {
    let application = request.application
    let base = application.base
    return ApplicationFiling(
      submissionId: request.submissionID, reporterCode: reporter, applicationRef: request.applicationRef,
      callYear: Int(request.callYear), revision: Int(request.revision), replacesRevision: Int(request.replacesRevision),
      kind: application.kind == .upgradeToNational ? .upgradeToNational : .newNationalBase,
      upgradesBaseId: application.upgradesBaseID,
      proposedBase: ProposedBaseRecord(
        nameZh: base.nameZh, nameEn: base.nameEn, kind: base.kind == .comprehensive ? .comprehensive : .specialized,
        fields: base.fields.compactMap { Field($0)?.rawValue }, cityCode: base.cityCode, cityNameZh: base.cityNameZh),
      contentSHA256: hash, bytes: try request.serializedBytes())
  }

  static func reporter(_ context: ServerContext) throws -> String {
    guard case .reporter(let code) = try CallerIdentity.of(context) else {
      throw RPCError(
        code: .permissionDenied, message: "only reporters' nodes file applications; the evaluating office uses ApplicationOffice")
    }
    return code
  }
}
