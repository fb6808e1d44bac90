import GRDB

extension StoreError {
  /// True for SQLite failures of the storage itself (as opposed to a statement that is wrong
  /// for its data): they fail a whole write transaction and may go away on retry.
  static func isStorageFailure(_ error: any Error) -> Bool {
    if error is CancellationError { return true }
    if let error = error as? StoreError { return error.code == .unavailable }
    guard let error = error as? DatabaseError else { return true }
    switch error.resultCode {
    case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_NOMEM, .SQLITE_READONLY, .SQLITE_INTERRUPT,
      .SQLITE_IOERR, .SQLITE_CORRUPT, .SQLITE_FULL, .SQLITE_CANTOPEN, .SQLITE_PROTOCOL,
      .SQLITE_NOTADB, .SQLITE_PERM, .SQLITE_NOLFS:
      return true
    default:
      return false
    }
  }

  /// The error of a failed open of the database file at `path`.
  static func opening(_ path: String, _ error: any Error) -> StoreError {
    if let error = error as? StoreError { return error }
    guard let dbError = error as? DatabaseError else {
      return StoreError(code: .cannotOpen, message: "cannot open the database file \(path)", cause: error)
    }
    switch dbError.resultCode {
    case .SQLITE_NOTADB, .SQLITE_CORRUPT, .SQLITE_FORMAT:
      return StoreError(
        code: .corruptDatabase,
        message: "the database file \(path) is damaged or is not a SQLite database (\(dbError.resultCode)); "
          + "restore it from a backup, or move it aside to start an empty store",
        cause: error)
    case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH, .SQLITE_READONLY:
      return StoreError(
        code: .cannotOpen,
        message: "cannot open the database file \(path) (\(dbError.resultCode)); check that its folder exists and is writable",
        cause: error)
    case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_NOMEM:
      return StoreError(
        code: .unavailable,
        message: "cannot open the database file \(path) now (\(dbError.resultCode))",
        cause: error)
    default:
      return StoreError(code: .cannotOpen, message: "cannot open the database file \(path)", cause: error)
    }
  }

  /// The error of a failed operation on an open store.
  static func operation(_ what: String, path: String, _ error: any Error) -> StoreError {
    if let error = error as? StoreError { return error }
    if let dbError = error as? DatabaseError {
      switch dbError.resultCode {
      case .SQLITE_CORRUPT, .SQLITE_NOTADB:
        return StoreError(
          code: .corruptDatabase,
          message: "\(what) failed: the database file \(path) is damaged (\(dbError.resultCode))",
          cause: error)
      case .SQLITE_CONSTRAINT:
        return StoreError(code: .invalidArgument, message: "\(what) failed: \(dbError.message ?? "constraint violated")", cause: error)
      default:
        break
      }
    }
    if isStorageFailure(error) {
      return StoreError(
        code: .unavailable,
        message: "\(what) failed, nothing was stored; retry later (database \(path))",
        cause: error)
    }
    return StoreError(code: .internalError, message: "\(what) failed (database \(path))", cause: error)
  }
}
