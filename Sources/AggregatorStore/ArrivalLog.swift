/// One stored submission outcome as the arrival log (ArrivalStatus.WatchArrivals) reads it.
public struct ArrivalLogEntry: Sendable, Hashable {
  /// The submission's row id: its position in the arrival log.
  public var sequence: Int64
  /// When this submission was stored (for a duplicate: this one, not the original),
  /// microseconds since 1970-01-01T00:00:00Z.
  public var storedAtMicros: Int64
  /// Its receipt, exactly as `receipt(submissionId:)` answers it.
  public var receipt: StoredReceipt

  public init(sequence: Int64, storedAtMicros: Int64, receipt: StoredReceipt) {
    self.sequence = sequence
    self.storedAtMicros = storedAtMicros
    self.receipt = receipt
  }
}

/// The arrival log: every stored submission outcome in the order of the store's submission row
/// ids, readable from any position. Row ids only grow and are never reused, so a reader that
/// remembers the last sequence it handled misses and repeats nothing, whichever aggregator
/// stored the submission.
public protocol ArrivalLog: Sendable {
  /// Entries with a sequence above `afterSequence`, oldest first, at most `limit` (capped to
  /// 1...1000), of one report year (all when nil) and one submitting reporter (all when nil).
  ///
  /// Only entries below the log's settled end are returned: every submission with a lower
  /// sequence has been committed or will never be (on PostgreSQL, concurrent transactions of
  /// several aggregators may commit out of row-id order; the store waits for those in flight).
  func arrivals(afterSequence: Int64, reportYear: Int?, reporterCode: String?, limit: Int) async throws -> [ArrivalLogEntry]

  /// The settled end of the log: the highest sequence below which every submission is
  /// committed (0 when none).
  func lastArrivalSequence() async throws -> Int64
}
