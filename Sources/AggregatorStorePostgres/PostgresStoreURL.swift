import AggregatorStore
import Foundation
import PostgresNIO

/// Where a PostgreSQL store is, from a libpq-style URL:
///
///     postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]
///     postgres://USER@/DATABASE?host=/run/postgresql[&port=5432]     (a unix socket directory)
///
/// `postgresql://` works too. The port defaults to 5432, the user to `hitech`, the database to
/// the user's name. `sslmode` defaults to `prefer` over TCP; a unix socket never uses TLS.
public struct PostgresStoreURL: Sendable, Hashable, CustomStringConvertible {
  public enum Endpoint: Sendable, Hashable {
    case tcp(host: String, port: Int)
    /// The socket file's full path (`DIR/.s.PGSQL.PORT`).
    case unixSocket(path: String)
  }

  public enum SSLMode: String, Sendable, Hashable {
    case disable, prefer, require
  }

  public var endpoint: Endpoint
  public var user: String
  public var password: String?
  public var database: String
  public var sslMode: SSLMode

  /// True for a string this type would try to parse (`postgres://` or `postgresql://`).
  public static func isPostgres(_ text: String) -> Bool {
    text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
  }

  /// - Throws: ``StoreError`` `.invalidArgument` naming what is wrong with the URL.
  public init(_ text: String) throws {
    func bad(_ why: String) -> StoreError {
      StoreError(code: .invalidArgument, message: "the store URL \(Self.redacted(text)) is not usable: \(why)")
    }
    guard Self.isPostgres(text), let components = URLComponents(string: text) else {
      throw bad("expected postgres://USER@HOST:PORT/DATABASE")
    }
    let query = Dictionary(
      (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
    for name in query.keys where !["host", "port", "sslmode", "user", "password", "dbname"].contains(name) {
      throw bad("unknown parameter \(name) (known: host, port, sslmode, user, password, dbname)")
    }
    user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? query["user"] ?? "hitech"
    password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding } ?? query["password"]
    var path = components.path
    if path.hasPrefix("/") { path.removeFirst() }
    database = path.isEmpty ? (query["dbname"] ?? user) : path
    guard !user.isEmpty else { throw bad("the user is empty") }
    guard !database.isEmpty, !database.contains("/") else { throw bad("the database name \"\(database)\" is not usable") }

    var port = components.port ?? 5432
    if let text = query["port"] {
      guard let value = Int(text) else { throw bad("port \(text) is not a number") }
      port = value
    }
    guard (1...65535).contains(port) else { throw bad("port \(port) is out of range") }
    let host = components.host.flatMap { $0.isEmpty ? nil : $0 }
    if let directory = query["host"], directory.hasPrefix("/") {
      endpoint = .unixSocket(path: "\(directory)/.s.PGSQL.\(port)")
    } else {
      endpoint = .tcp(host: query["host"] ?? host ?? "localhost", port: port)
    }
    switch query["sslmode"] {
    case nil: sslMode = .prefer
    case let mode?:
      guard let value = SSLMode(rawValue: mode) else { throw bad("sslmode \(mode) is not disable, prefer or require") }
      sslMode = value
    }
  }

  /// The URL without its password (for logs and messages).
  public var description: String {
    switch endpoint {
    case .tcp(let host, let port):
      let shownHost = host.contains(":") ? "[\(host)]" : host
      return "postgres://\(user)@\(shownHost):\(port)/\(database)" + (sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)")
    case .unixSocket(let path):
      let directory = (path as NSString).deletingLastPathComponent
      let port = path.split(separator: ".").last.map(String.init) ?? "5432"
      return "postgres://\(user)@/\(database)?host=\(directory)&port=\(port)"
    }
  }

  /// A URL as given, with any password replaced by `***`.
  public static func redacted(_ text: String) -> String {
    guard var components = URLComponents(string: text) else { return "(unparseable URL)" }
    if components.password != nil { components.password = "***" }
    if let items = components.queryItems, items.contains(where: { $0.name == "password" }) {
      components.queryItems = items.map { $0.name == "password" ? URLQueryItem(name: "password", value: "***") : $0 }
    }
    return components.string ?? "(unparseable URL)"
  }

  /// The client configuration for this URL.
  package func clientConfiguration() -> PostgresClient.Configuration {
    switch endpoint {
    case .tcp(let host, let port):
      let tls: PostgresClient.Configuration.TLS =
        switch sslMode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
      return PostgresClient.Configuration(
        host: host, port: port, username: user, password: password, database: database, tls: tls)
    case .unixSocket(let path):
      return PostgresClient.Configuration(unixSocketPath: path, username: user, password: password, database: database)
    }
  }
}
