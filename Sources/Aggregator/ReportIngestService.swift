import AggregatorStore
import DaemonSupport
import HiTechDomain
import Foundation
public import GRPCCore
public import HiTechSchema
import Logging
import SwiftProtobuf
public import TransparencyLog
import ZeroMQTransport

/// The aggregator's `ndrc.hitech.v1.ReportIngest` service.
///
/// Submit: authenticate (the CURVE identity the transport established, never a message
/// field), authorise (only the reporter's own bases), validate with the shared rule set,
/// deduplicate and store durably (group commit), and only then answer with the receipt.
/// Every failure is turned into a gRPC status here, once.
public struct ReportIngestService: Ndrc_Hitech_V1_ReportIngest.SimpleServiceProtocol {
  /// The tunable parts of the rule set.
  public struct Rules: Sendable, Hashable {
    /// Year-on-year changes beyond this percentage are warnings.
    public var yearOnYearJumpPercent: Int

    public init(yearOnYearJumpPercent: Int = 300) {
      self.yearOnYearJumpPercent = yearOnYearJumpPercent
    }
  }

  let database: any IngestStore
  /// The registry and rounds in memory, checked against the store's registry generation on
  /// every call (so a change made by any process sharing the store is seen at once).
  let registry: RegistryReadModel
  let rules: Rules
  let logger: Logger
  let now: @Sendable () -> Int64
  let metrics: IngestMetrics
  /// Rung after every stored outcome, to wake this process's WatchArrivals streams.
  let arrivalBell: NoticeBell?
  /// Signs every receipt's attestation (RECEIPTS.md); nil sends receipts unsigned.
  let signer: LogSigningKey?

  public init(
    database: any IngestStore,
    rules: Rules = Rules(),
    logger: Logger,
    now: @escaping @Sendable () -> Int64 = AggregatorDatabase.systemNowMicros,
    metrics: IngestMetrics = .none,
    arrivalBell: NoticeBell? = nil,
    signer: LogSigningKey? = nil
  ) {
    self.database = database
    self.registry = RegistryReadModel(store: database)
    self.rules = rules
    self.logger = logger
    self.now = now
    self.metrics = metrics
    self.arrivalBell = arrivalBell
    self.signer = signer
  }

  // MARK: - RPCs

  public func submit(
    request: Ndrc_Hitech_V1_Submission,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_Receipt {
    let reporter = try authenticatedReporter(context)
    let started = ContinuousClock.now
    var outcomeLabel = "refused"  // thrown before the store: envelope, authorisation, round
    defer { metrics.recordSubmission(reporter: reporter, outcome: outcomeLabel, durationNanoseconds: Self.nanoseconds(since: started)) }
    // Metadata is built only for a line that is logged (the hot path logs nothing at info).
    func metadata(_ more: Logger.Metadata = [:]) -> Logger.Metadata {
      more.merging(["reporter.code": "\(reporter)", "submission.id": "\(request.submissionID)"]) { $1 }
    }

    let checked = try await check(request, reporter: reporter)
    let ingest = IngestRequest(
      submissionId: request.submissionID,
      reporterCode: reporter,
      baseId: request.baseID,
      reportYear: Int(request.reportYear),
      revision: Int(request.revision),
      replacesRevision: Int(request.replacesRevision),
      contentSHA256: checked.contentHash,
      originalBytes: checked.originalBytes,
      status: checked.status,
      late: checked.late,
      findings: checked.findings,
      explanations: request.warningOverrides.map { .init(ruleCode: $0.ruleCode, explanation: $0.explanation) },
      receivedAtMicros: now()
    )
    let outcome: IngestOutcome
    do {
      outcome = try await database.ingest(ingest)
    } catch let error as StoreError {
      outcomeLabel = "store_error"
      logger.error("the store failed; no receipt sent", metadata: metadata(["error": "\(error)"]))
      throw RPCError(
        code: error.isRetryable ? .unavailable : .internalError,
        message: "The report could not be stored (\(error.message)); nothing was stored. Retry later with the same submission id."
      )
    }
    outcomeLabel = Self.metricsOutcome(outcome)
    await arrivalBell?.ring()
    switch outcome {
    case .accepted(let receipt), .duplicate(let receipt), .replayed(let receipt):
      // The store's audit log records every stored submission; the log line is for debugging.
      logger.debug("submission answered", metadata: metadata([
        "receipt.accession": "\(receipt.accessionNumber)", "receipt.status": "\(receipt.status.rawValue)",
      ]))
      return Ndrc_Hitech_V1_Receipt(receipt, signer: signer)
    case .rejected(let receipt):
      logger.info("submission rejected", metadata: metadata(["findings": "\(receipt.findings.count)"]))
      throw Self.rejection(receipt, signer: signer)
    case .conflict(let conflict):
      logger.info("submission conflicts with what is stored", metadata: metadata(["rule": "\(conflict.ruleCode)"]))
      let code: RPCError.Code =
        switch conflict.code {
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .invalidArgument: .invalidArgument
        }
      throw RPCError(code: code, message: "\(conflict.ruleCode): \(conflict.message)")
    }
  }

  public func validateSubmission(
    request: Ndrc_Hitech_V1_Submission,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ValidationResult {
    let reporter = try authenticatedReporter(context)
    let checked = try await check(request, reporter: reporter)
    var result = Ndrc_Hitech_V1_ValidationResult()
    result.submissionID = request.submissionID
    result.valid = checked.status != .rejected
    result.findings = checked.findings.map(Ndrc_Hitech_V1_Finding.init)
    result.contentSha256 = Data(checked.contentHash)
    result.predictedStatus = Ndrc_Hitech_V1_ReceiptStatus(checked.status)
    return result
  }

  public func getReceipt(
    request: Ndrc_Hitech_V1_GetReceiptRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_Receipt {
    let reporter = try authenticatedReporter(context)
    let receipt: StoredReceipt?
    switch request.key {
    case .submissionID(let id):
      receipt = try await storeCall { try await database.receipt(submissionId: id) }
    case .accessionNumber(let number):
      receipt = try await storeCall { try await database.receipt(accessionNumber: number) }
    case nil:
      throw RPCError(code: .invalidArgument, message: "key: give submission_id or accession_number")
    }
    // Another reporter's receipt is reported as absent: its existence is not the caller's business.
    guard let receipt, receipt.reporterCode == reporter else {
      throw RPCError(code: .notFound, message: "No receipt of yours matches \(request.key.map { "\($0)" } ?? "")")
    }
    return Ndrc_Hitech_V1_Receipt(receipt, signer: signer)
  }

  public func listSubmissions(
    request: Ndrc_Hitech_V1_ListSubmissionsRequest,
    context: ServerContext
  ) async throws -> Ndrc_Hitech_V1_ListSubmissionsResponse {
    let reporter = try authenticatedReporter(context)
    guard request.reportYear > 0 else {
      throw RPCError(code: .invalidArgument, message: "report_year: required (e.g. 2025)")
    }
    let page = try await storeCall {
      try await database.submissions(
        reporterCode: reporter,
        reportYear: Int(request.reportYear),
        baseId: request.baseID.isEmpty ? nil : request.baseID,
        pageSize: request.pageSize == 0 ? 100 : Int(request.pageSize),
        pageToken: request.pageToken.isEmpty ? nil : request.pageToken
      )
    }
    var response = Ndrc_Hitech_V1_ListSubmissionsResponse()
    response.receipts = page.receipts.map { Ndrc_Hitech_V1_Receipt($0, signer: signer) }
    response.nextPageToken = page.nextPageToken ?? ""
    return response
  }

  // MARK: - Checks shared by Submit and ValidateSubmission

  struct Checked {
    var contentHash: [UInt8]
    var originalBytes: [UInt8]
    var findings: [StoredFinding]
    var status: ReceiptStatus
    var late: Bool
  }

  /// Everything Submit decides before the store: envelope, authorisation, the rule set.
  /// Throws for what is not a validation finding (wrong identity, unknown base, closed round).
  func check(_ request: Ndrc_Hitech_V1_Submission, reporter: String) async throws -> Checked {
    guard request.schemaVersion == .v1 else {
      throw RPCError(code: .invalidArgument, message: "R-SCHEMA-VERSION schema_version: this aggregator reads SCHEMA_VERSION_V1, got \(request.schemaVersion)")
    }
    guard Self.isValidSubmissionID(request.submissionID) else {
      throw RPCError(code: .invalidArgument, message: "R-SUBMISSION-ID submission_id: 1 to 64 characters of letters, digits, '-', '_' or '.'")
    }
    guard request.reporterCode.isEmpty || request.reporterCode == reporter else {
      throw RPCError(
        code: .permissionDenied,
        message: "R-REPORTER-MISMATCH reporter_code: this connection is authenticated as \(reporter), not \(request.reporterCode)"
      )
    }
    guard request.hasReport else {
      throw RPCError(code: .invalidArgument, message: "R-REQUIRED report: the submission carries no report")
    }
    let hash = try request.computedContentHash()
    guard request.contentSha256.isEmpty || Array(request.contentSha256) == hash else {
      throw RPCError(
        code: .invalidArgument,
        message: "R-CONTENT-HASH-MISMATCH content_sha256: does not match the SHA-256 of the report's deterministic encoding; the file may be damaged"
      )
    }
    let year = Int(request.reportYear)
    let known = try await storeCall { try await registry.submissionContext(baseId: request.baseID, reportYear: year) }
    guard let base = known.base else {
      throw RPCError(code: .notFound, message: "R-BASE-EXISTS base_id: \(request.baseID) is not in the registry")
    }
    guard base.reporterCode == reporter else {
      throw RPCError(
        code: .permissionDenied,
        message: "R-BASE-NOT-OWNED base_id: \(request.baseID) belongs to reporter \(base.reporterCode), not to \(reporter)"
      )
    }
    let acceptance = ValidationContext.RoundAcceptance(known.round)
    switch acceptance {
    case .notOpen:
      throw RPCError(code: .failedPrecondition, message: "R-ROUND-NOT-OPEN report_year: no round accepts reports for \(year) yet")
    case .closedRefused:
      throw RPCError(
        code: .failedPrecondition,
        message: "R-ROUND-CLOSED report_year: the round for \(year) is closed and refuses late reports"
      )
    case .open, .lateAccepted:
      break
    }
    let previousReport = known.previousYearReport.flatMap { try? Ndrc_Hitech_V1_Submission(serializedBytes: $0.originalBytes).report }
    let findings = Self.findings(
      for: request, base: base, reporter: reporter, acceptance: acceptance, previousYear: previousReport, rules: rules
    )
    let hasErrors = findings.contains { $0.severity == .error }
    let hasWarnings = findings.contains { $0.severity == .warning }
    let late = acceptance == .lateAccepted
    let status: ReceiptStatus =
      hasErrors ? .rejected : late ? .acceptedLate : hasWarnings ? .acceptedWithWarnings : .accepted
    return Checked(
      contentHash: hash,
      originalBytes: try request.serializedBytes(),
      findings: findings,
      status: status,
      late: late
    )
  }

  /// A REJECTED submission: `invalidArgument` listing every finding, with the receipt in the
  /// trailing metadata `hitech-receipt-bin`.
  static func rejection(_ receipt: StoredReceipt, signer: LogSigningKey? = nil) -> RPCError {
    let listed = receipt.findings.filter { $0.severity == .error }
      .map { "\($0.ruleCode) \($0.fieldPath): \($0.message)" }
    var metadata: Metadata = [:]
    if let bytes: [UInt8] = try? Ndrc_Hitech_V1_Receipt(receipt, signer: signer).serializedBytes() {
      metadata.addBinary(bytes, forKey: "hitech-receipt-bin")
    }
    return RPCError(
      code: .invalidArgument,
      message: "Submission \(receipt.submissionId) was rejected; correct it and send it again under a new submission id: "
        + listed.joined(separator: "; "),
      metadata: metadata
    )
  }

  static func isValidSubmissionID(_ id: String) -> Bool {
    EnvelopeRule.isValidSubmissionID(id)
  }

  // MARK: - Edges

  private func authenticatedReporter(_ context: ServerContext) throws -> String {
    guard let identity = context.zeroMQPeer?.userID, !identity.isEmpty else {
      throw RPCError(
        code: .unauthenticated,
        message: "This connection carries no reporter identity: connect with CURVE and a registered key"
      )
    }
    guard case .reporter(let code) = CallerIdentity(userID: identity) else {
      throw RPCError(code: .permissionDenied, message: "only reporters' nodes submit reports; \(identity) is not a reporter")
    }
    return code
  }
}

extension ValidationContext.RoundAcceptance {
  init(_ round: RoundRecord?) {
    guard let round else {
      self = .notOpen
      return
    }
    switch round.state {
    case .planned: self = .notOpen
    case .open: self = .open
    case .closed: self = round.latePolicy == .acceptMarkLate ? .lateAccepted : .closedRefused
    case .assessed, .published: self = .closedRefused
    }
  }
}

extension ReportIngestService {
  /// The shared rule set applied to a submission, with what the store knows.
  static func findings(
    for request: Ndrc_Hitech_V1_Submission,
    base: BaseRecord,
    reporter: String,
    acceptance: ValidationContext.RoundAcceptance,
    previousYear: Ndrc_Hitech_V1_AnnualReport?,
    rules: Rules
  ) -> [StoredFinding] {
    var overrides: [String: String] = [:]
    for override in request.warningOverrides { overrides[override.ruleCode] = override.explanation }
    let context = ValidationContext(
      reporterCode: reporter,
      reportYear: Int(request.reportYear),
      base: .registered(Base(base)),
      round: acceptance,
      previousYear: previousYear.map(AnnualReport.init),
      yearOnYearJumpPercent: rules.yearOnYearJumpPercent,
      overrides: overrides
    )
    return ReportValidator.validate(AnnualReport(request.report), context: context).findings.map(StoredFinding.init)
  }
}

extension ReportIngestService {
  /// The `outcome` label of `hitech_submissions_total` for what the store did.
  static func metricsOutcome(_ outcome: IngestOutcome) -> String {
    switch outcome {
    case .accepted(let receipt): receipt.status.rawValue  // accepted, accepted_with_warnings, accepted_late
    case .rejected: "rejected"
    case .duplicate: "duplicate"
    case .replayed: "replayed"
    case .conflict: "conflict"
    }
  }

  static func nanoseconds(since start: ContinuousClock.Instant) -> Int64 {
    let elapsed = ContinuousClock.now - start
    return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
  }
}
