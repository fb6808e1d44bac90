import Synchronization

/// The registry (bases with their fields) and the rounds kept in memory above the store
/// boundary, for every backend, so that a Submit reads from the store only what changes with
/// every submission: one snapshot with the registry generation and last year's report.
///
/// Invalidation: the store raises its registry generation in the same transaction as every
/// write to the registry or the rounds, by triggers on those tables (see the schema's
/// `registry_generation`), so no writer can forget it — the registry commands, round steps, the
/// daemon seeding its reporters, and whatever else writes those tables, in this process or in
/// another one sharing the store (several aggregators on one PostgreSQL database, several
/// processes on one SQLite file). Each ``submissionContext(baseId:reportYear:)`` reads the
/// generation first and trusts the copy in memory only when the copy is at least that recent;
/// otherwise it loads the registry again (one load at a time, shared by the callers waiting for
/// it). So a change committed before a Submit starts is always seen by that Submit.
public final class RegistryReadModel: Sendable {
  private struct State {
    var snapshot: RegistrySnapshot?
    var loading: Task<RegistrySnapshot, any Error>?
    var loads = 0
  }

  private let store: any IngestStore
  private let state = Mutex(State())

  public init(store: any IngestStore) {
    self.store = store
  }

  /// The base, the round of `reportYear` and the base's report for the year before, with the
  /// registry and round as of at least the moment of this call.
  public func submissionContext(baseId: String, reportYear: Int) async throws -> SubmissionContext {
    let facts = try await store.submissionFacts(baseId: baseId, previousYear: reportYear - 1)
    let snapshot = try await snapshot(atLeast: facts.generation)
    return SubmissionContext(
      base: snapshot.bases[baseId], round: snapshot.rounds[reportYear], previousYearReport: facts.previousYearReport)
  }

  /// How many times the registry was loaded from the store (for tests and measurements).
  public var loadCount: Int { state.withLock { $0.loads } }

  /// The copy in memory if it is at `generation` or later; else a new one from the store.
  func snapshot(atLeast generation: Int64) async throws -> RegistrySnapshot {
    // A load that began before the generation moved may return an older one: then load again.
    while true {
      let (current, loading) = state.withLock { state -> (RegistrySnapshot?, Task<RegistrySnapshot, any Error>?) in
        if let snapshot = state.snapshot, snapshot.generation >= generation { return (snapshot, nil) }
        if let loading = state.loading { return (nil, loading) }
        let store = self.store
        let loading = Task { try await store.registrySnapshot() }
        state.loading = loading
        state.loads += 1
        return (nil, loading)
      }
      if let current { return current }
      guard let loading else { continue }
      let loaded: RegistrySnapshot
      do {
        loaded = try await loading.value
      } catch {
        state.withLock { state in
          if state.loading == loading { state.loading = nil }
        }
        throw error
      }
      state.withLock { state in
        if state.loading == loading { state.loading = nil }
        if (state.snapshot?.generation ?? .min) < loaded.generation { state.snapshot = loaded }
      }
      if loaded.generation >= generation { return loaded }
    }
  }
}
