import AggregatorStore
import Hummingbird
import HummingbirdTesting
import Monitoring
import Prometheus
import Testing

@Suite("Metrics")
struct MetricsTests {
  @Test("after a known sequence of submissions and batches, /metrics shows the exact series")
  func exposition() async throws {
    try await withFixture { fixture in
      let registry = PrometheusCollectorRegistry()
      let factory = MonitoringMetrics.makeFactory(registry: registry)
      let metrics = IngestMetrics(factory: factory)
      metrics.recordSubmission(reporter: "110000", outcome: "accepted", durationNanoseconds: 3_000_000)
      metrics.recordSubmission(reporter: "110000", outcome: "accepted", durationNanoseconds: 7_000_000)
      metrics.recordSubmission(reporter: "440000", outcome: "rejected", durationNanoseconds: 40_000_000)
      metrics.recordSubmission(reporter: "440000", outcome: "accepted_late", durationNanoseconds: 2_000_000_000)
      metrics.recordBatch(IngestBatchReport(size: 3, committed: true, durationSeconds: 0.01))
      metrics.recordBatch(IngestBatchReport(size: 1, committed: true, durationSeconds: 0.01))
      metrics.recordBatch(IngestBatchReport(size: 5, committed: false, durationSeconds: 0.01))
      IngestMetrics.none.recordSubmission(reporter: "999999", outcome: "accepted", durationNanoseconds: 1)

      try await withRouter(fixture, registry: registry) { client in
        try await client.execute(uri: "/metrics", method: .get) { response in
          #expect(response.status == .ok)
          #expect(response.contentType.hasPrefix("text/plain; version=0.0.4"))
          let lines = Set(response.text.split(separator: "\n").map(String.init))
          let expected = [
            #"hitech_submissions_total{outcome="accepted",reporter="110000"} 2"#,
            #"hitech_submissions_total{outcome="rejected",reporter="440000"} 1"#,
            #"hitech_submissions_total{outcome="accepted_late",reporter="440000"} 1"#,
            "hitech_ingest_duration_seconds_count 4",
            #"hitech_ingest_duration_seconds_bucket{le="0.005"} 1"#,
            #"hitech_ingest_duration_seconds_bucket{le="0.01"} 2"#,
            #"hitech_ingest_duration_seconds_bucket{le="0.05"} 3"#,
            #"hitech_ingest_duration_seconds_bucket{le="2.5"} 4"#,
            "hitech_group_commit_batch_size_count 2",
            "hitech_group_commit_batch_size_sum 4.0",
            #"hitech_group_commit_batch_size_bucket{le="1.0"} 1"#,
            #"hitech_group_commit_batch_size_bucket{le="2.0"} 1"#,
            #"hitech_group_commit_batch_size_bucket{le="4.0"} 2"#,
            // Reporters that submitted in the last 10 minutes: 440000 (00:01) and 440300 (00:03).
            "hitech_connected_nodes 2.0",
            #"hitech_round_state{year="2025",state="closed"} 1.0"#,
            #"hitech_round_state{year="2025",state="open"} 0.0"#,
            #"hitech_round_state{year="2025",state="planned"} 0.0"#,
          ]
          for line in expected {
            #expect(lines.contains(line), "missing \(line) in:\n\(response.text)")
          }
          #expect(!response.text.contains("999999"))
        }
      }
    }
  }
}
