import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ZeroMQ

/// Keeps the client connections a server socket holds below a cap, so that the process never
/// runs out of file descriptors because of its peers.
///
/// Every accepted TCP or IPC connection takes a descriptor, and libzmq accepts every
/// connection it can. At the descriptor limit its `accept` fails with `EMFILE` over and over
/// (the listener stays readable), the process can no longer open its own files (store, status
/// and key files, logs) and new peers hang in the listen queue. So the socket thread follows
/// the socket monitor's `ACCEPTED` and `DISCONNECTED` events (their value is the connection's
/// descriptor) and shuts down (`shutdown(2)`; libzmq, which owns the descriptor, then closes
/// it) every connection accepted while the cap is reached: its client sees the connection end
/// and tries again later, and the descriptors below the limit stay free for the process.
///
/// A connection the cap refuses costs one descriptor for the moment libzmq takes to close it,
/// so the cap leaves a reserve below the limit (``ZeroMQTransport/Server/Configuration/descriptorReserve``).
/// Before it refuses anyone, the limiter drops descriptors whose `DISCONNECTED` event it may
/// have missed (at most once a second): a tracked descriptor that is no longer a connection
/// on this endpoint.
struct ConnectionLimiter {
  /// Connections held at once.
  let limit: Int
  /// Recognises the connections accepted on the endpoint.
  private let address: ZMQListenerAddress
  private var open: Set<Int32> = []
  private var lastReconcile: ContinuousClock.Instant?
  /// Connections refused since the count was last taken (``takeRefused()``).
  private var refused = 0

  /// A limiter for connections accepted on `boundEndpoint`, or nil for an endpoint whose
  /// connections take no descriptor (`inproc://`).
  init?(boundEndpoint: String, limit: Int) {
    guard let address = ZMQListenerAddress(boundEndpoint: boundEndpoint) else { return nil }
    self.address = address
    self.limit = max(1, limit)
  }

  var count: Int { open.count }

  /// A connection was accepted with descriptor `fd`. Returns false when it is beyond the cap:
  /// it has been shut down and is not counted.
  mutating func accepted(_ fd: Int32, now: ContinuousClock.Instant) -> Bool {
    if open.count >= limit { reconcile(now: now) }
    if open.count < limit || open.contains(fd) {
      open.insert(fd)
      return true
    }
    refused += 1
    address.shutDownAcceptedConnection(fd)
    return false
  }

  /// The connection with descriptor `fd` ended.
  mutating func disconnected(_ fd: Int32) {
    open.remove(fd)
  }

  /// How many connections were refused since the last call.
  mutating func takeRefused() -> Int {
    defer { refused = 0 }
    return refused
  }

  private mutating func reconcile(now: ContinuousClock.Instant) {
    if let lastReconcile, now - lastReconcile < .seconds(1) { return }
    lastReconcile = now
    let address = self.address
    open = open.filter { address.isAcceptedConnection($0) }
  }

  /// The cap derived from the process's descriptor limit: the soft `RLIMIT_NOFILE`, less the
  /// descriptors open now, less `reserve`; at least 1. Nil when the limit is unlimited or
  /// cannot be read.
  static func derivedLimit(reserve: Int) -> (limit: Int, softLimit: Int, inUse: Int)? {
    var limit = rlimit()
    #if canImport(Glibc)
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    let resource = RLIMIT_NOFILE
    #endif
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur != rlim_t.max, limit.rlim_cur < rlim_t(Int.max) else {
      return nil
    }
    let soft = Int(limit.rlim_cur)
    let inUse = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    return (max(1, soft - inUse - reserve), soft, inUse)
  }
}
