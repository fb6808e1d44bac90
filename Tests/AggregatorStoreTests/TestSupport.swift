import Foundation
import Logging
import Testing

@testable import AggregatorStore

/// A fresh folder under the system's temporary directory, removed by `remove()`.
struct TemporaryFolder {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("aggregator-store-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  func path(_ name: String) -> String { url.appendingPathComponent(name).path }

  func remove() { try? FileManager.default.removeItem(at: url) }
}

let testLogger = Logger(label: "AggregatorStoreTests")

/// Opens a store on a new file in a temporary folder, runs `body`, closes and removes it.
func withStore<T>(
  _ configuration: AggregatorDatabase.Configuration = AggregatorDatabase.Configuration(),
  _ body: (AggregatorDatabase, TemporaryFolder) async throws -> T
) async throws -> T {
  let folder = try TemporaryFolder()
  defer { folder.remove() }
  let store = try AggregatorDatabase(path: folder.path("store.sqlite"), configuration: configuration, logger: testLogger)
  do {
    let result = try await body(store, folder)
    try await store.close()
    return result
  } catch {
    try? await store.close()
    throw error
  }
}

/// 32 bytes that stand for the SHA-256 of some content (tests need distinct, stable values, not
/// real digests).
func hash(_ content: String) -> [UInt8] {
  var state: UInt64 = 0xcbf2_9ce4_8422_2325
  var out: [UInt8] = []
  for round in 0..<4 {
    for byte in Array(content.utf8) + [UInt8(round)] {
      state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    withUnsafeBytes(of: state.bigEndian) { out.append(contentsOf: $0) }
  }
  return out
}

func request(
  _ submissionId: String,
  base: String = "HTB-440300-INF",
  year: Int = 2024,
  revision: Int = 1,
  replaces: Int = 0,
  content: String = "report A",
  status: ReceiptStatus = .accepted,
  late: Bool = false,
  reporter: String = "440300",
  findings: [StoredFinding] = [],
  bytes: [UInt8]? = nil,
  receivedAt: Int64 = 1_750_000_000_000_000
) -> IngestRequest {
  IngestRequest(
    submissionId: submissionId,
    reporterCode: reporter,
    baseId: base,
    reportYear: year,
    revision: revision,
    replacesRevision: replaces,
    contentSHA256: hash(content),
    originalBytes: bytes ?? Array("envelope of \(submissionId): \(content)".utf8),
    status: status,
    late: late,
    findings: findings,
    explanations: [],
    receivedAtMicros: receivedAt)
}

extension IngestOutcome {
  var kind: String {
    switch self {
    case .accepted: "accepted"
    case .rejected: "rejected"
    case .duplicate: "duplicate"
    case .replayed: "replayed"
    case .conflict: "conflict"
    }
  }

  var conflict: IngestConflict? {
    if case .conflict(let c) = self { return c }
    return nil
  }
}

/// A valid-looking Z85 public key (40 characters) that differs by `n`.
func z85Key(_ n: Int) -> String {
  let tail = String(n)
  return String(repeating: "a", count: 40 - tail.count) + tail
}

/// Polls `condition` until it holds (at most ~5 s).
func eventually(_ condition: () async -> Bool) async throws {
  for _ in 0..<500 {
    if await condition() { return }
    try await Task.sleep(for: .milliseconds(10))
  }
  Issue.record("condition did not hold within 5 s")
}
