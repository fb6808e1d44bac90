/// Counters of the group-commit writer, for metrics. A snapshot; all counts since the store
/// was opened.
public struct IngestStatistics: Sendable, Hashable {
  /// Write transactions committed.
  public var committedBatches: Int
  /// Requests decided in committed batches.
  public var committedRequests: Int
  /// Write transactions that failed (every request of such a batch got a retryable error).
  public var failedBatches: Int
  /// Requests failed by those batches.
  public var failedRequests: Int
  /// The largest batch so far.
  public var largestBatch: Int
  /// Committed batches by size: index i counts batches of size in [2^i, 2^(i+1)), i.e.
  /// 1, 2–3, 4–7, 8–15, ...
  public var batchSizeHistogram: [Int]

  public init() {
    committedBatches = 0
    committedRequests = 0
    failedBatches = 0
    failedRequests = 0
    largestBatch = 0
    batchSizeHistogram = []
  }

  /// Mean requests per committed batch (0 when none).
  public var meanBatchSize: Double {
    committedBatches == 0 ? 0 : Double(committedRequests) / Double(committedBatches)
  }

  mutating func record(batchSize: Int, committed: Bool) {
    if committed {
      committedBatches += 1
      committedRequests += batchSize
      largestBatch = max(largestBatch, batchSize)
      let bucket = max(0, Int.bitWidth - 1 - batchSize.leadingZeroBitCount)
      if batchSizeHistogram.count <= bucket {
        batchSizeHistogram.append(contentsOf: repeatElement(0, count: bucket + 1 - batchSizeHistogram.count))
      }
      batchSizeHistogram[bucket] += 1
    } else {
      failedBatches += 1
      failedRequests += batchSize
    }
  }
}

/// What one batch of the group-commit writer did, handed to
/// ``AggregatorDatabase/Configuration/onBatch`` after it committed or failed.
public struct IngestBatchReport: Sendable, Hashable {
  /// Requests in the batch.
  public var size: Int
  /// True when the transaction committed.
  public var committed: Bool
  /// Time from the start of the transaction to the end of the commit, in seconds.
  public var durationSeconds: Double

  public init(size: Int, committed: Bool, durationSeconds: Double) {
    self.size = size
    self.committed = committed
    self.durationSeconds = durationSeconds
  }
}
