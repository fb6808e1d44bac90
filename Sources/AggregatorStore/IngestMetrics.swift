import Metrics

/// The aggregator's ingest metrics, recorded through swift-metrics on an explicit factory (so a
/// test can use its own registry; nothing here depends on `MetricsSystem.bootstrap`).
///
/// - `hitech_submissions_total{outcome,reporter}` counter: one per Submit call, by outcome
///   (`accepted`, `accepted_with_warnings`, `accepted_late`, `duplicate`, `replayed`,
///   `rejected`, `conflict`, `refused`, `store_error`).
/// - `hitech_ingest_duration_seconds` histogram (a swift-metrics `Timer`): Submit's time from
///   the request to the answer.
/// - `hitech_group_commit_batch_size` histogram (an aggregating `Recorder`): requests per
///   committed group-commit transaction; hand ``recordBatch(_:)`` to
///   ``AggregatorDatabase/Configuration/onBatch``.
public struct IngestMetrics: Sendable {
  public static let submissionsLabel = "hitech_submissions_total"
  public static let ingestDurationLabel = "hitech_ingest_duration_seconds"
  public static let batchSizeLabel = "hitech_group_commit_batch_size"

  private let factory: (any MetricsFactory)?
  private let duration: CoreMetrics.Timer?
  private let batchSize: Recorder?

  /// Metrics that record nothing (the default of the services that take them).
  public static let none = IngestMetrics()

  private init() {
    factory = nil
    duration = nil
    batchSize = nil
  }

  /// Metrics made by `factory` (e.g. a `PrometheusMetricsFactory` over the served registry).
  public init(factory: any MetricsFactory) {
    self.factory = factory
    duration = CoreMetrics.Timer(label: Self.ingestDurationLabel, dimensions: [], factory: factory)
    batchSize = Recorder(label: Self.batchSizeLabel, dimensions: [], aggregate: true, factory: factory)
  }

  /// Records one answered (or refused) submission and how long it took.
  public func recordSubmission(reporter: String, outcome: String, durationNanoseconds: Int64? = nil) {
    guard let factory else { return }
    Counter(label: Self.submissionsLabel, dimensions: [("outcome", outcome), ("reporter", reporter)], factory: factory)
      .increment()
    if let durationNanoseconds {
      duration?.recordNanoseconds(durationNanoseconds)
    }
  }

  /// Records a committed group-commit batch's size (failed batches are not counted).
  @Sendable public func recordBatch(_ report: IngestBatchReport) {
    guard report.committed else { return }
    batchSize?.record(report.size)
  }
}
