import AggregatorStore
import HiTechDomain

/// Registry chores shared by the daemon and the CLI.
public enum Registry {
  /// Makes sure every reporter of the source document is in the store (idempotent; audited
  /// only when something changes).
  public static func seedReporters(_ database: any RegistryStore, actor: String) async throws {
    let present = Dictionary(uniqueKeysWithValues: try await database.reporters().map { ($0.code, $0) })
    for reporter in ReporterCatalogue.all {
      let record = ReporterRecord(reporter)
      if present[reporter.code] != record {
        try await database.upsertReporter(record, actor: actor)
      }
    }
  }
}
