import Logging
import ServiceLifecycle

/// The calendar of one of several coordinators sharing a PostgreSQL store: it waits on standby
/// until it holds the leadership (``PostgresLeaderElection``), then plans and drives the rounds
/// as ``RoundScheduler`` does — picking up first the steps recorded but not applied by the
/// coordinator that was active before — until the leadership is lost (then it stops stepping
/// at once and goes back to standby) or the daemon stops.
struct LeadingScheduler: Service {
  let election: PostgresLeaderElection
  let scheduler: RoundScheduler
  let logger: Logger

  func run() async throws {
    do {
      try await cancelWhenGracefulShutdown {
        while true {
          do {
            try await election.lead { try await scheduler.drive() }
            return
          } catch let lost as LeadershipLost {
            logger.error(
              "lost the leadership: stopped stepping; back on standby",
              metadata: ["error": "\(lost)", "store.location": "\(election.url)"])
          }
        }
      }
    } catch is CancellationError {
      // Stopping.
    }
    logger.info("calendar stopped")
  }
}
