/// Why a coordinator operation failed: a code the RoundControl service maps to a gRPC status,
/// and a message for the operator naming what is at fault.
public struct CoordinatorError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The kind of failure.
  public struct Code: Sendable, Hashable, CustomStringConvertible {
    private enum Value: String, Sendable, Hashable {
      case notFound, invalidArgument, failedPrecondition, aborted, storage, internalError
    }
    private let value: Value

    /// No such round.
    public static let notFound = Code(value: .notFound)
    /// A bad argument (a reason missing, an expert score out of range).
    public static let invalidArgument = Code(value: .invalidArgument)
    /// Not allowed in the round's state (skipping a state, going backwards, scoring an assessed round).
    public static let failedPrecondition = Code(value: .failedPrecondition)
    /// The round is not in the state the caller expected.
    public static let aborted = Code(value: .aborted)
    /// The store failed (disk, I/O): retry.
    public static let storage = Code(value: .storage)
    /// A bug.
    public static let internalError = Code(value: .internalError)

    public var description: String { value.rawValue }
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }
}
