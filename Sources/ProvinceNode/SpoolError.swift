/// An error of the outbox spool: what went wrong, on which path, and the system's reason.
///
/// Shaped like grpc-swift-2's `RuntimeError`: a ``Code`` that can grow without breaking
/// callers, a message an operator can act on, and an optional cause.
public struct SpoolError: Error, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: Hashable, Sendable {
      case io, unknownSubmission, journalDamaged, watcher, notRegularFile
    }
    private let wrapped: Wrapped
    private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    /// A file system call failed (open, rename, fsync, write, read).
    public static let io = Code(.io)
    /// No claimed message has this submission id (already sent, rejected, or never claimed).
    public static let unknownSubmission = Code(.unknownSubmission)
    /// A journal line in the middle of the file cannot be read.
    public static let journalDamaged = Code(.journalDamaged)
    /// The outbox watcher could not start (inotify).
    public static let watcher = Code(.watcher)
    /// A file in outbox/ or claimed/ is not a regular file (a FIFO, socket, device, directory
    /// or symbolic link): never opened for reading, quarantined.
    public static let notRegularFile = Code(.notRegularFile)

    public var description: String { String(describing: wrapped) }
  }

  public var code: Code
  public var message: String
  public var cause: (any Error)?

  public init(code: Code, message: String, cause: (any Error)? = nil) {
    self.code = code
    self.message = message
    self.cause = cause
  }

  public var description: String {
    cause.map { "\(code): \(message) (\($0))" } ?? "\(code): \(message)"
  }
}
