import AggregatorStore
import PostgresNIO

/// The registry. Every change is recorded in the audit log in the same transaction. Another
/// aggregator on the same database sees a change as soon as it is committed (its key cache
/// refreshes every few seconds).
///
/// Every write to these tables (and to `rounds`) also raises the registry generation in the
/// same transaction, by the statement triggers of `registry_generation` (migration
/// v5-registry-generation): that is how ``RegistryReadModel`` — Submit's copy of the registry
/// in memory, in every aggregator on the database — learns of it. A new write path (e.g. a
/// recognised application creating or re-levelling a base) is covered with nothing to call.
extension PostgresReportStore: RegistryStore {
  public func upsertReporter(_ reporter: ReporterRecord, actor: String) async throws {
    let now = configuration.nowMicros()
    let logger = self.logger
    try await write("storing reporter \(reporter.code)") { db in
      guard !reporter.code.isEmpty else {
        throw StoreError(code: .invalidArgument, message: "a reporter code must not be empty")
      }
      // xmax = 0 for a row this statement inserted, not one it updated.
      let inserted = try await db.row(
        """
        INSERT INTO reporters (code, name_zh, name_en, kind, parent_code, active, created_at, updated_at)
        VALUES (\(reporter.code), \(reporter.nameZh), \(reporter.nameEn), \(reporter.kind.rawValue),
          \(reporter.parentCode), \(reporter.active), \(now), \(now))
        ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
          kind = excluded.kind, parent_code = excluded.parent_code, active = excluded.active,
          updated_at = excluded.updated_at
        RETURNING (xmax = 0) AS inserted
        """, logger)?.get("inserted", as: Bool.self) ?? false
      try await PostgresRows.appendAudit(
        db, at: now, actor: actor, action: inserted ? "reporter.create" : "reporter.update", subject: reporter.code,
        detail: "\(reporter.nameZh) / \(reporter.nameEn), \(reporter.kind.rawValue), parent \(reporter.parentCode ?? "-"), "
          + (reporter.active ? "active" : "inactive"), logger)
    }
  }

  public func reporters() async throws -> [ReporterRecord] {
    let logger = self.logger
    return try await read("listing reporters") { db in
      try await db.rows("SELECT * FROM reporters ORDER BY code", logger).map(PostgresRows.reporter)
    }
  }

  public func reporter(code: String) async throws -> ReporterRecord? {
    let logger = self.logger
    return try await read("reading reporter \(code)") { db in
      try await db.row("SELECT * FROM reporters WHERE code = \(code)", logger).map(PostgresRows.reporter)
    }
  }

  public func registerKey(_ publicKeyZ85: String, reporterCode: String, comment: String, actor: String) async throws {
    guard ReporterKeyRecord.isZ85Key(publicKeyZ85) else {
      throw StoreError(
        code: .invalidArgument,
        message: "a CurveZMQ public key is 40 Z85 characters; got \(publicKeyZ85.count) characters")
    }
    let now = configuration.nowMicros()
    let logger = self.logger
    try await write("registering a key of reporter \(reporterCode)") { db in
      guard try await db.row("SELECT 1 FROM reporters WHERE code = \(reporterCode)", logger) != nil else {
        throw StoreError(code: .notFound, message: "reporter \(reporterCode) is not registered")
      }
      // A concurrent registration of the same key waits here and then sees it.
      let inserted = try await db.row(
        """
        INSERT INTO reporter_keys (public_key_z85, reporter_code, comment, registered_at)
        VALUES (\(publicKeyZ85), \(reporterCode), \(comment), \(now))
        ON CONFLICT (public_key_z85) DO NOTHING RETURNING 1 AS inserted
        """, logger) != nil
      if !inserted {
        guard let row = try await db.row("SELECT * FROM reporter_keys WHERE public_key_z85 = \(publicKeyZ85)", logger)
        else { throw StoreError(code: .internalError, message: "key \(publicKeyZ85) vanished") }
        let key = try PostgresRows.key(row)
        if key.reporterCode != reporterCode {
          throw StoreError(code: .alreadyExists, message: "key \(publicKeyZ85) is registered to reporter \(key.reporterCode)")
        }
        if !key.isActive {
          throw StoreError(
            code: .alreadyExists,
            message: "key \(publicKeyZ85) of reporter \(reporterCode) was retired; a retired key is never reinstated, make a new one")
        }
        return
      }
      try await PostgresRows.appendAudit(
        db, at: now, actor: actor, action: "key.register", subject: publicKeyZ85,
        detail: "reporter \(reporterCode)\(comment.isEmpty ? "" : ": \(comment)")", logger)
    }
  }

  public func retireKey(_ publicKeyZ85: String, actor: String) async throws {
    let now = configuration.nowMicros()
    let logger = self.logger
    try await write("retiring a key") { db in
      if let row = try await db.row(
        "SELECT * FROM reporter_keys WHERE public_key_z85 = \(publicKeyZ85) FOR UPDATE", logger)
      {
        let key = try PostgresRows.key(row)
        guard key.isActive else { return }
        try await db.run("UPDATE reporter_keys SET retired_at = \(now) WHERE public_key_z85 = \(publicKeyZ85)", logger)
        try await PostgresRows.appendAudit(
          db, at: now, actor: actor, action: "key.retire", subject: publicKeyZ85, detail: "reporter \(key.reporterCode)",
          logger)
        return
      }
      // Not a reporter's key: perhaps the coordinator's or an operator's.
      guard
        let principal = try await db.row(
          "SELECT * FROM principal_keys WHERE public_key_z85 = \(publicKeyZ85) FOR UPDATE", logger
        ).map(PostgresRows.principalKey)
      else {
        throw StoreError(code: .notFound, message: "key \(publicKeyZ85) is not registered")
      }
      guard principal.isActive else { return }
      try await db.run("UPDATE principal_keys SET retired_at = \(now) WHERE public_key_z85 = \(publicKeyZ85)", logger)
      try await PostgresRows.appendAudit(
        db, at: now, actor: actor, action: "key.retire", subject: publicKeyZ85, detail: principal.identity, logger)
    }
  }

  public func keys(reporterCode: String?, includeRetired: Bool) async throws -> [ReporterKeyRecord] {
    let logger = self.logger
    return try await read("listing keys") { db in
      try await db.rows(
        """
        SELECT * FROM reporter_keys
        WHERE (\(reporterCode)::text IS NULL OR reporter_code = \(reporterCode))
          AND (\(includeRetired) OR retired_at IS NULL)
        ORDER BY reporter_code, registered_at, public_key_z85
        """, logger
      ).map(PostgresRows.key)
    }
  }

  public func reporterCode(forKey publicKeyZ85: String) async throws -> String? {
    let logger = self.logger
    return try await read("looking up a key") { db in
      try await db.row(
        """
        SELECT k.reporter_code FROM reporter_keys k JOIN reporters r ON r.code = k.reporter_code
        WHERE k.public_key_z85 = \(publicKeyZ85) AND k.retired_at IS NULL AND r.active
        """, logger)?.get("reporter_code", as: String.self)
    }
  }

  public func registerPrincipalKey(
    _ publicKeyZ85: String, role: PrincipalKeyRecord.Role, name: String, comment: String, actor: String
  ) async throws {
    guard ReporterKeyRecord.isZ85Key(publicKeyZ85) else {
      throw StoreError(
        code: .invalidArgument,
        message: "a CurveZMQ public key is 40 Z85 characters; got \(publicKeyZ85.count) characters")
    }
    guard !name.isEmpty, !name.contains(":") else {
      throw StoreError(code: .invalidArgument, message: "name: a principal's name is not empty and has no ':' (got \"\(name)\")")
    }
    let now = configuration.nowMicros()
    let logger = self.logger
    try await write("registering the key of \(role.rawValue) \(name)") { db in
      if let owner = try await db.row(
        "SELECT reporter_code FROM reporter_keys WHERE public_key_z85 = \(publicKeyZ85)", logger)
      {
        throw StoreError(
          code: .alreadyExists,
          message: "key \(publicKeyZ85) is registered to reporter \(try owner.get("reporter_code", as: String.self))")
      }
      let inserted = try await db.row(
        """
        INSERT INTO principal_keys (public_key_z85, role, name, comment, registered_at)
        VALUES (\(publicKeyZ85), \(role.rawValue), \(name), \(comment), \(now))
        ON CONFLICT (public_key_z85) DO NOTHING RETURNING 1 AS inserted
        """, logger) != nil
      if !inserted {
        guard
          let key = try await db.row("SELECT * FROM principal_keys WHERE public_key_z85 = \(publicKeyZ85)", logger)
            .map(PostgresRows.principalKey)
        else { throw StoreError(code: .internalError, message: "key \(publicKeyZ85) vanished") }
        if key.role != role || key.name != name {
          throw StoreError(code: .alreadyExists, message: "key \(publicKeyZ85) is registered to \(key.identity)")
        }
        if !key.isActive {
          throw StoreError(
            code: .alreadyExists,
            message: "key \(publicKeyZ85) of \(key.identity) was retired; a retired key is never reinstated, make a new one")
        }
        return
      }
      try await PostgresRows.appendAudit(
        db, at: now, actor: actor, action: "key.register", subject: publicKeyZ85,
        detail: "\(role.rawValue) \(name)\(comment.isEmpty ? "" : ": \(comment)")", logger)
    }
  }

  public func principalKeys(includeRetired: Bool) async throws -> [PrincipalKeyRecord] {
    let logger = self.logger
    return try await read("listing principal keys") { db in
      try await db.rows(
        """
        SELECT * FROM principal_keys WHERE (\(includeRetired) OR retired_at IS NULL)
        ORDER BY role, name, registered_at
        """, logger
      ).map(PostgresRows.principalKey)
    }
  }

  public func upsertBase(_ base: BaseRecord, actor: String) async throws {
    guard !base.baseId.isEmpty else {
      throw StoreError(code: .invalidArgument, message: "a base id must not be empty")
    }
    guard Set(base.fields).count == base.fields.count else {
      throw StoreError(code: .invalidArgument, message: "base \(base.baseId) lists a field twice: \(base.fields)")
    }
    let now = configuration.nowMicros()
    let logger = self.logger
    try await write("storing base \(base.baseId)") { db in
      try await Self.writeBase(db, base, now: now, actor: actor, logger)
    }
  }

  /// The registry's one write path for a base (``upsertBase(_:actor:)`` and a recognition of
  /// ``recordDecision(_:weighting:actor:)``): every write that creates or changes a base goes
  /// through here, in its caller's transaction, so that whatever follows the registry's changes
  /// sees them all.
  static func writeBase(_ db: PostgresConnection, _ base: BaseRecord, now: Int64, actor: String, _ logger: Logger) async throws {
      guard try await db.row("SELECT 1 FROM reporters WHERE code = \(base.reporterCode)", logger) != nil else {
        throw StoreError(code: .notFound, message: "base \(base.baseId): reporter \(base.reporterCode) is not registered")
      }
      let retiredAt: Int64? = base.status == .withdrawn ? now : nil
      let inserted = try await db.row(
        """
        INSERT INTO bases (base_id, name_zh, name_en, reporter_code, kind, level, city_code, city_name_zh,
          recognition_document, recognition_date, first_report_year, status, retired_at, created_at, updated_at)
        VALUES (\(base.baseId), \(base.nameZh), \(base.nameEn), \(base.reporterCode), \(base.kind.rawValue),
          \(base.level.rawValue), \(base.cityCode), \(base.cityNameZh), \(base.recognitionDocument),
          \(base.recognitionDate), \(base.firstReportYear), \(base.status.rawValue), \(retiredAt), \(now), \(now))
        ON CONFLICT (base_id) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
          reporter_code = excluded.reporter_code, kind = excluded.kind, level = excluded.level,
          city_code = excluded.city_code, city_name_zh = excluded.city_name_zh,
          recognition_document = excluded.recognition_document, recognition_date = excluded.recognition_date,
          first_report_year = excluded.first_report_year, status = excluded.status,
          retired_at = CASE WHEN excluded.status = 'withdrawn' THEN coalesce(bases.retired_at, excluded.retired_at) END,
          updated_at = excluded.updated_at
        RETURNING (xmax = 0) AS inserted
        """, logger)?.get("inserted", as: Bool.self) ?? false
      try await db.run("DELETE FROM base_fields WHERE base_id = \(base.baseId)", logger)
      for (position, field) in base.fields.enumerated() {
        try await db.run(
          "INSERT INTO base_fields (base_id, position, field) VALUES (\(base.baseId), \(position), \(field))", logger)
      }
      try await PostgresRows.appendAudit(
        db, at: now, actor: actor, action: inserted ? "base.create" : "base.update", subject: base.baseId,
        detail: "\(base.nameZh), reporter \(base.reporterCode), \(base.kind.rawValue) [\(base.fields.joined(separator: ","))], "
          + "\(base.level.rawValue), \(base.status.rawValue), first year \(base.firstReportYear)", logger)
  }

  public func retireBase(_ baseId: String, actor: String) async throws {
    let now = configuration.nowMicros()
    let logger = self.logger
    try await write("withdrawing base \(baseId)") { db in
      guard
        let status = try await db.row("SELECT status FROM bases WHERE base_id = \(baseId) FOR UPDATE", logger)?
          .get("status", as: String.self)
      else {
        throw StoreError(code: .notFound, message: "base \(baseId) is not registered")
      }
      guard status != BaseRecord.Status.withdrawn.rawValue else { return }
      try await db.run(
        "UPDATE bases SET status = 'withdrawn', retired_at = \(now), updated_at = \(now) WHERE base_id = \(baseId)", logger)
      try await PostgresRows.appendAudit(db, at: now, actor: actor, action: "base.retire", subject: baseId, detail: "", logger)
    }
  }

  public func bases(reporterCode: String?, includeWithdrawn: Bool) async throws -> [BaseRecord] {
    let logger = self.logger
    return try await read("listing bases") { db in
      var result: [BaseRecord] = []
      for row in try await db.rows(
        """
        SELECT * FROM bases
        WHERE (\(reporterCode)::text IS NULL OR reporter_code = \(reporterCode))
          AND (\(includeWithdrawn) OR status = 'active')
        ORDER BY reporter_code, base_id
        """, logger)
      {
        result.append(try await PostgresRows.base(db, row, logger))
      }
      return result
    }
  }

  public func base(id baseId: String) async throws -> BaseRecord? {
    let logger = self.logger
    return try await read("reading base \(baseId)") { db in
      guard let row = try await db.row("SELECT * FROM bases WHERE base_id = \(baseId)", logger) else { return nil }
      return try await PostgresRows.base(db, row, logger)
    }
  }
}
