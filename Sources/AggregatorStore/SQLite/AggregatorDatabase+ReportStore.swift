extension AggregatorDatabase: ReportStore {
  /// `sqlite:` and the database file's path.
  public var location: String { "sqlite:\(path)" }
}
