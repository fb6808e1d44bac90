public import AggregatorStore

public import Metrics
public import Prometheus

/// The aggregator's Prometheus metrics, made through swift-metrics.
///
/// | name | type | labels | what |
/// |---|---|---|---|
/// | `hitech_submissions_total` | counter | `outcome`, `reporter` | Submit calls answered, by outcome |
/// | `hitech_ingest_duration_seconds` | histogram | | Submit's time from request to answer |
/// | `hitech_group_commit_batch_size` | histogram | | submissions per committed write transaction |
/// | `hitech_connected_nodes` | gauge | | distinct reporters that submitted in the last 10 minutes |
/// | `hitech_round_state` | gauge | `year`, `state` | 1 for each round's current state, 0 for its other states |
///
/// The first three are recorded by ``IngestMetrics`` (AggregatorStore), which the daemon hands
/// to `ReportIngestService` and to the store's `Configuration.onBatch`; the two gauges are
/// computed from the store on every scrape of `/metrics` (``refreshGauges(database:factory:nowMicros:)``).
public enum MonitoringMetrics {
  public static let connectedNodesLabel = "hitech_connected_nodes"
  public static let roundStateLabel = "hitech_round_state"
  /// `hitech_connected_nodes` counts reporters whose latest submission is at most this old.
  public static let connectedWindowMicros: Int64 = 10 * 60 * 1_000_000

  /// A factory over `registry` with buckets suited to these metrics (ingest latency from 1 ms to
  /// 10 s; batch sizes in powers of two up to 1024). Pass it to ``IngestMetrics/init(factory:)``
  /// and to the server, or bootstrap `MetricsSystem` with it.
  public static func makeFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.durationHistogramBuckets[IngestMetrics.ingestDurationLabel] = [
      .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
      .microseconds(2_500_000), .seconds(5), .seconds(10),
    ]
    factory.valueHistogramBuckets[IngestMetrics.batchSizeLabel] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    return factory
  }

  private static let bootstrapped: PrometheusCollectorRegistry = {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(makeFactory(registry: registry))
    return registry
  }()

  /// Bootstraps the process-wide `MetricsSystem` with ``makeFactory(registry:)`` over a new
  /// registry and returns that registry (to serve at `/metrics`). Safe to call more than once:
  /// later calls return the same registry. Nothing else in the process may bootstrap
  /// `MetricsSystem`. Tests should not call it: build a registry and a factory instead.
  public static func bootstrap() -> PrometheusCollectorRegistry {
    bootstrapped
  }

  /// Sets `hitech_connected_nodes` and `hitech_round_state` from the store.
  public static func refreshGauges(
    database: any ArrivalQueries & RoundStore, factory: any MetricsFactory, nowMicros: Int64
  ) async throws {
    let active = try await database.activeReporterCount(sinceMicros: nowMicros - connectedWindowMicros)
    Gauge(label: connectedNodesLabel, dimensions: [], factory: factory).record(active)
    for round in try await database.rounds() {
      for state in RoundRecord.State.allCases {
        Gauge(
          label: roundStateLabel, dimensions: [("year", String(round.reportYear)), ("state", state.rawValue)],
          factory: factory
        ).record(state == round.state ? 1 : 0)
      }
    }
  }

  /// The registry's text exposition format (version 0.0.4).
  public static func exposition(_ registry: PrometheusCollectorRegistry) -> String {
    var buffer: [UInt8] = []
    buffer.reserveCapacity(4096)
    registry.emit(into: &buffer)
    return String(decoding: buffer, as: UTF8.self)
  }
}
