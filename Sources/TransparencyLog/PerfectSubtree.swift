/// A complete (perfect) subtree of the log: the `2^level` leaves from `index * 2^level`.
///
/// Level 0 subtrees are the leaves themselves. A tree of any size is made of perfect subtrees
/// (one per set bit of its size), and every hash a proof needs is a combination of perfect
/// subtrees, so a store keeps exactly these and nothing else: each is written once, when its
/// last leaf is appended, and never changes.
public struct PerfectSubtree: Hashable, Sendable, Comparable, CustomStringConvertible {
  /// The height: the subtree holds `2^level` leaves.
  public let level: Int
  /// The position among the subtrees of the same level, from 0 at the left edge.
  public let index: UInt64

  public init(level: Int, index: UInt64) {
    precondition(level >= 0 && level < 64, "level \(level) outside 0..<64")
    self.level = level
    self.index = index
  }

  /// The first leaf it covers.
  public var firstLeaf: UInt64 { index << UInt64(level) }

  /// How many leaves it covers.
  public var leafCount: UInt64 { 1 << UInt64(level) }

  public static func < (lhs: Self, rhs: Self) -> Bool {
    (lhs.level, lhs.index) < (rhs.level, rhs.index)
  }

  public var description: String { "(\(level), \(index))" }
}
