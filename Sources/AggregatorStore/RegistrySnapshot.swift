/// The registry's bases (with their fields) and the recorded rounds, as of one registry
/// generation: what ``RegistryReadModel`` keeps in memory.
///
/// The generation is a number the store raises in the same transaction as every write to the
/// registry or the rounds, whichever process makes it (the triggers of the schema's
/// `registry_generation` table), so a snapshot is current exactly while the store's generation
/// is still the snapshot's.
public struct RegistrySnapshot: Sendable, Hashable {
  /// The store's registry generation when the snapshot was read (0 before any registry write).
  public var generation: Int64
  /// Every base, withdrawn ones included, by id.
  public var bases: [String: BaseRecord]
  /// Every recorded round, by report year.
  public var rounds: [Int: RoundRecord]

  public init(generation: Int64, bases: [String: BaseRecord], rounds: [Int: RoundRecord]) {
    self.generation = generation
    self.bases = bases
    self.rounds = rounds
  }
}

/// What Submit reads from the store for every submission: the registry generation (to know
/// whether the registry in memory is current) and the base's report for the year before, read
/// in one snapshot.
public struct SubmissionFacts: Sendable, Hashable {
  /// The store's registry generation.
  public var generation: Int64
  /// The latest stored revision of the base's report for the year asked for, or nil.
  public var previousYearReport: StoredReport?

  public init(generation: Int64, previousYearReport: StoredReport?) {
    self.generation = generation
    self.previousYearReport = previousYearReport
  }
}
