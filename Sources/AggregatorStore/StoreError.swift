/// An error of the aggregator's store.
///
/// `code` says what kind of failure it is (and whether a retry can help: ``isRetryable``),
/// `message` says what happened in words an operator can act on (naming the database file
/// where it matters), and `cause` keeps the underlying error (usually a GRDB `DatabaseError`
/// carrying SQLite's result code and the SQL).
public struct StoreError: Error, Sendable, CustomStringConvertible {
  /// The kind of a ``StoreError``. A struct wrapping a private enum, so that new codes can be
  /// added without breaking callers that switch over them.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: Hashable, Sendable {
      case unavailable
      case corruptDatabase
      case cannotOpen
      case schemaTooNew
      case notFound
      case alreadyExists
      case invalidArgument
      case failedPrecondition
      case permissionDenied
      case internalError
    }

    private let wrapped: Wrapped
    private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    /// The storage failed for a reason that may go away (disk full, I/O error, busy beyond the
    /// timeout, store closing). Nothing of the operation was stored; retry later.
    public static let unavailable = Code(.unavailable)
    /// The database file is damaged, truncated, or not a SQLite database at all.
    public static let corruptDatabase = Code(.corruptDatabase)
    /// The database file could not be opened or created (missing folder, permissions).
    public static let cannotOpen = Code(.cannotOpen)
    /// The database was migrated by a newer version of this software.
    public static let schemaTooNew = Code(.schemaTooNew)
    /// The thing named (reporter, base, key, receipt) is not stored.
    public static let notFound = Code(.notFound)
    /// The thing already exists in a way that cannot be changed (e.g. a key of another reporter).
    public static let alreadyExists = Code(.alreadyExists)
    /// An argument is malformed (e.g. a page token, a key that is not Z85).
    public static let invalidArgument = Code(.invalidArgument)
    /// The operation is not allowed in the current state (e.g. a round moving backwards).
    public static let failedPrecondition = Code(.failedPrecondition)
    /// The caller may not do this to this thing (e.g. an expert of the applicant's province).
    public static let permissionDenied = Code(.permissionDenied)
    /// An unexpected failure: a bug, or a database changed behind the store's back.
    public static let internalError = Code(.internalError)

    public var description: String {
      switch wrapped {
      case .unavailable: "unavailable"
      case .corruptDatabase: "corrupt database"
      case .cannotOpen: "cannot open"
      case .schemaTooNew: "schema too new"
      case .notFound: "not found"
      case .alreadyExists: "already exists"
      case .invalidArgument: "invalid argument"
      case .failedPrecondition: "failed precondition"
      case .permissionDenied: "permission denied"
      case .internalError: "internal error"
      }
    }
  }

  /// What kind of failure this is.
  public var code: Code
  /// What happened, for an operator.
  public var message: String
  /// The underlying error, if any.
  public var cause: (any Error)?

  public init(code: Code, message: String, cause: (any Error)? = nil) {
    self.code = code
    self.message = message
    self.cause = cause
  }

  /// True when the same operation may succeed later (the store is temporarily unable to commit).
  public var isRetryable: Bool { code == .unavailable }

  public var description: String {
    if let cause {
      return "\(code): \(message) (cause: \(cause))"
    }
    return "\(code): \(message)"
  }
}
