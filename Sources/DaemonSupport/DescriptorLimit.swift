import Foundation
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open file descriptors (`RLIMIT_NOFILE`), which bounds how many peers
/// a daemon can hold: every connected ZeroMQ peer takes a descriptor (1,000 connected nodes
/// took 1,033 in the aggregator), and systemd's default soft limit is 1,024.
///
/// Each daemon calls ``raiseAndLog(role:logger:)`` at start: the soft limit is raised to the
/// hard limit (which only the administrator, e.g. a unit's `LimitNOFILE=`, can raise), and both
/// are logged.
public struct DescriptorLimit: Sendable, Hashable, CustomStringConvertible {
  /// The limit in force (`getrlimit` soft limit); `UInt64.max` for unlimited.
  public var soft: UInt64
  /// The ceiling the process may raise `soft` to.
  public var hard: UInt64

  /// Descriptors a daemon uses besides its peers (store, spool, logs, sockets, threads' pipes).
  public static let reserved: UInt64 = 64

  public var description: String { "soft \(Self.text(soft)), hard \(Self.text(hard))" }

  static func text(_ value: UInt64) -> String { value == UInt64.max ? "unlimited" : String(value) }

  /// The limit now in force.
  public static func current() -> DescriptorLimit? {
    var limit = rlimit()
    guard getrlimit(Self.resource, &limit) == 0 else { return nil }
    return DescriptorLimit(soft: Self.value(limit.rlim_cur), hard: Self.value(limit.rlim_max))
  }

  /// Raises the soft limit to the hard limit (to the kernel's per-process ceiling when the hard
  /// limit is unlimited). Returns the limit before and after; `after == before` when nothing
  /// changed or the call failed.
  @discardableResult
  public static func raiseSoftToHard() -> (before: DescriptorLimit, after: DescriptorLimit)? {
    guard let before = current() else { return nil }
    guard before.soft < before.hard else { return (before, before) }
    var target = before.hard
    if target == UInt64.max, let ceiling = kernelCeiling() { target = ceiling }
    var limit = rlimit()
    limit.rlim_cur = rlim_t(target)
    limit.rlim_max = before.hard == UInt64.max ? Self.infinity : rlim_t(before.hard)
    _ = setrlimit(Self.resource, &limit)
    return (before, current() ?? before)
  }

  /// Raises the soft limit (``raiseSoftToHard()``) and logs the limits, with how many peers they
  /// leave room for; a warning when that is fewer than `expectedPeers`.
  public static func raiseAndLog(role: String, expectedPeers: UInt64 = 0, logger: Logger) {
    guard let (before, after) = raiseSoftToHard() else {
      logger.warning("cannot read the open file descriptor limit (getrlimit)", metadata: ["daemon.role": "\(role)"])
      return
    }
    var metadata: Logger.Metadata = [
      "fd.soft": "\(text(after.soft))", "fd.hard": "\(text(after.hard))",
    ]
    if before.soft != after.soft { metadata["fd.soft_before"] = "\(text(before.soft))" }
    let room = after.soft > reserved ? after.soft - reserved : 0
    if expectedPeers > 0 && room < expectedPeers {
      metadata["fd.expected_peers"] = "\(expectedPeers)"
      logger.warning(
        "open file descriptor limit \(after) leaves room for about \(room) peers: raise LimitNOFILE (systemd) or the hard limit (ulimit -Hn)",
        metadata: metadata)
    } else if before.soft != after.soft {
      logger.info("open file descriptor limit \(after) (soft raised from \(text(before.soft)))", metadata: metadata)
    } else {
      logger.info("open file descriptor limit \(after)", metadata: metadata)
    }
  }

  #if canImport(Glibc)
  private static var resource: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
  #else
  private static var resource: Int32 { RLIMIT_NOFILE }
  #endif

  /// `RLIM_INFINITY` (all bits set; the C macro does not import).
  private static let infinity = rlim_t.max

  private static func value(_ raw: rlim_t) -> UInt64 {
    raw == Self.infinity ? UInt64.max : UInt64(raw)
  }

  /// Linux's `fs.nr_open`: the most a soft limit can be.
  private static func kernelCeiling() -> UInt64? {
    guard let text = try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8) else { return nil }
    return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))
  }
}
