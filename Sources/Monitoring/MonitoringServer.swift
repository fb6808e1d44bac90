public import AggregatorStore
import Foundation
import HiTechDomain
public import Hummingbird
public import Logging
public import Metrics
public import Prometheus
public import ServiceLifecycle

/// The operators' web dashboard, its JSON API, `/metrics` and `/healthz`, served over HTTP by
/// Hummingbird (loopback by default). A swift-service-lifecycle `Service`: add it to the
/// daemon's `ServiceGroup`; it stops on graceful shutdown.
///
/// It only reads the store. Routes:
///
/// - `GET /`: redirects to the newest round's board.
/// - `GET /rounds/{year}` (`?reporter=&state=&field=`): the board: reporters × state, each base
///   with its state and receipt, the arrivals-over-time chart, rejections with findings, late
///   submissions, recent audit events. `GET /rounds/{year}/live`: the board alone (HTML), which
///   the page's script fetches every few seconds.
/// - `GET /api/v1/rounds`, `/api/v1/rounds/{year}`, `/api/v1/rounds/{year}/status`,
///   `/api/v1/rounds/{year}/rejections`, `/api/v1/rounds/{year}/late`,
///   `/api/v1/rounds/{year}/arrivals`, `/api/v1/audit?limit=`: JSON (see ``RoundStatusJSON``
///   and its siblings). 404 and 400 answer an ``ErrorJSON`` naming what was not found or the bad
///   parameter.
/// - `GET /metrics`: Prometheus text of `registry`, with the gauges refreshed from the store.
/// - `GET /healthz`: 200 "ok" when the store answers a read, else 503.
public struct MonitoringServer: Service {
  public let database: any ReportStore
  public let host: String
  public let port: Int
  public let registry: PrometheusCollectorRegistry
  public let metricsFactory: any MetricsFactory
  public let logger: Logger
  let nowMicros: @Sendable () -> Int64
  let onListening: (@Sendable (_ port: Int) async -> Void)?

  /// - Parameters:
  ///   - database: the aggregator's store (the daemon's own instance; only read).
  ///   - host: the address to listen on; loopback by default. Port 0 picks a free port (see
  ///     `onListening`).
  ///   - registry: the registry to serve at `/metrics` (``MonitoringMetrics/bootstrap()`` in
  ///     the daemon).
  ///   - metricsFactory: the factory the scrape-time gauges are made with; by default
  ///     ``MonitoringMetrics/makeFactory(registry:)`` over `registry`.
  ///   - nowMicros: the clock (deadline checks, "as of", the connected-nodes window).
  ///   - onListening: called with the bound port once the server listens.
  public init(
    database: any ReportStore,
    host: String = "127.0.0.1",
    port: Int = 8480,
    registry: PrometheusCollectorRegistry,
    metricsFactory: (any MetricsFactory)? = nil,
    logger: Logger,
    nowMicros: @escaping @Sendable () -> Int64 = AggregatorDatabase.systemNowMicros,
    onListening: (@Sendable (_ port: Int) async -> Void)? = nil
  ) {
    self.database = database
    self.host = host
    self.port = port
    self.registry = registry
    self.metricsFactory = metricsFactory ?? MonitoringMetrics.makeFactory(registry: registry)
    self.logger = logger
    self.nowMicros = nowMicros
    self.onListening = onListening
  }

  public func run() async throws {
    let onListening = self.onListening
    let logger = self.logger
    let host = self.host
    let app = Application(
      router: Self.buildRouter(
        database: database, registry: registry, metricsFactory: metricsFactory, logger: logger, nowMicros: nowMicros),
      configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "hitech-monitoring"),
      onServerRunning: { channel in
        let bound = channel.localAddress?.port ?? 0
        logger.info("dashboard listening", metadata: ["http.address": "http://\(host):\(bound)/"])
        await onListening?(bound)
      },
      logger: logger
    )
    try await app.run()
  }

  /// The routes, without a socket (for HummingbirdTesting's `.router` framework, or to mount in
  /// another Hummingbird application).
  public static func buildRouter(
    database: any ReportStore,
    registry: PrometheusCollectorRegistry,
    metricsFactory: (any MetricsFactory)? = nil,
    logger: Logger,
    nowMicros: @escaping @Sendable () -> Int64 = AggregatorDatabase.systemNowMicros
  ) -> Router<BasicRequestContext> {
    let routes = MonitoringRoutes(
      database: database, registry: registry,
      factory: metricsFactory ?? MonitoringMetrics.makeFactory(registry: registry), logger: logger, nowMicros: nowMicros)
    let router = Router(context: BasicRequestContext.self)
    router.get("/") { _, _ in await routes.home() }
    router.get("/rounds/:year") { request, context in await routes.board(request, context, live: false) }
    router.get("/rounds/:year/live") { request, context in await routes.board(request, context, live: true) }
    router.get("/api/v1/rounds") { _, _ in await routes.api { try await routes.roundsJSON() } }
    router.get("/api/v1/rounds/:year") { _, context in
      await routes.api { try await RoundJSON(routes.round(context)) }
    }
    router.get("/api/v1/rounds/:year/status") { request, context in
      await routes.api { try await routes.statusJSON(request, context) }
    }
    router.get("/api/v1/rounds/:year/rejections") { request, context in
      await routes.api { try await routes.rejectionsJSON(request, context) }
    }
    router.get("/api/v1/rounds/:year/late") { request, context in
      await routes.api { try await routes.lateJSON(request, context) }
    }
    router.get("/api/v1/rounds/:year/arrivals") { request, context in
      await routes.api { try await routes.arrivalsJSON(request, context).json }
    }
    router.get("/api/v1/audit") { request, _ in await routes.api { try await routes.auditJSON(request) } }
    router.get("/api/**") { request, _ in
      routes.apiError(
        MonitoringError(status: .notFound, code: "NOT_FOUND", message: "no API route \(request.uri.path)", parameter: "path"))
    }
    router.get("/metrics") { _, _ in await routes.metrics() }
    router.get("/healthz") { _, _ in await routes.health() }
    return router
  }
}

/// A failure answered as 400 or 404 (or 500), naming the parameter at fault.
struct MonitoringError: Error {
  var status: HTTPResponse.Status
  var code: String
  var message: String
  var parameter: String?

  static func badParameter(_ parameter: String, _ message: String) -> MonitoringError {
    MonitoringError(status: .badRequest, code: "INVALID_ARGUMENT", message: "\(parameter): \(message)", parameter: parameter)
  }

  static func notFound(_ parameter: String, _ message: String) -> MonitoringError {
    MonitoringError(status: .notFound, code: "NOT_FOUND", message: message, parameter: parameter)
  }
}

/// The handlers behind ``MonitoringServer/buildRouter(database:registry:metricsFactory:logger:nowMicros:)``.
struct MonitoringRoutes: Sendable {
  let database: any ReportStore
  let registry: PrometheusCollectorRegistry
  let factory: any MetricsFactory
  let logger: Logger
  let nowMicros: @Sendable () -> Int64

  static let htmlType = "text/html; charset=utf-8"
  static let jsonType = "application/json; charset=utf-8"

  // MARK: Pages

  func home() async -> Response {
    do {
      guard let newest = try await database.rounds().first else {
        return Self.html(DashboardPage.noRounds())
      }
      return Response(status: .seeOther, headers: [.location: "/rounds/\(newest.reportYear)"])
    } catch {
      return internalError(error, html: true)
    }
  }

  /// How long `/rounds/{year}/live?after=SEQUENCE` holds a request while the arrival log has
  /// nothing after SEQUENCE (then 204), and how often it looks meanwhile.
  static let liveHold: Duration = .seconds(1)
  static let livePoll: Duration = .milliseconds(150)

  func board(_ request: Request, _ context: BasicRequestContext, live: Bool) async -> Response {
    do {
      if live, let text = request.uri.queryParameters.get("after") {
        guard let after = Int64(text), after >= 0 else {
          throw MonitoringError.badParameter("after", "a sequence of the arrival log (0 or more), got \"\(text)\"")
        }
        // Follows the arrival log: answers as soon as it moves past `after`, else 204 after a
        // second (the page's script asks again at once).
        let clock = ContinuousClock()
        let until = clock.now.advanced(by: Self.liveHold)
        while try await database.lastArrivalSequence() <= after {
          guard clock.now < until else { return Response(status: .noContent, headers: [.cacheControl: "no-store"]) }
          try await Task.sleep(for: Self.livePoll)
        }
      }
      let data = try await boardData(request, context)
      return Self.html(live ? DashboardPage.fragment(data) : DashboardPage.page(data))
    } catch let error as MonitoringError {
      let rounds = (try? await database.rounds()) ?? []
      let body = error.status == .notFound ? DashboardPage.notFound(error.message, rounds: rounds) : DashboardPage.badRequest(error.message)
      return Self.html(body, status: error.status)
    } catch {
      return internalError(error, html: true)
    }
  }

  func boardData(_ request: Request, _ context: BasicRequestContext) async throws -> BoardData {
    let round = try await round(context)
    let filter = try await filter(request)
    // The log's position first: whatever is read after it is at least as new.
    let sequence = try await database.lastArrivalSequence()
    let (whole, status, fieldsByBase) = try await filteredStatus(round, filter)
    let rounds = try await database.rounds()
    let reporters = try await database.reporters().filter(\.active)
    return BoardData(
      sequence: sequence,
      steps: try await database.roundSteps(reportYear: round.reportYear),
      round: round,
      rounds: rounds,
      reporters: reporters,
      status: status,
      fieldsByBase: fieldsByBase,
      filter: filter,
      arrivals: try await series(round, status: whole, reporterCode: filter.reporterCode),
      rejections: try await database.rejectedSubmissions(reportYear: round.reportYear, reporterCode: filter.reporterCode, limit: 100),
      late: try await database.lateSubmissions(reportYear: round.reportYear, reporterCode: filter.reporterCode, limit: 100),
      audit: try await database.recentAuditEntries(limit: 20),
      nowMicros: nowMicros())
  }

  // MARK: JSON

  func roundsJSON() async throws -> RoundsJSON {
    RoundsJSON(rounds: try await database.rounds().map(RoundJSON.init))
  }

  func statusJSON(_ request: Request, _ context: BasicRequestContext) async throws -> RoundStatusJSON {
    let round = try await round(context)
    let filter = try await filter(request)
    let (_, status, fieldsByBase) = try await filteredStatus(round, filter)
    return RoundStatusJSON(round: round, status: status, fieldsByBase: fieldsByBase, nowMicros: nowMicros())
  }

  func rejectionsJSON(_ request: Request, _ context: BasicRequestContext) async throws -> RejectionsJSON {
    let round = try await round(context)
    let reporter = try await reporterFilter(request)
    let rows = try await database.rejectedSubmissions(reportYear: round.reportYear, reporterCode: reporter, limit: 500)
    return RejectionsJSON(reportYear: round.reportYear, rejections: rows.map(RejectionJSON.init))
  }

  func lateJSON(_ request: Request, _ context: BasicRequestContext) async throws -> LateSubmissionsJSON {
    let round = try await round(context)
    let reporter = try await reporterFilter(request)
    let rows = try await database.lateSubmissions(reportYear: round.reportYear, reporterCode: reporter, limit: 500)
    return LateSubmissionsJSON(
      reportYear: round.reportYear, deadline: round.deadlineMicros.map(TimeFormat.rfc3339), late: rows.map(LateSubmissionJSON.init))
  }

  func arrivalsJSON(_ request: Request, _ context: BasicRequestContext) async throws -> ArrivalSeries {
    let round = try await round(context)
    let reporter = try await reporterFilter(request)
    return try await series(
      round, status: try await database.arrivalStatus(reportYear: round.reportYear, reporterCode: reporter), reporterCode: reporter)
  }

  func auditJSON(_ request: Request) async throws -> AuditJSON {
    var limit = 50
    if let text = request.uri.queryParameters.get("limit") {
      guard let value = Int(text), (1...1000).contains(value) else {
        throw MonitoringError.badParameter("limit", "a number from 1 to 1000, got \"\(text)\"")
      }
      limit = value
    }
    return AuditJSON(entries: try await database.recentAuditEntries(limit: limit).map(AuditEntryJSON.init))
  }

  func api<T: Encodable>(_ body: () async throws -> T) async -> Response {
    do {
      return Self.json(try await body())
    } catch let error as MonitoringError {
      return apiError(error)
    } catch {
      return internalError(error, html: false)
    }
  }

  func apiError(_ error: MonitoringError) -> Response {
    Self.json(
      ErrorJSON(error: .init(status: Int(error.status.code), code: error.code, message: error.message, parameter: error.parameter)),
      status: error.status)
  }

  // MARK: Metrics and health

  func metrics() async -> Response {
    do {
      try await MonitoringMetrics.refreshGauges(database: database, factory: factory, nowMicros: nowMicros())
    } catch {
      logger.warning("could not refresh the round and node gauges", metadata: ["error": "\(error)"])
    }
    return Response(
      status: .ok,
      headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
      body: ResponseBody(byteBuffer: ByteBuffer(string: MonitoringMetrics.exposition(registry))))
  }

  func health() async -> Response {
    do {
      _ = try await database.rounds()
      return Response(
        status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n")))
    } catch {
      return Response(
        status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: "the store does not answer: \(error)\n")))
    }
  }

  // MARK: Parameters

  func round(_ context: BasicRequestContext) async throws -> RoundRecord {
    let text = context.parameters.get("year") ?? ""
    guard let year = Int(text), (2000...2999).contains(year) else {
      throw MonitoringError.badParameter("year", "a report year from 2000 to 2999, got \"\(text)\"")
    }
    guard let round = try await database.round(reportYear: year) else {
      throw MonitoringError.notFound("year", "no round for report year \(year)")
    }
    return round
  }

  func reporterFilter(_ request: Request) async throws -> String? {
    guard let code = request.uri.queryParameters.get("reporter"), !code.isEmpty else { return nil }
    guard try await database.reporter(code: code) != nil else {
      throw MonitoringError.notFound("reporter", "no reporter \(code) in the registry")
    }
    return code
  }

  func filter(_ request: Request) async throws -> ArrivalFilter {
    var filter = ArrivalFilter(reporterCode: try await reporterFilter(request))
    if let name = request.uri.queryParameters.get("state"), !name.isEmpty {
      guard let state = ArrivalFilter.state(named: name) else {
        throw MonitoringError.badParameter("state", "one of \(ArrivalFilter.stateNames.joined(separator: ", ")), got \"\(name)\"")
      }
      filter.state = state
    }
    if let field = request.uri.queryParameters.get("field"), !field.isEmpty {
      guard ArrivalFilter.fieldNames.contains(field) else {
        throw MonitoringError.badParameter("field", "one of \(ArrivalFilter.fieldNames.joined(separator: ", ")), got \"\(field)\"")
      }
      filter.field = field
    }
    return filter
  }

  /// The round's status of the reporter filter (whole), the same with every filter applied, and
  /// each base's fields: one read of the status serves the board, its chart and the API.
  func filteredStatus(
    _ round: RoundRecord, _ filter: ArrivalFilter
  ) async throws -> (whole: ArrivalStatus, filtered: ArrivalStatus, fieldsByBase: [String: [String]]) {
    let status = try await database.arrivalStatus(reportYear: round.reportYear, reporterCode: filter.reporterCode)
    let bases = try await database.bases(reporterCode: filter.reporterCode, includeWithdrawn: true)
    let fieldsByBase = Dictionary(bases.map { ($0.baseId, $0.fields) }, uniquingKeysWith: { first, _ in first })
    return (status, filter.apply(to: status, fieldsByBase: fieldsByBase), fieldsByBase)
  }

  /// The chart's series, from the round's status of the reporter filter (its expected bases).
  func series(_ round: RoundRecord, status: ArrivalStatus, reporterCode: String?) async throws -> ArrivalSeries {
    ArrivalSeries(
      reportYear: round.reportYear,
      opensAtMicros: round.opensAtMicros,
      deadlineMicros: round.deadlineMicros,
      expected: status.bases.count,
      points: try await database.firstAcceptances(reportYear: round.reportYear, reporterCode: reporterCode),
      reminderMicros: try await database.roundSteps(reportYear: round.reportYear)
        .filter { $0.roundStep?.kind == .reminded }.map { $0.roundClockMicros ?? $0.storedAtMicros })
  }

  // MARK: Responses

  static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(
      status: status, headers: [.contentType: htmlType, .cacheControl: "no-store"],
      body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
  }

  static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data(#"{"error":{"status":500,"code":"INTERNAL","message":"encoding failed"}}"#.utf8)
    return Response(
      status: status, headers: [.contentType: jsonType, .cacheControl: "no-store"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
  }

  func internalError(_ error: any Error, html: Bool) -> Response {
    logger.error("monitoring request failed", metadata: ["error": "\(error)"])
    let message = "the store could not be read: \(error)"
    if html {
      return Self.html(DashboardPage.badRequest(message).replacingOccurrences(of: "Bad request", with: "Error"), status: .internalServerError)
    }
    return apiError(MonitoringError(status: .internalServerError, code: "INTERNAL", message: message, parameter: nil))
  }
}
