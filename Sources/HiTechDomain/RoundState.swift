/// The state of a yearly round (round.proto `RoundState`), as the coordinator drives it and the
/// aggregator admits reports by it. Transitions only move forward:
/// `planned → open → closed → assessed → published`.
///
/// The raw values are what both stores keep (`rounds.state`): never change them.
public enum RoundState: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
  case planned, open, closed, assessed, published

  /// The state after this one; `nil` for `published` (final).
  public var next: RoundState? {
    switch self {
    case .planned: .open
    case .open: .closed
    case .closed: .assessed
    case .assessed: .published
    case .published: nil
    }
  }

  /// The state's place in a round's life (0 for `planned`): a round never moves to a lower one.
  public var order: Int {
    switch self {
    case .planned: 0
    case .open: 1
    case .closed: 2
    case .assessed: 3
    case .published: 4
    }
  }

  public static func < (lhs: RoundState, rhs: RoundState) -> Bool { lhs.order < rhs.order }
}
