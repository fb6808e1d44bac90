import GRDB

/// The registry: reporters, their CurveZMQ public keys, and bases. Every change is recorded in
/// the audit log in the same transaction, with the `actor` the caller names (an operator, "seed").
///
/// Every write to these tables (and to `rounds`) also raises the registry generation in the
/// same transaction, by the triggers of the schema's `registry_generation` (migration
/// v7-registry-generation): that is how ``RegistryReadModel`` — Submit's copy of the registry
/// in memory, in every aggregator sharing the store — learns of it. A new write path (e.g. a
/// recognised application creating or re-levelling a base) is covered with nothing to call.
extension AggregatorDatabase {
  // MARK: Reporters

  /// Creates the reporter, or replaces every field of the stored one with the same code.
  public func upsertReporter(_ reporter: ReporterRecord, actor: String) async throws {
    let now = configuration.nowMicros()
    try await write("storing reporter \(reporter.code)") { db in
      guard !reporter.code.isEmpty else {
        throw StoreError(code: .invalidArgument, message: "a reporter code must not be empty")
      }
      let existed = try Bool.fetchOne(
        db, sql: "SELECT 1 FROM reporters WHERE code = ?", arguments: [reporter.code]) ?? false
      try db.execute(
        sql: """
          INSERT INTO reporters (code, name_zh, name_en, kind, parent_code, active, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
            kind = excluded.kind, parent_code = excluded.parent_code, active = excluded.active,
            updated_at = excluded.updated_at
          """,
        arguments: [
          reporter.code, reporter.nameZh, reporter.nameEn, reporter.kind.rawValue, reporter.parentCode,
          reporter.active, now, now,
        ])
      try Rows.appendAudit(
        db, at: now, actor: actor, action: existed ? "reporter.update" : "reporter.create", subject: reporter.code,
        detail: "\(reporter.nameZh) / \(reporter.nameEn), \(reporter.kind.rawValue), parent \(reporter.parentCode ?? "-"), "
          + (reporter.active ? "active" : "inactive"))
    }
  }

  /// All reporters, ordered by code.
  public func reporters() async throws -> [ReporterRecord] {
    try await read("listing reporters") { db in
      try Row.fetchAll(db, sql: "SELECT * FROM reporters ORDER BY code").map(Rows.reporter)
    }
  }

  /// The reporter with this code, or nil.
  public func reporter(code: String) async throws -> ReporterRecord? {
    try await read("reading reporter \(code)") { db in
      try Row.fetchOne(db, sql: "SELECT * FROM reporters WHERE code = ?", arguments: [code]).map(Rows.reporter)
    }
  }

  // MARK: Keys

  /// Registers a CurveZMQ public key for a reporter. Registering a key the reporter already
  /// holds (and has not retired) does nothing.
  ///
  /// - Throws: ``StoreError`` `.invalidArgument` for a key that is not 40 Z85 characters;
  ///   `.notFound` for an unknown reporter; `.alreadyExists` when the key belongs to another
  ///   reporter or was retired (a retired key is never reinstated: make a new one).
  public func registerKey(_ publicKeyZ85: String, reporterCode: String, comment: String = "", actor: String) async throws {
    guard Self.isZ85Key(publicKeyZ85) else {
      throw StoreError(
        code: .invalidArgument,
        message: "a CurveZMQ public key is 40 Z85 characters; got \(publicKeyZ85.count) characters")
    }
    let now = configuration.nowMicros()
    try await write("registering a key of reporter \(reporterCode)") { db in
      guard try Bool.fetchOne(db, sql: "SELECT 1 FROM reporters WHERE code = ?", arguments: [reporterCode]) ?? false
      else {
        throw StoreError(code: .notFound, message: "reporter \(reporterCode) is not registered")
      }
      if let row = try Row.fetchOne(
        db, sql: "SELECT * FROM reporter_keys WHERE public_key_z85 = ?", arguments: [publicKeyZ85])
      {
        let key = Rows.key(row)
        if key.reporterCode != reporterCode {
          throw StoreError(
            code: .alreadyExists, message: "key \(publicKeyZ85) is registered to reporter \(key.reporterCode)")
        }
        if !key.isActive {
          throw StoreError(
            code: .alreadyExists,
            message: "key \(publicKeyZ85) of reporter \(reporterCode) was retired; a retired key is never reinstated, make a new one")
        }
        return
      }
      try db.execute(
        sql: """
          INSERT INTO reporter_keys (public_key_z85, reporter_code, comment, registered_at) VALUES (?, ?, ?, ?)
          """,
        arguments: [publicKeyZ85, reporterCode, comment, now])
      try Rows.appendAudit(
        db, at: now, actor: actor, action: "key.register", subject: publicKeyZ85,
        detail: "reporter \(reporterCode)\(comment.isEmpty ? "" : ": \(comment)")")
    }
  }

  /// Retires a key: it is refused from now on. Retiring a retired key does nothing.
  ///
  /// - Throws: ``StoreError`` `.notFound` for an unknown key.
  public func retireKey(_ publicKeyZ85: String, actor: String) async throws {
    let now = configuration.nowMicros()
    try await write("retiring a key") { db in
      guard let row = try Row.fetchOne(
        db, sql: "SELECT * FROM reporter_keys WHERE public_key_z85 = ?", arguments: [publicKeyZ85])
      else {
        // Not a reporter's key: perhaps the coordinator's or an operator's.
        guard let principal = try Row.fetchOne(
          db, sql: "SELECT * FROM principal_keys WHERE public_key_z85 = ?", arguments: [publicKeyZ85]
        ).map(Self.principalKey) else {
          throw StoreError(code: .notFound, message: "key \(publicKeyZ85) is not registered")
        }
        guard principal.isActive else { return }
        try db.execute(
          sql: "UPDATE principal_keys SET retired_at = ? WHERE public_key_z85 = ?", arguments: [now, publicKeyZ85])
        try Rows.appendAudit(
          db, at: now, actor: actor, action: "key.retire", subject: publicKeyZ85, detail: principal.identity)
        return
      }
      let key = Rows.key(row)
      guard key.isActive else { return }
      try db.execute(
        sql: "UPDATE reporter_keys SET retired_at = ? WHERE public_key_z85 = ?", arguments: [now, publicKeyZ85])
      try Rows.appendAudit(
        db, at: now, actor: actor, action: "key.retire", subject: publicKeyZ85, detail: "reporter \(key.reporterCode)")
    }
  }

  /// Registered keys, of one reporter or of all, ordered by reporter then registration time.
  public func keys(reporterCode: String? = nil, includeRetired: Bool = true) async throws -> [ReporterKeyRecord] {
    try await read("listing keys") { db in
      var sql = "SELECT * FROM reporter_keys WHERE 1"
      var arguments: StatementArguments = []
      if let reporterCode {
        sql += " AND reporter_code = ?"
        arguments += [reporterCode]
      }
      if !includeRetired { sql += " AND retired_at IS NULL" }
      sql += " ORDER BY reporter_code, registered_at, public_key_z85"
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Rows.key)
    }
  }

  /// The reporter a connection with this public key speaks for: nil unless the key is registered,
  /// not retired, and its reporter is active. (For the ZAP handler.)
  public func reporterCode(forKey publicKeyZ85: String) async throws -> String? {
    try await read("looking up a key") { db in
      try String.fetchOne(
        db,
        sql: """
          SELECT k.reporter_code FROM reporter_keys k JOIN reporters r ON r.code = k.reporter_code
          WHERE k.public_key_z85 = ? AND k.retired_at IS NULL AND r.active = 1
          """,
        arguments: [publicKeyZ85])
    }
  }

  // MARK: Bases

  /// Creates the base, or replaces every field of the stored one with the same id (its fields
  /// included). Withdrawing it here sets its retirement time; see also ``retireBase(_:actor:)``.
  ///
  /// - Throws: ``StoreError`` `.notFound` when its reporter is not registered; `.invalidArgument`
  ///   for an empty id or repeated fields.
  public func upsertBase(_ base: BaseRecord, actor: String) async throws {
    guard !base.baseId.isEmpty else {
      throw StoreError(code: .invalidArgument, message: "a base id must not be empty")
    }
    guard Set(base.fields).count == base.fields.count else {
      throw StoreError(code: .invalidArgument, message: "base \(base.baseId) lists a field twice: \(base.fields)")
    }
    let now = configuration.nowMicros()
    try await write("storing base \(base.baseId)") { db in
      try Self.writeBase(db, base, now: now, actor: actor)
    }
  }

  /// The registry's one write path for a base (``upsertBase(_:actor:)`` and a recognition of
  /// ``recordDecision(_:weighting:actor:)``): every write that creates or changes a base goes
  /// through here, in its caller's transaction, so that whatever follows the registry's changes
  /// sees them all.
  static func writeBase(_ db: Database, _ base: BaseRecord, now: Int64, actor: String) throws {
      guard try Bool.fetchOne(
        db, sql: "SELECT 1 FROM reporters WHERE code = ?", arguments: [base.reporterCode]) ?? false
      else {
        throw StoreError(
          code: .notFound, message: "base \(base.baseId): reporter \(base.reporterCode) is not registered")
      }
      let existed = try Bool.fetchOne(
        db, sql: "SELECT 1 FROM bases WHERE base_id = ?", arguments: [base.baseId]) ?? false
      try db.execute(
        sql: """
          INSERT INTO bases (base_id, name_zh, name_en, reporter_code, kind, level, city_code, city_name_zh,
            recognition_document, recognition_date, first_report_year, status, retired_at, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ? = 'withdrawn' THEN ? END, ?, ?)
          ON CONFLICT (base_id) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
            reporter_code = excluded.reporter_code, kind = excluded.kind, level = excluded.level,
            city_code = excluded.city_code, city_name_zh = excluded.city_name_zh,
            recognition_document = excluded.recognition_document, recognition_date = excluded.recognition_date,
            first_report_year = excluded.first_report_year, status = excluded.status,
            retired_at = CASE WHEN excluded.status = 'withdrawn' THEN coalesce(bases.retired_at, excluded.retired_at) END,
            updated_at = excluded.updated_at
          """,
        arguments: [
          base.baseId, base.nameZh, base.nameEn, base.reporterCode, base.kind.rawValue, base.level.rawValue,
          base.cityCode, base.cityNameZh, base.recognitionDocument, base.recognitionDate, base.firstReportYear,
          base.status.rawValue, base.status.rawValue, now, now, now,
        ])
      try db.execute(sql: "DELETE FROM base_fields WHERE base_id = ?", arguments: [base.baseId])
      for (position, field) in base.fields.enumerated() {
        try db.execute(
          sql: "INSERT INTO base_fields (base_id, position, field) VALUES (?, ?, ?)",
          arguments: [base.baseId, position, field])
      }
      try Rows.appendAudit(
        db, at: now, actor: actor, action: existed ? "base.update" : "base.create", subject: base.baseId,
        detail: "\(base.nameZh), reporter \(base.reporterCode), \(base.kind.rawValue) [\(base.fields.joined(separator: ","))], "
          + "\(base.level.rawValue), \(base.status.rawValue), first year \(base.firstReportYear)")
  }

  /// Withdraws a base: it is no longer expected to report; its stored reports stay. Withdrawing a
  /// withdrawn base does nothing.
  ///
  /// - Throws: ``StoreError`` `.notFound` for an unknown base.
  public func retireBase(_ baseId: String, actor: String) async throws {
    let now = configuration.nowMicros()
    try await write("withdrawing base \(baseId)") { db in
      guard let status = try String.fetchOne(
        db, sql: "SELECT status FROM bases WHERE base_id = ?", arguments: [baseId])
      else {
        throw StoreError(code: .notFound, message: "base \(baseId) is not registered")
      }
      guard status != BaseRecord.Status.withdrawn.rawValue else { return }
      try db.execute(
        sql: "UPDATE bases SET status = 'withdrawn', retired_at = ?, updated_at = ? WHERE base_id = ?",
        arguments: [now, now, baseId])
      try Rows.appendAudit(db, at: now, actor: actor, action: "base.retire", subject: baseId, detail: "")
    }
  }

  /// Bases, of one reporter or of all, ordered by reporter then id.
  public func bases(reporterCode: String? = nil, includeWithdrawn: Bool = true) async throws -> [BaseRecord] {
    try await read("listing bases") { db in
      var sql = "SELECT * FROM bases WHERE 1"
      var arguments: StatementArguments = []
      if let reporterCode {
        sql += " AND reporter_code = ?"
        arguments += [reporterCode]
      }
      if !includeWithdrawn { sql += " AND status = 'active'" }
      sql += " ORDER BY reporter_code, base_id"
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map { try Rows.base(db, $0) }
    }
  }

  /// The base with this id, or nil.
  public func base(id baseId: String) async throws -> BaseRecord? {
    try await read("reading base \(baseId)") { db in
      try Row.fetchOne(db, sql: "SELECT * FROM bases WHERE base_id = ?", arguments: [baseId]).map {
        try Rows.base(db, $0)
      }
    }
  }

  // MARK: Audit log

  /// Audit entries after `afterId` (0 for the start), oldest first, at most `limit`.
  public func auditLog(afterId: Int64 = 0, limit: Int = 1000) async throws -> [AuditEntry] {
    try await read("reading the audit log") { db in
      try Row.fetchAll(
        db, sql: "SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", arguments: [afterId, max(0, limit)]
      ).map(Rows.audit)
    }
  }

  static func isZ85Key(_ text: String) -> Bool { ReporterKeyRecord.isZ85Key(text) }
}
